-- Initial bulk loads: a table's indexes are built faster once after loading than grown row by
-- row, and a foreign key is checked faster by one join than by one lookup per row. For a load
-- into an empty table, landdb.bulk_index_off drops the table's indexes (all but the primary key),
-- its unique constraints (unless another table's foreign key relies on them) and its foreign
-- keys; landdb.bulk_index_on builds and checks them all again, in the same transaction. The
-- checks are the same: a duplicate or a dangling reference fails the load at bulk_index_on, and
-- nothing is committed without them. The load goes into the history as one row (op 'L', the id
-- range of the rows), not one row per record.
--
-- What is dropped and how it is re-created is fixed here, when the rules are installed (from the
-- catalog as the migrations left it), as literal DDL in landdb._bulk_objects(): nothing a caller
-- passes in is ever executed. Only the owner may drop an index, so editors get these two narrow
-- SECURITY DEFINER functions; they act only on an empty-before-load landdb data table.
-- Dropping a foreign key locks the table it refers to (landdb.import_run) until the load commits;
-- when that table is in use by another session, the foreign key is kept and checked row by row.
-- Re-created on every upgrade.

CREATE OR REPLACE FUNCTION landdb._require_data_table(tbl text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF tbl NOT IN (SELECT landdb.tracked_tables()) THEN
    RAISE EXCEPTION '不是 landdb 数据表：% [not a landdb table]', tbl;
  END IF;
END $$;
COMMENT ON FUNCTION landdb._require_data_table(text) IS '检查是否为 landdb 数据表 | refuse anything but a landdb data table';

CREATE OR REPLACE FUNCTION landdb._has_rows(tbl text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE found boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM landdb.%I)', tbl) INTO found;
  RETURN found;
END $$;
COMMENT ON FUNCTION landdb._has_rows(text) IS '表中是否已有记录 | whether a landdb table has rows';

-- landdb._bulk_objects(): per data table, what a bulk load drops and re-creates, in creation order
-- (indexes, unique constraints, foreign keys), generated from the catalog.
DO $do$
DECLARE
  body text;
  path text := current_setting('search_path');
BEGIN
  PERFORM set_config('search_path', 'pg_catalog', true);  -- so that the DDL names its schemas
  SELECT string_agg(format('(%L, %s, %L, %L, %L, %L, %L)', tbl, ord, kind, name, drop_sql, create_sql,
                           note), E',\n    ' ORDER BY tbl, ord, name)
  INTO body
  FROM (
    -- plain indexes (the GiST index among them), not backing a constraint
    SELECT c.relname AS tbl, 1 AS ord, 'index' AS kind, i.relname AS name,
           format('DROP INDEX landdb.%I', i.relname) AS drop_sql,
           pg_get_indexdef(x.indexrelid) AS create_sql,
           obj_description(x.indexrelid, 'pg_class') AS note
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'landdb'
    WHERE c.relname IN (SELECT landdb.tracked_tables())
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = c.oid)
    UNION ALL
    -- unique constraints no foreign key refers to, and the table's own foreign keys
    SELECT c.relname, CASE k.contype WHEN 'u' THEN 2 ELSE 3 END,
           CASE k.contype WHEN 'u' THEN 'unique' ELSE 'foreign key' END, k.conname,
           format('ALTER TABLE landdb.%I DROP CONSTRAINT %I', c.relname, k.conname),
           format('ALTER TABLE landdb.%I ADD CONSTRAINT %I %s', c.relname, k.conname, pg_get_constraintdef(k.oid)),
           obj_description(k.oid, 'pg_constraint')
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'landdb'
    WHERE k.contype IN ('u', 'f') AND c.relname IN (SELECT landdb.tracked_tables())
      AND NOT (k.contype = 'u' AND EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'
                                           AND f.confrelid = c.oid AND f.conindid = k.conindid))
  ) o;
  PERFORM set_config('search_path', path, true);

  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION landdb._bulk_objects()
    RETURNS TABLE (tbl text, ord int, kind text, name text, drop_sql text, create_sql text, note text)
    LANGUAGE sql IMMUTABLE AS $b$
      SELECT * FROM (VALUES
    %s) v (tbl, ord, kind, name, drop_sql, create_sql, note)
    $b$ $f$, coalesce(body, '(NULL::text, NULL::int, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text)'));
END $do$;
COMMENT ON FUNCTION landdb._bulk_objects() IS '首次批量导入时暂停并重建的索引与约束 | indexes and constraints an initial bulk load drops and re-creates';

CREATE OR REPLACE FUNCTION landdb._bulk_object_exists(tbl text, kind text, name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN kind = 'index' THEN to_regclass(format('landdb.%I', name)) IS NOT NULL
              ELSE EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = name
                           AND k.conrelid = format('landdb.%I', tbl)::regclass) END
$$;
COMMENT ON FUNCTION landdb._bulk_object_exists(text, text, text) IS '索引或约束是否存在 | whether an index or constraint exists';

-- At commit, for every table whose bulk load began in the transaction: refuse to commit while
-- its per-row history is still paused (bulk_index_off without bulk_index_on would leave the table
-- without its indexes and checks, and later inserts unrecorded).
CREATE OR REPLACE FUNCTION landdb._bulk_load_finished() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = format('landdb.%I', NEW.tbl)::regclass
             AND tgname = 'history_i' AND tgenabled = 'D') THEN
    RAISE EXCEPTION '批量导入未完成：landdb.% 的索引、约束和逐行历史尚未恢复，请在同一事务中调用 landdb.bulk_index_on(%L) [bulk load of % not finished: call landdb.bulk_index_on in the same transaction]',
      NEW.tbl, NEW.tbl, NEW.tbl;
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION landdb._bulk_load_finished() IS '提交时检查批量导入已恢复索引与历史（内部） | at commit, refuse a bulk load that was not finished (internal)';

CREATE OR REPLACE FUNCTION landdb.bulk_index_off(tbl text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  o record;
  wait text := current_setting('lock_timeout');
BEGIN
  PERFORM landdb._require_data_table(tbl);
  EXECUTE format('LOCK TABLE landdb.%I IN SHARE ROW EXCLUSIVE MODE', tbl);
  IF landdb._has_rows(tbl) THEN
    RETURN false;  -- only for a load into an empty table
  END IF;
  FOR o IN SELECT * FROM landdb._bulk_objects() b WHERE b.tbl = bulk_index_off.tbl ORDER BY b.ord DESC, b.name LOOP
    IF NOT landdb._bulk_object_exists(o.tbl, o.kind, o.name) THEN
      CONTINUE;
    ELSIF o.kind = 'foreign key' THEN
      -- needs the referenced table to itself for a moment: when someone is using it, keep the
      -- foreign key (checked row by row) rather than wait
      BEGIN
        PERFORM set_config('lock_timeout', '2s', true);
        EXECUTE o.drop_sql;
        PERFORM set_config('lock_timeout', wait, true);
      EXCEPTION WHEN lock_not_available THEN
        NULL;
      END;
    ELSE
      EXECUTE o.drop_sql;
    END IF;
  END LOOP;
  -- the load is recorded once, by bulk_index_on, instead of row by row
  EXECUTE format('ALTER TABLE landdb.%I DISABLE TRIGGER history_i', tbl);
  -- and the transaction cannot commit before bulk_index_on (a deferred check, in a table of the
  -- session's own)
  IF to_regclass('pg_temp._landdb_bulk_load') IS NULL THEN
    CREATE TEMP TABLE _landdb_bulk_load (tbl text) ON COMMIT DELETE ROWS;
    CREATE CONSTRAINT TRIGGER finished AFTER INSERT ON _landdb_bulk_load DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION landdb._bulk_load_finished();
  END IF;
  INSERT INTO _landdb_bulk_load VALUES (tbl);
  RETURN true;
END $$;
COMMENT ON FUNCTION landdb.bulk_index_off(text) IS '首次批量导入前暂停空表的索引、唯一约束、外键和逐行历史 | drop an empty table''s indexes, unique constraints and foreign keys, and pause its per-row history, before a bulk load';

CREATE OR REPLACE FUNCTION landdb.bulk_index_on(tbl text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
SET maintenance_work_mem = '1GB' AS $$
DECLARE
  o record;
BEGIN
  PERFORM landdb._require_data_table(tbl);
  FOR o IN SELECT * FROM landdb._bulk_objects() b WHERE b.tbl = bulk_index_on.tbl ORDER BY b.ord, b.name LOOP
    IF NOT landdb._bulk_object_exists(o.tbl, o.kind, o.name) THEN
      EXECUTE o.create_sql;
      IF o.note IS NOT NULL THEN
        EXECUTE CASE WHEN o.kind = 'index' THEN format('COMMENT ON INDEX landdb.%I IS %L', o.name, o.note)
                     ELSE format('COMMENT ON CONSTRAINT %I ON landdb.%I IS %L', o.name, o.tbl, o.note) END;
      END IF;
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = format('landdb.%I', tbl)::regclass
             AND tgname = 'history_i' AND tgenabled = 'D') THEN
    EXECUTE format('ALTER TABLE landdb.%I ENABLE TRIGGER history_i', tbl);
    EXECUTE format($q$
      INSERT INTO landdb.history (table_name, row_id, op, import_run_id, new_values)
      SELECT %L, NULL, 'L', %s, jsonb_build_object('rows', count(*), 'first_id', min(id), 'last_id', max(id))
      FROM landdb.%I HAVING count(*) > 0 $q$, tbl,
      CASE WHEN EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = format('landdb.%I', tbl)::regclass
                        AND attname = 'import_run_id' AND NOT attisdropped)
           THEN 'min(import_run_id)' ELSE 'NULL::bigint' END, tbl);
  END IF;
END $$;
COMMENT ON FUNCTION landdb.bulk_index_on(text) IS '批量导入后重建索引、唯一约束和外键，并记一条批量载入历史 | rebuild a table''s indexes, unique constraints and foreign keys after a bulk load, and record the load in the history once';

-- Statistics for a table a large import has just filled in its own transaction: without them
-- the planner takes it for empty and may loop over it row by row (the batch geometries of a
-- 200 000-batch county took more than ten minutes so). Only the owner may analyze a table.
CREATE OR REPLACE FUNCTION landdb.bulk_analyze(tbl text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  PERFORM landdb._require_data_table(tbl);
  EXECUTE format('ANALYZE landdb.%I', tbl);
END $$;
COMMENT ON FUNCTION landdb.bulk_analyze(text) IS '大批量导入后更新表的统计信息 | refresh a table''s planner statistics after a large import';

-- A spatial index grown entry by entry over a large import (an approval import writes the batch
-- geometries one by one, in file order) answers a box query through many more pages than one
-- built at once, which PostGIS sorts along a space-filling curve: in the 20 000-batch sample county,
-- 23 index and heap pages for each supply's batches instead of 3.4, and five times the time. After
-- an import that wrote at least a tenth of a table's rows, its spatial indexes are rebuilt (in the
-- import's transaction: readers that use such an index wait for the rebuild, seconds).
CREATE OR REPLACE FUNCTION landdb.bulk_reindex_geom(tbl text, n_written bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
SET maintenance_work_mem = '1GB' AS $$
DECLARE
  i regclass;
  done boolean := false;
BEGIN
  PERFORM landdb._require_data_table(tbl);
  IF n_written < 0.1 * (SELECT greatest(c.reltuples, 1) FROM pg_class c
                        WHERE c.oid = format('landdb.%I', tbl)::regclass) THEN
    RETURN false;
  END IF;
  FOR i IN SELECT x.indexrelid::regclass FROM pg_index x
           JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am a ON a.oid = c.relam
           WHERE x.indrelid = format('landdb.%I', tbl)::regclass AND a.amname = 'gist' LOOP
    EXECUTE format('REINDEX INDEX %s', i);
    done := true;
  END LOOP;
  RETURN done;
END $$;
COMMENT ON FUNCTION landdb.bulk_reindex_geom(text, bigint) IS '大批量导入后重建表的空间索引（写入行数达表的十分之一时） | rebuild a table''s spatial indexes after an import that wrote a tenth of its rows or more';
