-- Initial bulk loads: building a table's spatial index once after loading is faster than
-- growing it row by row. Only the owner may drop an index, so editors get these two narrow
-- functions; they act only on an empty-before-load landdb table's own <table>_geom_gist index.
-- Re-created on every upgrade.

CREATE OR REPLACE FUNCTION landdb._require_data_table(tbl text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF tbl NOT IN (SELECT landdb.tracked_tables()) THEN
    RAISE EXCEPTION '不是 landdb 数据表：% [not a landdb table]', tbl;
  END IF;
END $$;
COMMENT ON FUNCTION landdb._require_data_table(text) IS '检查是否为 landdb 数据表 | refuse anything but a landdb data table';

CREATE OR REPLACE FUNCTION landdb.bulk_index_off(tbl text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  PERFORM landdb._require_data_table(tbl);
  IF to_regclass(format('landdb.%I', tbl || '_geom_gist')) IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('LOCK TABLE landdb.%I IN SHARE ROW EXCLUSIVE MODE', tbl);
  IF landdb._has_rows(tbl) THEN
    RETURN false;  -- only for a load into an empty table
  END IF;
  EXECUTE format('DROP INDEX landdb.%I', tbl || '_geom_gist');
  RETURN true;
END $$;
COMMENT ON FUNCTION landdb.bulk_index_off(text) IS '首次批量导入前暂停空表的空间索引 | drop an empty table''s spatial index before a bulk load';

CREATE OR REPLACE FUNCTION landdb._has_rows(tbl text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE found boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM landdb.%I)', tbl) INTO found;
  RETURN found;
END $$;
COMMENT ON FUNCTION landdb._has_rows(text) IS '表中是否已有记录 | whether a landdb table has rows';

CREATE OR REPLACE FUNCTION landdb.bulk_index_on(tbl text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  PERFORM landdb._require_data_table(tbl);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON landdb.%I USING gist (geom)', tbl || '_geom_gist', tbl);
END $$;
COMMENT ON FUNCTION landdb.bulk_index_on(text) IS '批量导入后重建空间索引 | rebuild a table''s spatial index after a bulk load';
