-- Chinese comments for the columns every imported table shares. Re-run on every upgrade,
-- filling only what has no comment yet, so tables added later are covered too.
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
      ELSE NULL END;
    IF c IS NOT NULL THEN
      EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', r.rel, r.col, c);
    END IF;
  END LOOP;
END $$;
