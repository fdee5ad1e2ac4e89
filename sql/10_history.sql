-- One history for every table people edit, filled by statement-level triggers with transition
-- tables, so that a bulk import writes its history in one set-based statement. Re-created on
-- every upgrade. Each tracked table gets its own three trigger functions, generated here with
-- explicit column lists (fast: no row-to-JSON of geometries it does not need).
--   INSERT: who, when, the new row's id and import run. Its values are the row itself until a
--           later change records them as old values.
--   UPDATE: the old and the new values of the fields that changed.
--   DELETE: the whole old row.
-- Geometries in history are hex EWKB (ST_GeomFromEWKB(decode(v, 'hex'))); generated columns
-- (area_m2) are left out. Together with the current rows this gives any past state.

DROP FUNCTION IF EXISTS landdb.history_insert() CASCADE;
DROP FUNCTION IF EXISTS landdb.history_update() CASCADE;
DROP FUNCTION IF EXISTS landdb.history_delete() CASCADE;

CREATE OR REPLACE FUNCTION landdb.tracked_tables() RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
  SELECT unnest(ARRAY[
    'admin_area', 'dev_zone', 'approval_batch', 'approval_parcel', 'acquisition', 'supply',
    'supply_batch', 'supplementary_agreement', 'development', 'withdrawal', 'rs_patch',
    'survey_patch', 'idle_case', 'disposal_plan', 'disposal_action', 'task_target',
    'setting', 'value_list', 'crs_param', 'flag_status'])
$$;
COMMENT ON FUNCTION landdb.tracked_tables() IS '记录修改历史的表 | tables whose changes go to landdb.history';

DO $do$
DECLARE
  t text;
  attrs text;      -- jsonb_build_object arguments of the non-geometry columns, prefix %1$s
  same text;       -- per column: its name when old and new agree (the keys left out of a change)
  cols_o text;     -- the columns as a row, old and new, to find rows that changed at all
  cols_n text;
  has_geom boolean;
  has_run boolean;
  obj_o text;
  obj_n text;
BEGIN
  FOR t IN SELECT landdb.tracked_tables() LOOP
    SELECT string_agg(format('%L, %%1$s.%I', a.attname, a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('CASE WHEN o.%I IS NOT DISTINCT FROM n.%I THEN %L END', a.attname, a.attname,
                             a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('o.%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('n.%I', a.attname), ', ' ORDER BY a.attnum),
           bool_or(a.attname = 'import_run_id')
      INTO attrs, same, cols_o, cols_n, has_run
    FROM pg_attribute a
    WHERE a.attrelid = format('landdb.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attgenerated = '' AND a.attname <> 'geom';
    has_geom := EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = format('landdb.%I', t)::regclass
                        AND attname = 'geom' AND NOT attisdropped);
    obj_o := format('jsonb_build_object(' || attrs || ')', 'o');
    obj_n := format('jsonb_build_object(' || attrs || ')', 'n');

    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION landdb.%I() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $b$
      BEGIN
        INSERT INTO landdb.history (table_name, row_id, op, import_run_id)
        SELECT %L, n.id, 'I', %s FROM new_rows n;
        RETURN NULL;
      END $b$ $f$, 'history_i_' || t, t, CASE WHEN has_run THEN 'n.import_run_id' ELSE 'NULL::bigint' END);

    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION landdb.%I() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $b$
      BEGIN
        -- (EXECUTE: planned for the rows of each statement; a plan kept from a first call with no
        -- rows joined the 200 000 rows of a later one in a nested loop, for many minutes)
        EXECUTE $q$
        INSERT INTO landdb.history (table_name, row_id, op, import_run_id, old_values, new_values)
        SELECT %L, d.id, 'U', d.run, d.oj - d.same, d.nj - d.same
        FROM (SELECT n.id, %s AS run,
                     %s%s AS oj,
                     %s%s AS nj,
                     array_remove(ARRAY[%s]::text[], NULL) AS same
              FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE (%s) IS DISTINCT FROM (%s)) d $q$;
        RETURN NULL;
      END $b$ $f$, 'history_u_' || t, t,
      CASE WHEN has_run THEN 'n.import_run_id' ELSE 'NULL::bigint' END,
      obj_o, CASE WHEN has_geom THEN ' || CASE WHEN o.geom IS DISTINCT FROM n.geom THEN '
        'jsonb_build_object(''geom'', encode(ST_AsEWKB(o.geom), ''hex'')) ELSE ''{}''::jsonb END' ELSE '' END,
      obj_n, CASE WHEN has_geom THEN ' || CASE WHEN o.geom IS DISTINCT FROM n.geom THEN '
        'jsonb_build_object(''geom'', encode(ST_AsEWKB(n.geom), ''hex'')) ELSE ''{}''::jsonb END' ELSE '' END,
      same, cols_o || CASE WHEN has_geom THEN ', o.geom' ELSE '' END,
      cols_n || CASE WHEN has_geom THEN ', n.geom' ELSE '' END);

    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION landdb.%I() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $b$
      BEGIN
        INSERT INTO landdb.history (table_name, row_id, op, old_values)
        SELECT %L, o.id, 'D', %s%s FROM old_rows o;
        RETURN NULL;
      END $b$ $f$, 'history_d_' || t, t, obj_o,
      CASE WHEN has_geom THEN ' || jsonb_build_object(''geom'', encode(ST_AsEWKB(o.geom), ''hex''))' ELSE '' END);

    EXECUTE format('DROP TRIGGER IF EXISTS history_i ON landdb.%I', t);
    EXECUTE format('DROP TRIGGER IF EXISTS history_u ON landdb.%I', t);
    EXECUTE format('DROP TRIGGER IF EXISTS history_d ON landdb.%I', t);
    EXECUTE format('CREATE TRIGGER history_i AFTER INSERT ON landdb.%I REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION landdb.%I()', t, 'history_i_' || t);
    EXECUTE format('CREATE TRIGGER history_u AFTER UPDATE ON landdb.%I REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION landdb.%I()', t, 'history_u_' || t);
    EXECUTE format('CREATE TRIGGER history_d AFTER DELETE ON landdb.%I REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION landdb.%I()', t, 'history_d_' || t);
  END LOOP;
END $do$;

-- A record's state as of a moment: the current row rolled back through its later changes
-- (NULL when it did not exist yet: inserted, or bulk-loaded (op 'L', an id range), after it).
CREATE OR REPLACE FUNCTION landdb.row_as_of(tbl text, rid bigint, at timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  state jsonb;
  h record;
BEGIN
  IF EXISTS (SELECT 1 FROM landdb.history l WHERE l.table_name = tbl AND l.op = 'L' AND l.changed_at > at
             AND rid BETWEEN (l.new_values ->> 'first_id')::bigint AND (l.new_values ->> 'last_id')::bigint) THEN
    RETURN NULL;  -- bulk-loaded into the empty table after that moment
  END IF;
  EXECUTE format('SELECT to_jsonb(t) - ''area_m2'' FROM landdb.%I t WHERE id = $1', tbl) INTO state USING rid;
  FOR h IN SELECT op, old_values FROM landdb.history
           WHERE table_name = tbl AND row_id = rid AND changed_at > at ORDER BY id DESC LOOP
    IF h.op = 'I' THEN
      state := NULL;
    ELSIF h.op = 'D' THEN
      state := h.old_values;
    ELSE
      state := coalesce(state, '{}'::jsonb) || h.old_values;
    END IF;
  END LOOP;
  RETURN state;
END $$;
COMMENT ON FUNCTION landdb.row_as_of(text, bigint, timestamptz) IS '某条记录在某一时刻的状态 | a row as it was at a moment';
