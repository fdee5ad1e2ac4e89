-- What each group role may do. Re-applied on every upgrade, so new tables are covered.
--   landdb_viewer: read everything (tables, views, history), call functions.
--   landdb_editor: viewer + write data tables, run imports and analyses, handle flags.
--   landdb_admin:  editor + settings and value lists; owns the schema (migrations, ALTER).
-- Nobody writes landdb.history directly: only the SECURITY DEFINER triggers do.

REVOKE ALL ON SCHEMA landdb FROM PUBLIC;
GRANT USAGE ON SCHEMA landdb TO landdb_viewer;
GRANT SELECT ON ALL TABLES IN SCHEMA landdb TO landdb_viewer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA landdb TO landdb_viewer;

DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'landdb' AND c.relkind = 'r'
      AND c.relname NOT IN ('history', 'schema_migration', 'db_info', 'setting', 'value_list', 'crs_param')
  LOOP
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON landdb.%I TO landdb_editor', t);
  END LOOP;
END $$;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA landdb TO landdb_editor;

GRANT INSERT, UPDATE, DELETE ON landdb.setting, landdb.value_list, landdb.crs_param TO landdb_admin;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON landdb.history FROM landdb_viewer, landdb_editor;
