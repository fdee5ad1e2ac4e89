-- Chinese comments for the columns every imported table shares, and for view columns (which
-- take the comment of the table column of the same name). Re-run on every upgrade, filling only
-- what has no comment yet, so tables and views added later are covered too.
DO $$
DECLARE
  r record;
  c text;
BEGIN
  FOR r IN
    SELECT a.attrelid::regclass AS rel, a.attname AS col
    FROM pg_attribute a
    JOIN pg_class k ON k.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = k.relnamespace
    WHERE n.nspname = 'landdb' AND k.relkind IN ('r', 'v', 'm') AND a.attnum > 0
      AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL
  LOOP
    c := CASE r.col
      WHEN 'id' THEN '编号 | id'
      WHEN 'geom' THEN '图形 | geometry'
      WHEN 'area_m2' THEN '图形面积（平方米，由图形计算） | area computed from the geometry (m²)'
      WHEN 'area_mu' THEN '图形面积（亩） | area (mu)'
      WHEN 'area_ha' THEN '图形面积（公顷） | area (ha)'
      WHEN 'import_run_id' THEN '导入批次号 | import run that last wrote the record'
      WHEN 'src_file' THEN '来源文件 | source file'
      WHEN 'src_row' THEN '来源行号 | row in the source file'
      WHEN 'extra' THEN '其他原始字段（未映射） | unmapped source fields'
      WHEN 'unsupplied_mu' THEN '批而未供面积（亩） | unsupplied area (mu)'
      WHEN 'unsupplied_ha' THEN '批而未供面积（公顷） | unsupplied area (ha)'
      WHEN 'handling' THEN '处理状态 | handling status'
      WHEN 'handling_note' THEN '处理说明 | handling note'
      ELSE (SELECT col_description(t.oid, ta.attnum)
            FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace
            JOIN pg_attribute ta ON ta.attrelid = t.oid
            WHERE tn.nspname = 'landdb' AND t.relkind = 'r' AND ta.attname = r.col
              AND col_description(t.oid, ta.attnum) IS NOT NULL
            ORDER BY (t.relname = 'analysis_batch') DESC, t.relname LIMIT 1)
      END;
    IF c IS NOT NULL THEN
      EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', r.rel, r.col, c);
    END IF;
  END LOOP;
END $$;
