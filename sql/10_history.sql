-- One history for every table people edit: statement-level triggers with transition tables,
-- so a bulk import writes its history in one set-based statement. Re-created on every upgrade.
-- INSERT keeps the new attributes (the geometry stays in the row itself); UPDATE keeps the old
-- and new values of the changed fields; DELETE keeps the whole old row. Together with the
-- current rows they give any past state.

CREATE OR REPLACE FUNCTION landdb.history_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  INSERT INTO landdb.history (table_name, row_id, op, import_run_id, new_values)
  SELECT TG_TABLE_NAME, (j ->> 'id')::bigint, 'I', (j ->> 'import_run_id')::bigint,
         j - 'geom' - 'area_m2'
  FROM (SELECT to_jsonb(n) AS j FROM new_rows n) s;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION landdb.history_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  INSERT INTO landdb.history (table_name, row_id, op, import_run_id, old_values, new_values)
  SELECT TG_TABLE_NAME, d.id, 'U', (d.nj ->> 'import_run_id')::bigint,
         landdb.jsonb_changed(d.oj, d.nj), landdb.jsonb_changed(d.nj, d.oj)
  FROM (SELECT (to_jsonb(o) ->> 'id')::bigint AS id, to_jsonb(o) AS oj, to_jsonb(n) AS nj
        FROM old_rows o JOIN new_rows n ON (to_jsonb(o) -> 'id') = (to_jsonb(n) -> 'id')) d
  WHERE d.oj IS DISTINCT FROM d.nj;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION landdb.history_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  INSERT INTO landdb.history (table_name, row_id, op, old_values)
  SELECT TG_TABLE_NAME, (j ->> 'id')::bigint, 'D', j
  FROM (SELECT to_jsonb(o) AS j FROM old_rows o) s;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION landdb.tracked_tables() RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
  SELECT unnest(ARRAY[
    'admin_area', 'dev_zone', 'approval_batch', 'approval_parcel', 'acquisition', 'supply',
    'supply_batch', 'supplementary_agreement', 'development', 'withdrawal', 'rs_patch',
    'survey_patch', 'idle_case', 'disposal_plan', 'disposal_action', 'task_target',
    'setting', 'value_list', 'crs_param', 'flag_status'])
$$;
COMMENT ON FUNCTION landdb.tracked_tables() IS '记录修改历史的表 | tables whose changes go to landdb.history';

DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT landdb.tracked_tables() LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS history_i ON landdb.%I', t);
    EXECUTE format('DROP TRIGGER IF EXISTS history_u ON landdb.%I', t);
    EXECUTE format('DROP TRIGGER IF EXISTS history_d ON landdb.%I', t);
    EXECUTE format('CREATE TRIGGER history_i AFTER INSERT ON landdb.%I REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION landdb.history_insert()', t);
    EXECUTE format('CREATE TRIGGER history_u AFTER UPDATE ON landdb.%I REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION landdb.history_update()', t);
    EXECUTE format('CREATE TRIGGER history_d AFTER DELETE ON landdb.%I REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION landdb.history_delete()', t);
  END LOOP;
END $$;

-- A record's state as of a moment: the current row rolled back through its later changes.
CREATE OR REPLACE FUNCTION landdb.row_as_of(tbl text, rid bigint, at timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  state jsonb;
  h record;
BEGIN
  EXECUTE format('SELECT to_jsonb(t) FROM landdb.%I t WHERE id = $1', tbl) INTO state USING rid;
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
