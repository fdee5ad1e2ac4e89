-- Analysis runs: landdb.analyze(as_of, full) computes the overlay, the figures and every rule in
-- the caller's transaction and stores them as one run (analysis_run, analysis_batch,
-- analysis_piece, flag). Re-created on every upgrade.
--
-- Incremental: when a finished run of the same as-of date exists with the same settings and the
-- same rules, only what changed since (landdb.history rows that run could not see: a higher id,
-- or a transaction its snapshot did not see) is recomputed:
--   * batches a change can affect: the batch itself, the batch of a changed parcel, withdrawal,
--     acquisition or supply link, batches linked to a changed supply, and batches within the
--     snapping tolerance of the old or new geometry of a changed supply, acquisition, withdrawal
--     or construction patch;
--   * supplies a change can affect: the supply itself, the supply of a changed link,
--     supplementary agreement, development record or idle case, supplies linked to a changed
--     batch, and supplies near the old or new geometry of a changed batch.
-- Figures, pieces and flags of everything else are shared with the previous run (the new run joins
-- its lineage; the rows it recomputes are closed for it: until_run_id, see landdb.run_chain); 处置逾期 is
-- recomputed every time; 未供即用 for the patches that touch a batch in scope; 边角地 for the
-- clusters of pieces that hold a piece of a batch in scope, or lay next to one in the previous
-- run, or lie near a supply in scope (landdb._remnant_reach). A change of
-- settings, rules, townships or development zones makes the run full.

-- ---------------------------------------------------------------- what changed
-- A geometry kept in landdb.history: hex EWKB (or GeoJSON, as older histories kept it).
CREATE OR REPLACE FUNCTION landdb._history_geom(v jsonb) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v)
           WHEN 'string' THEN ST_GeomFromEWKB(decode(v #>> '{}', 'hex'))
           WHEN 'object' THEN ST_GeomFromGeoJSON(v::text) END
$$;
COMMENT ON FUNCTION landdb._history_geom(jsonb) IS '修改历史中的图形（十六进制 EWKB 或 GeoJSON） | a geometry kept in the history';

DROP FUNCTION IF EXISTS landdb._affected(bigint, txid_snapshot, bigint, double precision);
CREATE FUNCTION landdb._affected(since_id bigint, since_snapshot txid_snapshot, since_txid bigint,
                                 tol double precision,
                                 OUT need_full boolean, OUT batches bigint[], OUT supplies bigint[])
LANGUAGE plpgsql AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS _landdb_changes (
    table_name text, row_id bigint, op char(1), old_values jsonb, new_values jsonb) ON COMMIT DROP;
  TRUNCATE _landdb_changes;
  INSERT INTO _landdb_changes
  SELECT h.table_name, h.row_id, h.op, h.old_values, h.new_values FROM landdb.history h
  WHERE h.id > since_id
  UNION ALL
  SELECT h.table_name, h.row_id, h.op, h.old_values, h.new_values FROM landdb.history h
  WHERE h.id <= since_id AND h.txid >= txid_snapshot_xmin(since_snapshot)
    AND NOT txid_visible_in_snapshot(h.txid, since_snapshot)
    AND h.txid IS DISTINCT FROM since_txid;  -- the run's own transaction wrote these before it

  need_full := EXISTS (SELECT 1 FROM _landdb_changes
                       WHERE table_name IN ('setting', 'admin_area', 'dev_zone') OR op = 'L');  -- a bulk load
  IF need_full THEN
    RETURN;
  END IF;

  WITH c AS (SELECT * FROM _landdb_changes),
  -- geometries before (updated or deleted rows) and after the change
  g AS (
    SELECT c.table_name, landdb._history_geom(c.old_values -> 'geom') AS g FROM c
    WHERE jsonb_typeof(c.old_values -> 'geom') IN ('string', 'object')
    UNION ALL SELECT 'supply', x.geom FROM landdb.supply x JOIN c ON c.table_name = 'supply' AND c.row_id = x.id
    UNION ALL SELECT 'acquisition', x.geom FROM landdb.acquisition x JOIN c ON c.table_name = 'acquisition' AND c.row_id = x.id
    UNION ALL SELECT 'withdrawal', x.geom FROM landdb.withdrawal x JOIN c ON c.table_name = 'withdrawal' AND c.row_id = x.id
    UNION ALL SELECT 'rs_patch', x.geom FROM landdb.rs_patch x JOIN c ON c.table_name = 'rs_patch' AND c.row_id = x.id
    UNION ALL SELECT 'survey_patch', x.geom FROM landdb.survey_patch x JOIN c ON c.table_name = 'survey_patch' AND c.row_id = x.id
    UNION ALL SELECT 'approval_batch', x.geom FROM landdb.approval_batch x JOIN c ON c.table_name = 'approval_batch' AND c.row_id = x.id
  ),
  -- batches named by the changed rows
  bd AS (
    SELECT c.row_id AS id FROM c WHERE c.table_name = 'approval_batch'
    UNION SELECT (c.old_values ->> 'batch_id')::bigint FROM c
          WHERE c.table_name IN ('approval_parcel', 'withdrawal', 'acquisition', 'supply_batch')
    UNION SELECT (c.new_values ->> 'batch_id')::bigint FROM c
          WHERE c.table_name IN ('approval_parcel', 'withdrawal', 'acquisition', 'supply_batch')
    UNION SELECT x.batch_id FROM landdb.approval_parcel x JOIN c ON c.table_name = 'approval_parcel' AND c.row_id = x.id
    UNION SELECT x.batch_id FROM landdb.withdrawal x JOIN c ON c.table_name = 'withdrawal' AND c.row_id = x.id
    UNION SELECT x.batch_id FROM landdb.acquisition x JOIN c ON c.table_name = 'acquisition' AND c.row_id = x.id
    UNION SELECT x.batch_id FROM landdb.supply_batch x JOIN c ON c.table_name = 'supply_batch' AND c.row_id = x.id
  ),
  -- supplies named by the changed rows
  sd AS (
    SELECT c.row_id AS id FROM c WHERE c.table_name = 'supply'
    UNION SELECT (c.old_values ->> 'supply_id')::bigint FROM c
          WHERE c.table_name IN ('supply_batch', 'supplementary_agreement', 'development', 'idle_case')
    UNION SELECT (c.new_values ->> 'supply_id')::bigint FROM c
          WHERE c.table_name IN ('supply_batch', 'supplementary_agreement', 'development', 'idle_case')
    UNION SELECT x.supply_id FROM landdb.supply_batch x JOIN c ON c.table_name = 'supply_batch' AND c.row_id = x.id
    UNION SELECT x.supply_id FROM landdb.supplementary_agreement x
          JOIN c ON c.table_name = 'supplementary_agreement' AND c.row_id = x.id
    UNION SELECT x.supply_id FROM landdb.development x JOIN c ON c.table_name = 'development' AND c.row_id = x.id
    UNION SELECT x.supply_id FROM landdb.idle_case x JOIN c ON c.table_name = 'idle_case' AND c.row_id = x.id
  ),
  ab AS (
    SELECT bd.id FROM bd WHERE bd.id IS NOT NULL
    UNION SELECT b.id FROM g JOIN landdb.approval_batch b ON b.geom && ST_Expand(g.g, tol) AND ST_DWithin(b.geom, g.g, tol)
          WHERE g.table_name IN ('supply', 'acquisition', 'withdrawal', 'rs_patch', 'survey_patch')
    UNION SELECT sb.batch_id FROM landdb.supply_batch sb JOIN sd ON sd.id = sb.supply_id
  ),
  sa AS (
    SELECT sd.id FROM sd WHERE sd.id IS NOT NULL
    UNION SELECT s.id FROM g JOIN landdb.supply s ON s.geom && ST_Expand(g.g, tol) AND ST_DWithin(s.geom, g.g, tol)
          WHERE g.table_name = 'approval_batch'
    UNION SELECT sb.supply_id FROM landdb.supply_batch sb JOIN bd ON bd.id = sb.batch_id
  )
  SELECT coalesce((SELECT array_agg(ab.id ORDER BY ab.id) FROM ab), '{}'),
         coalesce((SELECT array_agg(sa.id ORDER BY sa.id) FROM sa), '{}')
    INTO batches, supplies;
END $$;
COMMENT ON FUNCTION landdb._affected(bigint, txid_snapshot, bigint, double precision) IS '上次分析后受修改影响的批次和供地（内部） | batches and supplies changes since a run can affect (internal)';

-- The flags of a batch rule for one chunk of batches: ids from `first` up to the next of `leaders`
-- (the first ids of the chunks). analyze computes the rules whose subjects are independent of one
-- another chunk by chunk, in the workers of a parallel scan. The batches are the run's, or with
-- `every_batch` all of the table, the first chunk from the lowest id (未供即用: a patch's flag may
-- name a batch the run has no figures of; a patch touching batches of two chunks is flagged by
-- both, the same flag, and landdb._insert_chunked_flags keeps one).
DROP FUNCTION IF EXISTS landdb._used_chunk(date, bigint, bigint[], bigint);
DROP FUNCTION IF EXISTS landdb._rule_chunk(text, date, bigint, bigint[], bigint);
DROP FUNCTION IF EXISTS landdb._rule_chunk(text, date, bigint, bigint[], bigint, boolean);
CREATE FUNCTION landdb._rule_chunk(rule_name text, as_of date, run bigint, leaders bigint[], first bigint,
                                   every_batch boolean DEFAULT false)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE plpgsql STABLE PARALLEL SAFE COST 10000000 ROWS 1000 AS $$
DECLARE
  upto bigint := (SELECT min(x) FROM unnest(leaders) x WHERE x > first);
  ids bigint[];
BEGIN
  IF every_batch THEN
    ids := ARRAY(SELECT b.id FROM landdb.approval_batch b
                 WHERE (b.id >= first OR first <= (SELECT min(x) FROM unnest(leaders) x))
                   AND (upto IS NULL OR b.id < upto)
                 ORDER BY b.id);
  ELSE
    ids := ARRAY(SELECT a.batch_id FROM landdb.analysis_batch a
                 WHERE a.run_id = run AND a.batch_id >= first AND (upto IS NULL OR a.batch_id < upto)
                 ORDER BY a.batch_id);
  END IF;
  RETURN QUERY EXECUTE format('SELECT * FROM landdb.%I($1, $2, $3)', 'rule_' || rule_name) USING as_of, run, ids;
END $$;
COMMENT ON FUNCTION landdb._rule_chunk(text, date, bigint, bigint[], bigint, boolean) IS '一组批次的规则结果（内部） | flags of a batch rule for a chunk of batches (internal)';

-- The flags of a whole rule, for the worker of a parallel scan that meets the row standing for it:
-- analyze runs the rules that each take one process side by side this way (they neither write nor
-- use temporary tables; a query of theirs gets no parallel workers of its own inside a worker).
DROP FUNCTION IF EXISTS landdb._rule_whole(text, date, bigint);
CREATE FUNCTION landdb._rule_whole(rule_name text, as_of date, run bigint)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE plpgsql STABLE PARALLEL SAFE COST 10000000 ROWS 1000 AS $$
BEGIN
  IF rule_name IS NOT NULL THEN
    RETURN QUERY EXECUTE format('SELECT * FROM landdb.%I($1, $2)', 'rule_' || rule_name) USING as_of, run;
  END IF;
END $$;
COMMENT ON FUNCTION landdb._rule_whole(text, date, bigint) IS '整条规则的结果（供并行扫描调用，内部） | flags of a whole rule, for a parallel scan (internal)';

-- The seven date rules for chunk k of the supplies: ids from leaders[k] up to leaders[k + 1].
-- (EXECUTE: planned for the bounds given, which a generic plan would scan to the last id from.)
DROP FUNCTION IF EXISTS landdb._date_chunk(date, text[], bigint[], integer);
CREATE FUNCTION landdb._date_chunk(as_of date, rules text[], leaders bigint[], k integer)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE plpgsql STABLE PARALLEL SAFE COST 10000000 ROWS 1000 AS $$
BEGIN
  IF k BETWEEN 1 AND cardinality(leaders) THEN
    RETURN QUERY EXECUTE 'SELECT * FROM landdb._supply_date_flags($1, NULL, $2, $3, $4)'
      USING as_of, rules, CASE WHEN k = 1 THEN -9223372036854775808 ELSE leaders[k] END, leaders[k + 1];
  END IF;
END $$;
COMMENT ON FUNCTION landdb._date_chunk(date, text[], bigint[], integer) IS '一组供地的日期类规则结果（内部） | the date rules for a chunk of supplies (internal)';

-- supply_overlap for stripe k of `parts` of the grid columns c0 … c1 that the supplies' extent
-- covers (landdb._supply_pairs, 200 m cells); the first and last stripes are open-ended.
DROP FUNCTION IF EXISTS landdb._overlap_chunk(date, integer, integer, integer, integer);
CREATE FUNCTION landdb._overlap_chunk(as_of date, k integer, parts integer, c0 integer, c1 integer)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE PARALLEL SAFE COST 10000000 ROWS 100 AS $$
  SELECT f.* FROM landdb._supply_overlap($1, NULL,
    CASE WHEN $2 > 1 THEN $4 + (($5 - $4 + 1) * ($2 - 1)) / $3 END,
    CASE WHEN $2 < $3 THEN $4 + (($5 - $4 + 1) * $2) / $3 END) f
  WHERE $2 BETWEEN 1 AND $3
$$;
COMMENT ON FUNCTION landdb._overlap_chunk(date, integer, integer, integer, integer) IS '一条网格带内的供地重叠（内部） | supply_overlap for a stripe of the grid (internal)';

-- A re-analysis shares the previous run's flags of a rule that it has not recomputed: closed for
-- run `run` (until_run_id = `prev`) are the flags of `rule_name` of run `prev` in `skip` (their
-- subjects were in scope; NULL: all of them) and those whose subject the new run has flagged (a
-- subject recomputed is never held twice). Returns how many were closed.
DROP FUNCTION IF EXISTS landdb._copy_flags(bigint, bigint, text, bigint[]);
DROP FUNCTION IF EXISTS landdb._close_flags(bigint, bigint, text, bigint[]);
CREATE FUNCTION landdb._close_flags(run bigint, prev bigint, rule_name text, skip bigint[]) RETURNS bigint
LANGUAGE sql AS $$
  WITH u AS (
    UPDATE landdb.flag f SET until_run_id = $2
    WHERE f.run_id = ANY ((SELECT landdb.run_chain($2))::bigint[]) AND f.until_run_id IS NULL AND f.rule = $3
      AND ($4 IS NULL OR f.id IN (SELECT unnest($4))
           OR f.subject IN (SELECT n.subject FROM landdb.flag n WHERE n.run_id = $1 AND n.rule = $3))
    RETURNING 1)
  SELECT count(*) FROM u
$$;
COMMENT ON FUNCTION landdb._close_flags(bigint, bigint, text, bigint[]) IS '结束上次运行中已重算的规则结果（其余由新运行共用，内部） | close the previous run''s flags of a rule that were recomputed (internal)';

-- Insert into landdb.flag the flags of a run computed chunk by chunk in the workers of a parallel
-- scan: one row per chunk (the run's batches that lead one: `leaders`), `chunk_call` the
-- set-returning call that gives that chunk's flags, in terms of a.batch_id. (The work is in that
-- function: the scan is made parallel at no cost, also of a small index (the function's SET
-- clauses, undone when it returns), and without index conditions, which would find the few leaders
-- at once: "+ 0". The chunk functions are declared costly, so that they run in the workers, not in
-- the leader over the gathered leaders: at the default cost the two plans cost the same, and once
-- the planner chose the latter, supply_overlap of the 200 000-batch county ran in one process,
-- 18.6 s instead of 10. The leader only gathers: taking chunks of its own it was one process
-- more than there are cores, and the queries of its chunks, planned under these settings,
-- started parallel workers of their own, 30–50 ms each, four for every chunk of
-- used_before_supply; a worker's queries never do.)
DROP FUNCTION IF EXISTS landdb._insert_chunked_flags(bigint, bigint[], text);
DROP FUNCTION IF EXISTS landdb._insert_chunked_flags(bigint, bigint[], text, boolean);
CREATE FUNCTION landdb._insert_chunked_flags(run bigint, leaders bigint[], chunk_call text,
                                             one_per_subject boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET parallel_setup_cost = 0 SET parallel_tuple_cost = 0 SET min_parallel_index_scan_size = 0
SET parallel_leader_participation = off AS $$
BEGIN
  IF to_regclass('pg_temp._landdb_rule_flags') IS NOT NULL THEN
    DROP TABLE pg_temp._landdb_rule_flags;
  END IF;
  EXECUTE format('CREATE TEMP TABLE _landdb_rule_flags ON COMMIT DROP AS '
                 'SELECT f.* FROM landdb.approval_batch b CROSS JOIN LATERAL (SELECT b.id AS batch_id) a '
                 'CROSS JOIN LATERAL %s f '
                 'WHERE b.id + 0 = ANY ((SELECT %L::bigint[])::bigint[])', chunk_call, leaders);
  IF one_per_subject THEN
    INSERT INTO landdb.flag (run_id, rule, subject, severity, area_m2, message, details, township, geom,
                             batch_ids, supply_ids)
    SELECT DISTINCT ON (f.rule, f.subject) run, f.* FROM _landdb_rule_flags f ORDER BY f.rule, f.subject;
  ELSE
    INSERT INTO landdb.flag (run_id, rule, subject, severity, area_m2, message, details, township, geom,
                             batch_ids, supply_ids)
    SELECT run, f.* FROM _landdb_rule_flags f;
  END IF;
  DROP TABLE pg_temp._landdb_rule_flags;
END $$;
COMMENT ON FUNCTION landdb._insert_chunked_flags(bigint, bigint[], text, boolean) IS '分组并行计算并写入规则结果（内部） | insert flags computed chunk by chunk in parallel (internal)';

-- The overlay of the batches of a scope (NULL: all) into the temporary table _landdb_overlay, with
-- the township, zone and valid geometry of every piece, in the same parallel scan. (The planner
-- cannot see that each of the overlay's few chunks is costly: parallel costs 0, also for a scan of
-- a small index, which the batch table's primary key of a county of 20 000 is (without it, once
-- the table was vacuumed, the overlay ran in one process); and the leader only gathers: busy with
-- a chunk of its own, it would leave the workers waiting with full queues. SET clauses, undone
-- when the function returns; batch_supply and unsupplied have the same.)
DROP FUNCTION IF EXISTS landdb._overlay_table(date, bigint[], double precision, double precision, double precision);
CREATE FUNCTION landdb._overlay_table(as_of date, scope bigint[], snap double precision, width double precision,
                                      min_area double precision) RETURNS void
LANGUAGE plpgsql SET parallel_setup_cost = 0 SET parallel_tuple_cost = 0 SET min_parallel_index_scan_size = 0
SET parallel_leader_participation = off AS $$
BEGIN
  IF to_regclass('pg_temp._landdb_overlay') IS NOT NULL THEN
    DROP TABLE pg_temp._landdb_overlay;
  END IF;
  CREATE TEMP TABLE _landdb_overlay ON COMMIT DROP AS
    SELECT o.*, pp.townships AS piece_township, pp.zones AS piece_zone, pp.geoms AS piece_valid
    FROM landdb._overlay(as_of, scope, snap, width, min_area) o
    CROSS JOIN LATERAL landdb._piece_places(o.piece_geom) pp;
END $$;
COMMENT ON FUNCTION landdb._overlay_table(date, bigint[], double precision, double precision, double precision)
  IS '叠加分析写入临时表（内部） | overlay of a scope into a temporary table (internal)';

-- ---------------------------------------------------------------- the run
DROP FUNCTION IF EXISTS landdb.analyze(date, boolean);
CREATE FUNCTION landdb.analyze(as_of date, "full" boolean DEFAULT false) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  d date := $1;
  t0 timestamptz := clock_timestamp();
  cfg jsonb;
  chk text;
  run bigint;
  prev landdb.analysis_run;
  run_mode text := 'full';
  aff record;
  ab bigint[];
  sa bigint[];
  rb bigint[];
  rs bigint[];
  vias text;
  nestloop text;
  snap double precision := landdb.setting_num('snap_tolerance_m');
  width double precision := landdb.setting_num('sliver_width_m');
  min_area double precision := landdb.setting_num('sliver_area_m2');
  n_batches integer;
  n_new integer;
  v_copied integer := 0;
  n_pieces bigint;  -- pieces stored by this run
  n_closed bigint;  -- pieces (then flags of a rule) of the previous run closed by this run
  closed jsonb := '{}';  -- by rule: flags of the previous run closed by this run
  v_flags jsonb;  -- flags held by the run, by rule
  r record;
  v_summary jsonb;
  v_lineage bigint;
  timings jsonb := '{}';
  date_rules text[] := ARRAY['start_due', 'completion_due', 'start_overdue', 'completion_overdue',
                             'idle_not_started', 'idle_reclaim', 'idle_stalled'];
  -- batch rules whose flags of a batch depend on that batch only (its figures, pieces, records):
  -- a full run computes them chunk by chunk of batches, in parallel (landdb._rule_chunk)
  chunk_rules text[] := ARRAY['unsupplied_over_3y', 'unacquired', 'acquired_unsupplied_over_2y',
                              'withdrawal_candidate'];
  -- rules that run in one process each (not by chunks), the longest first: a full run runs them
  -- side by side, each in a worker of one parallel scan (landdb._rule_whole)
  solo_rules text[] := ARRAY['remnant_parcel', 'batch_overlap', 'supply_rate_mismatch', 'area_mismatch'];
  solo_done boolean := false;
  leaders bigint[];
  prev_chain bigint[];
  supply_leaders bigint[];
  n_supplies bigint;  -- supplies in a chunk
  c0 integer;  -- the supplies' extent in grid columns (supply_overlap)
  c1 integer;
  t1 timestamptz;
BEGIN
  IF d IS NULL THEN
    RAISE EXCEPTION '缺少基准日 [as_of is required]';
  END IF;
  -- one analysis at a time: a re-analysis extends the lineage of the latest run of its date
  PERFORM pg_advisory_xact_lock(1717986918);
  SELECT jsonb_object_agg(s.key, s.value ORDER BY s.key) INTO cfg FROM landdb.setting s;
  SELECT i.value INTO chk FROM landdb.db_info i WHERE i.key = 'rules_checksum';
  run := nextval(pg_get_serial_sequence('landdb.analysis_run', 'id'));
  INSERT INTO landdb.analysis_run (id, lineage_id, as_of, mode, status, settings, history_id, snapshot, txid,
                                   rules_checksum)
  VALUES (run, run, d, 'full', 'running', cfg, coalesce((SELECT max(h.id) FROM landdb.history h), 0),
          txid_current_snapshot(), txid_current(), chk);

  -- incremental when the previous run of this date used the same settings and rules
  IF NOT $2 THEN
    SELECT * INTO prev FROM landdb.analysis_run p
    WHERE p.as_of = d AND p.status = 'done' AND p.id <> run
    ORDER BY p.finished_at DESC NULLS LAST, p.id DESC LIMIT 1;
    IF prev.id IS NOT NULL AND prev.settings = cfg AND prev.rules_checksum IS NOT DISTINCT FROM chk
       AND prev.snapshot IS NOT NULL AND prev.history_id IS NOT NULL THEN
      SELECT * INTO aff FROM landdb._affected(prev.history_id, prev.snapshot, prev.txid, snap);
      SELECT count(*) INTO n_batches FROM landdb.approval_batch;
      IF NOT aff.need_full AND cardinality(aff.batches) <= greatest(n_batches / 2, 10) THEN
        run_mode := 'incremental';
        ab := aff.batches;
        sa := aff.supplies;
        prev_chain := landdb.run_chain(prev.id);
        UPDATE landdb.analysis_run SET lineage_id = prev.lineage_id WHERE id = run;
        -- the scope as a keyed table: the flags not to copy are found by one join with it (a
        -- hashed set), not by comparing every flag's ids with every id of the scope
        IF to_regclass('pg_temp._landdb_scope') IS NOT NULL THEN
          DROP TABLE pg_temp._landdb_scope;
        END IF;
        CREATE TEMP TABLE _landdb_scope (kind char(1), id bigint, PRIMARY KEY (kind, id)) ON COMMIT DROP;
        INSERT INTO _landdb_scope SELECT 'b', x FROM unnest(ab) x UNION SELECT 's', x FROM unnest(sa) x;
        ANALYZE _landdb_scope;
        -- the previous run's flags that name a batch (via 'b') or a supply ('s') in scope, found
        -- once by hashing (the planner, blind to the rows a run has just written, would
        -- otherwise loop over the scope for every flag)
        IF to_regclass('pg_temp._landdb_hit') IS NOT NULL THEN
          DROP TABLE pg_temp._landdb_hit;
        END IF;
        CREATE TEMP TABLE _landdb_hit (id bigint, via char(1), rule text, PRIMARY KEY (id, via)) ON COMMIT DROP;
        nestloop := current_setting('enable_nestloop');
        PERFORM set_config('enable_nestloop', 'off', true);
        -- (ids unnested in the select list, not by a lateral join with the scope, which would
        -- rebuild the hash of the scope for every flag; both lists in one scan of the flags,
        -- side by side: 2.9 → 2.1 s at 200 000 batches)
        -- (run_id >= the lineage's first run: the flags of the previous run through the index, as
        -- for the headline figures below; a scan of all 22 stored runs' 5.2 M flags took 2.1 s)
        INSERT INTO _landdb_hit
        SELECT DISTINCT e.id, v.via, e.rule
        FROM (SELECT g.id, g.rule, unnest(g.batch_ids) AS b, unnest(g.supply_ids) AS s
              FROM landdb.run_flags(prev.id) g WHERE g.run_id >= prev.lineage_id) e
        CROSS JOIN LATERAL (VALUES ('b'::char(1), e.b), ('s'::char(1), e.s)) v(via, i)
        JOIN _landdb_scope x ON x.kind = v.via AND x.id = v.i;
        PERFORM set_config('enable_nestloop', nestloop, true);
        ANALYZE _landdb_hit;
      END IF;
    END IF;
  END IF;

  timings := timings || jsonb_build_object('changes', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3));
  t1 := clock_timestamp();
  -- overlay of the batches to (re)compute
  PERFORM landdb._overlay_table(d, ab, snap, width, min_area);
  INSERT INTO landdb.analysis_batch (
      run_id, batch_id, pzwh, pzwh_key, approval_date, township, zone_code, approved_m2, supplied_m2,
      withdrawn_m2, unsupplied_m2, unacquired_m2, acquired_unsupplied_m2, supply_rate, recorded_supplied_m2,
      recorded_supply_rate, nogeom_supplied_m2, nogeom_withdrawn_m2)
  SELECT run, o.batch_id, o.pzwh, o.pzwh_key, o.approval_date, o.township, o.zone_code, o.approved_m2,
         o.supplied_m2, o.withdrawn_m2, o.unsupplied_m2, o.unacquired_m2, o.acquired_unsupplied_m2, o.supply_rate,
         o.recorded_supplied_m2, o.recorded_supply_rate, o.nogeom_supplied_m2, o.nogeom_withdrawn_m2
  FROM _landdb_overlay o;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  INSERT INTO landdb.analysis_piece (run_id, batch_id, piece_no, status, township, zone_code, geom)
  SELECT run, o.batch_id, pc.n, pc.st, coalesce(pc.twp, o.township), pc.zone, pc.valid
  FROM _landdb_overlay o
  CROSS JOIN LATERAL unnest(o.piece_status, o.piece_geom, o.piece_township, o.piece_zone, o.piece_valid)
                     WITH ORDINALITY AS pc(st, g, twp, zone, valid, n)
  WHERE NOT ST_IsEmpty(pc.g)
  ORDER BY o.batch_id, pc.n;
  GET DIAGNOSTICS n_pieces = ROW_COUNT;
  DROP TABLE pg_temp._landdb_overlay;
  timings := timings || jsonb_build_object('overlay', round(extract(epoch FROM clock_timestamp() - t1)::numeric, 3));
  t1 := clock_timestamp();

  IF run_mode = 'incremental' THEN
    -- the previous run's figures and pieces of the batches recomputed end with it; the others are
    -- the new run's too (a hashed set of the scope: joined with unnest(ab), whose size the planner
    -- cannot know, it could scan the whole scope for every row)
    UPDATE landdb.analysis_batch a SET until_run_id = prev.id
    WHERE a.run_id = ANY (prev_chain) AND a.until_run_id IS NULL
      AND a.batch_id IN (SELECT x.id FROM _landdb_scope x WHERE x.kind = 'b');
    UPDATE landdb.analysis_piece p SET until_run_id = prev.id
    WHERE p.run_id = ANY (prev_chain) AND p.until_run_id IS NULL
      AND p.batch_id IN (SELECT x.id FROM _landdb_scope x WHERE x.kind = 'b');
    GET DIAGNOSTICS n_closed = ROW_COUNT;
    n_pieces := n_pieces - n_closed + (prev.summary ->> 'pieces')::bigint;
    SELECT count(*) INTO v_copied FROM landdb.analysis_batch a
    WHERE a.run_id = ANY (prev_chain) AND a.until_run_id IS NULL;
  END IF;

  timings := timings || jsonb_build_object('copy', round(extract(epoch FROM clock_timestamp() - t1)::numeric, 3));
  -- flags: first the seven date rules on supplies, computed in one pass (landdb._supply_date_flags)
  t1 := clock_timestamp();
  IF run_mode = 'full' THEN
    -- a full run computes rules whose subjects are independent of one another chunk by chunk, in the
    -- workers of a parallel scan of the run's batches: the first ids of the chunks, about 32 of them
    -- (at least 100 batches each), and of as many chunks of the supplies
    SELECT count(*) INTO n_batches FROM landdb.analysis_batch a WHERE a.run_id = run;
    leaders := ARRAY(SELECT x.batch_id
                     FROM (SELECT a.batch_id, row_number() OVER (ORDER BY a.batch_id) AS n
                           FROM landdb.analysis_batch a WHERE a.run_id = run) x
                     WHERE (x.n - 1) % greatest(100, ceil(n_batches / 32.0)::integer) = 0
                     ORDER BY x.batch_id);
    SELECT ceil(count(*) / greatest(cardinality(leaders), 1)::numeric) INTO n_supplies FROM landdb.supply;
    supply_leaders := ARRAY(SELECT x.id
                            FROM (SELECT s.id, row_number() OVER (ORDER BY s.id) AS n FROM landdb.supply s) x
                            WHERE (x.n - 1) % greatest(n_supplies, 1) = 0
                            ORDER BY x.id);
  END IF;
  IF run_mode = 'incremental' THEN
    WITH u AS (
      UPDATE landdb.flag f SET until_run_id = prev.id
      WHERE f.run_id = ANY (prev_chain) AND f.until_run_id IS NULL AND f.rule = ANY (date_rules)
        AND f.id IN (SELECT h.id FROM _landdb_hit h WHERE h.via = 's')
      RETURNING f.rule)
    SELECT coalesce(jsonb_object_agg(x.rule, x.n), '{}') INTO closed
    FROM (SELECT u.rule, count(*) AS n FROM u GROUP BY u.rule) x;
  END IF;
  IF run_mode = 'full' AND cardinality(leaders) > 1 THEN
    PERFORM landdb._insert_chunked_flags(run, leaders, format(
      'landdb._date_chunk(%L::date, %L::text[], %L::bigint[], array_position(%L::bigint[], a.batch_id))',
      d, date_rules, supply_leaders, leaders));
  ELSE
    INSERT INTO landdb.flag (run_id, rule, subject, severity, area_m2, message, details, township, geom,
                             batch_ids, supply_ids)
    SELECT run, f.* FROM landdb._supply_date_flags(d, sa, date_rules) f;
  END IF;
  timings := timings || jsonb_build_object('supply_date_rules',
                                           round(extract(epoch FROM clock_timestamp() - t1)::numeric, 3));
  -- then the others: in a full run first those that take one process each, side by side
  IF run_mode = 'full' AND cardinality(leaders) >= cardinality(solo_rules) THEN
    t1 := clock_timestamp();
    PERFORM landdb._insert_chunked_flags(run, leaders[1:cardinality(solo_rules)], format(
      'landdb._rule_whole((%L::text[])[array_position(%L::bigint[], a.batch_id)], %L::date, %s)',
      solo_rules, leaders[1:cardinality(solo_rules)], d, run));
    solo_done := true;
    timings := timings || jsonb_build_object(array_to_string(solo_rules, '+'),
                                             round(extract(epoch FROM clock_timestamp() - t1)::numeric, 3));
  END IF;
  -- then rule by rule
  FOR r IN SELECT c.rule, c.subject_kind FROM landdb.rule_catalog() c WHERE c.rule <> ALL (date_rules)
           ORDER BY c.sort LOOP
    CONTINUE WHEN solo_done AND r.rule = ANY (solo_rules);
    t1 := clock_timestamp();
    n_closed := 0;
    IF run_mode = 'incremental' AND r.rule = 'remnant_parcel' THEN
      -- the clusters reached from: the batches in scope and those its old flags named, the pieces
      -- that lay within the tolerance of an old piece of a batch in scope (a cluster split up, or
      -- left), and the supplies in scope (and those its old flags named); every old flag naming a
      -- batch reached is recomputed, the others copied
      rb := ARRAY(SELECT x.id FROM _landdb_scope x WHERE x.kind = 'b'
                  UNION
                  SELECT j FROM _landdb_hit h JOIN landdb.flag g ON g.id = h.id CROSS JOIN LATERAL unnest(g.batch_ids) j
                  WHERE h.rule = r.rule
                  UNION
                  SELECT q.batch_id
                  -- (OFFSET 0: the old pieces of the scope first, then their neighbours)
                  FROM (SELECT p.geom FROM _landdb_scope x
                        JOIN landdb.analysis_piece p ON p.run_id = ANY (prev_chain) AND p.batch_id = x.id
                                                    AND p.until_run_id = prev.id
                        WHERE x.kind = 'b' OFFSET 0) o
                  JOIN landdb.analysis_piece q ON q.geom && ST_Expand(o.geom, snap + 0.001)
                                              AND ST_DWithin(q.geom, o.geom, snap + 0.001)
                  WHERE (q.run_id + 0 = run OR q.run_id + 0 = ANY (prev_chain)) AND q.until_run_id IS NULL);
      rs := ARRAY(SELECT x.id FROM _landdb_scope x WHERE x.kind = 's'
                  UNION
                  SELECT j FROM _landdb_hit h JOIN landdb.flag g ON g.id = h.id CROSS JOIN LATERAL unnest(g.supply_ids) j
                  WHERE h.rule = r.rule);
      rb := landdb._remnant_reach(run, rb, rs);
      INSERT INTO landdb.flag (run_id, rule, subject, severity, area_m2, message, details, township, geom,
                               batch_ids, supply_ids)
      SELECT run, f.* FROM landdb._remnant_flags(d, run, rb) f;
      n_closed := landdb._close_flags(run, prev.id, r.rule, ARRAY(
        SELECT e.id FROM (SELECT g.id, unnest(g.batch_ids) AS i FROM landdb.run_flags(prev.id) g
                          WHERE g.rule = r.rule AND g.run_id >= prev.lineage_id) e
        WHERE e.i IN (SELECT x FROM unnest(rb) x)));
    ELSIF run_mode = 'incremental' AND r.subject_kind <> 'always' THEN
      -- the flags of the subjects in scope, recomputed; then the previous run's other flags
      -- (a subject recomputed is never copied too, whatever ids its old flag named). The scope
      -- takes in every batch and supply an old flag named together with one in scope: that
      -- flag is not copied, so its subject must be recomputed even if what changed no longer
      -- touches it (a patch that lay on two batches, one of which has moved away).
      vias := CASE r.subject_kind WHEN 'batch' THEN 'b' WHEN 'batch_pair' THEN 'b'
                                  WHEN 'supply' THEN 's' WHEN 'supply_pair' THEN 's' ELSE 'bs' END;
      rb := ARRAY(SELECT x.id FROM _landdb_scope x WHERE x.kind = 'b'
                  UNION
                  SELECT j FROM _landdb_hit h JOIN landdb.flag g ON g.id = h.id CROSS JOIN LATERAL unnest(g.batch_ids) j
                  WHERE h.rule = r.rule AND strpos(vias, h.via) > 0);
      rs := ARRAY(SELECT x.id FROM _landdb_scope x WHERE x.kind = 's'
                  UNION
                  SELECT j FROM _landdb_hit h JOIN landdb.flag g ON g.id = h.id CROSS JOIN LATERAL unnest(g.supply_ids) j
                  WHERE h.rule = r.rule AND strpos(vias, h.via) > 0);
      EXECUTE format('INSERT INTO landdb.flag (run_id, rule, subject, severity, area_m2, message, details, '
                     'township, geom, batch_ids, supply_ids) SELECT $1, * FROM landdb.%I($2, $1, $3, $4)',
                     'rule_' || r.rule)
        USING run, d, rb, rs;
      n_closed := landdb._close_flags(run, prev.id, r.rule, ARRAY(
        SELECT h.id FROM _landdb_hit h WHERE h.rule = r.rule AND strpos(vias, h.via) > 0));
    ELSIF run_mode = 'full' AND r.rule = 'used_before_supply' AND cardinality(leaders) > 1 THEN
      -- (chunks of the batches: the patches touching them)
      PERFORM landdb._insert_chunked_flags(run, leaders, format(
        'landdb._rule_chunk(%L, %L::date, %s, %L::bigint[], a.batch_id, true)', r.rule, d, run, leaders), true);
    ELSIF run_mode = 'full' AND r.rule = 'supply_overlap' AND cardinality(leaders) > 1 THEN
      -- (stripes of the grid of the supplies' boxes, 200 m cells)
      SELECT floor(ST_XMin(e) / 200)::int, floor(ST_XMax(e) / 200)::int INTO c0, c1
      FROM (SELECT ST_Extent(s.geom) AS e FROM landdb.supply s) x;
      PERFORM landdb._insert_chunked_flags(run, leaders, format(
        'landdb._overlap_chunk(%L::date, array_position(%L::bigint[], a.batch_id), %s, %s, %s)',
        d, leaders, cardinality(leaders), coalesce(c0, 0), coalesce(c1, 0)));
    ELSIF run_mode = 'full' AND r.rule = ANY (chunk_rules) AND cardinality(leaders) > 1 THEN
      PERFORM landdb._insert_chunked_flags(run, leaders, format(
        'landdb._rule_chunk(%L, %L::date, %s, %L::bigint[], a.batch_id)', r.rule, d, run, leaders));
    ELSE
      EXECUTE format('INSERT INTO landdb.flag (run_id, rule, subject, severity, area_m2, message, details, '
                     'township, geom, batch_ids, supply_ids) SELECT $1, * FROM landdb.%I($2, $1)',
                     'rule_' || r.rule)
        USING run, d;
      IF run_mode = 'incremental' THEN
        -- (recomputed every time: none of the previous run's flags of the rule is shared)
        n_closed := landdb._close_flags(run, prev.id, r.rule, NULL);
      END IF;
    END IF;
    closed := closed || jsonb_build_object(r.rule, coalesce((closed ->> r.rule)::bigint, 0) + n_closed);
    timings := timings || jsonb_build_object(r.rule, round(extract(epoch FROM clock_timestamp() - t1)::numeric, 3));
  END LOOP;

  -- headline figures. (The rows of the run lie in its lineage, from the lineage's first run on:
  -- "run_id >= v_lineage", planned for its value, lets the planner read them through the index.
  -- Without it the run's rows, estimated from "= ANY" of a list it cannot see, were read by
  -- scanning every stored run: 1.9 s of the 200 000-batch county with fifteen runs, and growing
  -- with each run kept.)
  SELECT q.lineage_id INTO v_lineage FROM landdb.analysis_run q WHERE q.id = run;
  SELECT jsonb_build_object(
           'batches', count(*), 'approved_m2', coalesce(sum(a.approved_m2), 0),
           'supplied_m2', coalesce(sum(a.supplied_m2), 0), 'withdrawn_m2', coalesce(sum(a.withdrawn_m2), 0),
           'unsupplied_m2', coalesce(sum(a.unsupplied_m2), 0),
           'unsupplied_mu', landdb.m2_to_mu(coalesce(sum(a.unsupplied_m2), 0)),
           'unacquired_m2', coalesce(sum(a.unacquired_m2), 0),
           'acquired_unsupplied_m2', coalesce(sum(a.acquired_unsupplied_m2), 0),
           'supply_rate', sum(a.supplied_m2) / nullif(sum(a.approved_m2 - a.withdrawn_m2), 0),
           'recorded_supplied_m2', coalesce(sum(a.recorded_supplied_m2), 0),
           'recorded_supply_rate', sum(coalesce(a.recorded_supplied_m2, 0)) / nullif(sum(a.approved_m2 - a.withdrawn_m2), 0))
    INTO v_summary
  FROM landdb.run_batch_rows(run) a WHERE a.run_id >= v_lineage;
  -- Pieces and flags by rule: those the run stored, and in a re-analysis those of the previous
  -- run it shares (the previous run's counts less what this run closed), not counted again over
  -- every row of the lineage (1.1 s at 200 000 batches); a previous run without counts (stored by
  -- an older landdb) has them counted.
  IF run_mode = 'incremental' AND (prev.summary -> 'pieces' IS NULL OR prev.summary -> 'flags' IS NULL) THEN
    n_pieces := (SELECT count(*) FROM landdb.run_piece_rows(run) p WHERE p.run_id >= v_lineage);
    SELECT coalesce(jsonb_object_agg(x.rule, x.n), '{}') INTO v_flags
    FROM (SELECT f.rule, count(*) AS n FROM landdb.run_flags(run) f WHERE f.run_id >= v_lineage GROUP BY f.rule) x;
  ELSE
    SELECT coalesce(jsonb_object_agg(y.k, y.n) FILTER (WHERE y.n > 0), '{}') INTO v_flags
    FROM (SELECT x.k, sum(x.n)::bigint AS n
          FROM (SELECT f.rule AS k, count(*) AS n FROM landdb.flag f WHERE f.run_id = run GROUP BY f.rule
                UNION ALL
                SELECT e.key, e.value::bigint FROM jsonb_each_text(prev.summary -> 'flags') e
                WHERE run_mode = 'incremental'
                UNION ALL
                SELECT e.key, -e.value::bigint FROM jsonb_each_text(closed) e
                WHERE run_mode = 'incremental') x
          GROUP BY x.k) y;
  END IF;
  v_summary := v_summary
    || jsonb_build_object('pieces', n_pieces)
    || jsonb_build_object('five_year', (SELECT to_jsonb(f) FROM landdb.five_year_supply_rate(d, NULL, run) f))
    || jsonb_build_object('flags', v_flags)
    || jsonb_build_object('recomputed', n_new, 'copied', v_copied, 'timings', timings,
                          'seconds', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3));
  UPDATE landdb.analysis_run SET
    mode = run_mode, status = 'done', finished_at = clock_timestamp(), summary = v_summary,
    parent_run_id = CASE WHEN run_mode = 'incremental' THEN prev.id END,
    n_recomputed = n_new, n_copied = v_copied
  WHERE id = run;
  RETURN run;
END $$;
COMMENT ON FUNCTION landdb.analyze(date, boolean) IS '分析（基准日；增量或全量），结果存为一次运行，返回运行编号 | analyse as of a date and store the run; returns the run id';

-- ---------------------------------------------------------------- pruning runs
-- The finished runs that are neither kept (analysis_run.kept: 留存, e.g. a bulletin was published
-- from it) nor the latest run of their as-of date (what `landdb flags --as-of` reads, and what the
-- next re-analysis of that date builds on): deleted, unless dry_run, with their results — but for
-- what the remaining runs of their lineages share (landdb._delete_run_results). Returns them.
-- (Not while an analysis runs: the same lock as landdb.analyze.)
DROP FUNCTION IF EXISTS landdb.prune_runs(boolean);
CREATE FUNCTION landdb.prune_runs(dry_run boolean DEFAULT false)
RETURNS TABLE (run_id bigint, as_of date, mode text, finished_at timestamptz, kept boolean)
LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
BEGIN
  PERFORM pg_advisory_xact_lock(1717986918);
  ids := ARRAY(SELECT r.id FROM landdb.analysis_run r
               WHERE r.status = 'done' AND NOT r.kept AND r.id IS DISTINCT FROM landdb.latest_run(r.as_of)
               ORDER BY r.id);
  RETURN QUERY SELECT r.id, r.as_of, r.mode, r.finished_at, r.kept FROM landdb.analysis_run r
               WHERE r.id = ANY (ids) ORDER BY r.id;
  IF NOT dry_run THEN
    DELETE FROM landdb.analysis_run r WHERE r.id = ANY (ids);
  END IF;
END $$;
COMMENT ON FUNCTION landdb.prune_runs(boolean) IS '清理分析运行：删除既非留存、也非该基准日最新的运行（返回被删者） | delete the runs neither kept nor the latest of their date; returns them';

-- Geometry functions carry high costs, which would make PostgreSQL JIT-compile every small
-- query of a per-batch loop (a tenth of a second each): the entry points run without JIT.
-- The readers of stored results get the setting too, which keeps them from being inlined: the
-- planner then plans them as ROWS 10000 (hash joins), not from the statistics of result tables
-- the run has just filled (a nested loop over every batch pair).
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'landdb'
      AND (p.proname LIKE 'rule\_%' OR p.proname IN (
           'analyze', 'batch_supply', 'unsupplied', 'flags', 'supply_stats', 'five_year_supply_rate',
           'digestion', 'disposal_rate', 'years_of_supply', 'reconcile', '_reconcile', 'task_progress',
           'supply_state', 'construction_patches', '_construction_patches', '_affected', 'run_batches',
           'run_pieces', '_batch_piece_geom', '_remnant_reach', '_remnant_flags'))
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET jit = off', f);
  END LOOP;
END $$;
-- The overlay of a county is one query over chunks of its batches: let PostgreSQL share them among
-- as many workers as max_parallel_workers_per_gather allows (the batch table is small on disk, and
-- the planner cannot see how costly each chunk is); the leader only gathers.
ALTER FUNCTION landdb.analyze(date, boolean) SET parallel_setup_cost = 100 SET min_parallel_table_scan_size = 0;
ALTER FUNCTION landdb.batch_supply(date)
  SET parallel_setup_cost = 0 SET parallel_tuple_cost = 0 SET min_parallel_table_scan_size = 0
  SET min_parallel_index_scan_size = 0 SET parallel_leader_participation = off;
ALTER FUNCTION landdb.unsupplied(date)
  SET parallel_setup_cost = 0 SET parallel_tuple_cost = 0 SET min_parallel_table_scan_size = 0
  SET min_parallel_index_scan_size = 0 SET parallel_leader_participation = off;
