-- landdb schema, migration 0009: a re-analysis shares its parent's unchanged results.
--
-- A re-analysis of the same date after an import recomputes the batches and supplies a change
-- can affect; it used to copy every other figure, piece and flag of the previous run into the new
-- run (about a third of its time at 200 000 batches). Now the runs of one line of re-analyses (a
-- full run and the incremental runs made after it, `lineage_id`) share rows: a result row belongs
-- to the run that computed it (`run_id`) and to each later run of its lineage up to
-- `until_run_id` (NULL: still current), which a later run sets when it recomputes that row's
-- subject. The results of a run are therefore read with landdb.run_flags(run),
-- landdb.run_batch_rows(run) and landdb.run_piece_rows(run) (or the v_ views of the latest run),
-- no longer with "WHERE run_id = run" (which now gives only what that run computed itself).
--
-- Existing runs keep the complete copies they hold: each becomes a lineage of its own.

ALTER TABLE landdb.analysis_run ADD COLUMN lineage_id bigint;
UPDATE landdb.analysis_run SET lineage_id = id;
ALTER TABLE landdb.analysis_run ALTER COLUMN lineage_id SET NOT NULL;
CREATE INDEX ON landdb.analysis_run (lineage_id, id);
COMMENT ON COLUMN landdb.analysis_run.lineage_id IS '所属分析序列（全量运行及其后的增量运行，共用未变的结果） | lineage: a full run and the re-analyses after it, which share unchanged results';

ALTER TABLE landdb.analysis_batch ADD COLUMN until_run_id bigint;
ALTER TABLE landdb.analysis_piece ADD COLUMN until_run_id bigint;
ALTER TABLE landdb.flag ADD COLUMN until_run_id bigint;
COMMENT ON COLUMN landdb.analysis_batch.run_id IS '计算此行的分析运行 | the run that computed this row';
COMMENT ON COLUMN landdb.analysis_piece.run_id IS '计算此行的分析运行 | the run that computed this row';
COMMENT ON COLUMN landdb.flag.run_id IS '计算此行的分析运行 | the run that computed this row';
COMMENT ON COLUMN landdb.analysis_batch.until_run_id IS '同一序列中仍含此行的最后一次运行（空：至今） | last run of the lineage holding this row (NULL: still current)';
COMMENT ON COLUMN landdb.analysis_piece.until_run_id IS '同一序列中仍含此行的最后一次运行（空：至今） | last run of the lineage holding this row (NULL: still current)';
COMMENT ON COLUMN landdb.flag.until_run_id IS '同一序列中仍含此行的最后一次运行（空：至今） | last run of the lineage holding this row (NULL: still current)';
COMMENT ON COLUMN landdb.analysis_run.parent_run_id IS '增量分析所依据的上次运行 | previous run an incremental run shares unchanged results with';
COMMENT ON COLUMN landdb.analysis_run.n_copied IS '沿用上次结果的批次数 | batches whose results are shared with the previous run';
-- (run_id, rule) is the prefix of the unique (run_id, rule, subject): one index less to write
DROP INDEX IF EXISTS landdb.flag_run_id_rule_idx;

-- Deleting runs keeps what the remaining runs of their lineages hold: a row computed by a deleted
-- run passes to the first remaining run of its lineage that held it (or goes), a row's last run
-- becomes the last remaining run that held it, and a row held by the newest remaining run is
-- current again.
CREATE OR REPLACE FUNCTION landdb._delete_run_results() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t text;
BEGIN
  CREATE TEMP TABLE _landdb_gone_lineage ON COMMIT DROP AS
    SELECT g.lineage_id AS lineage, array_agg(g.id) AS gone,
           (SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}') FROM landdb.analysis_run r
            WHERE r.lineage_id = g.lineage_id) AS alive
    FROM gone g GROUP BY g.lineage_id;
  FOREACH t IN ARRAY ARRAY['analysis_batch', 'analysis_piece', 'flag'] LOOP
    EXECUTE format($q$
      WITH x AS (
        SELECT r.ctid AS row_ctid,
               (SELECT min(a) FROM unnest(l.alive) a
                WHERE a >= r.run_id AND (r.until_run_id IS NULL OR a <= r.until_run_id)) AS first_run,
               CASE WHEN r.until_run_id IS NULL
                      OR r.until_run_id >= (SELECT max(a) FROM unnest(l.alive) a) THEN NULL
                    ELSE (SELECT max(a) FROM unnest(l.alive) a WHERE a <= r.until_run_id) END AS last_run
        FROM _landdb_gone_lineage l
        JOIN landdb.%1$I r ON r.run_id = ANY (l.gone || l.alive)
      ), d AS (
        DELETE FROM landdb.%1$I r USING x WHERE r.ctid = x.row_ctid AND x.first_run IS NULL
      )
      UPDATE landdb.%1$I r SET run_id = x.first_run, until_run_id = x.last_run
      FROM x
      WHERE r.ctid = x.row_ctid AND x.first_run IS NOT NULL
        AND (r.run_id, r.until_run_id) IS DISTINCT FROM (x.first_run, x.last_run)$q$, t);
  END LOOP;
  DROP TABLE _landdb_gone_lineage;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION landdb._delete_run_results() IS '删除分析运行时处理其结果（同序列其余运行仍含的保留） | delete a run''s results with the run, keeping what the other runs of its lineage hold';
