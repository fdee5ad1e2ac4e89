-- landdb schema, migration 0006: lighter result tables for analysis runs.
--
-- Results (analysis_batch, analysis_piece, flag) are written only by landdb.analyze, in bulk:
-- tens of thousands of rows per run, most of them copied from the previous run on a
-- re-analysis. A foreign key checks each of those rows against analysis_run one by one, and
-- the CHECK on piece geometries tested validity a second time (analyze makes every piece valid
-- before it inserts it). The foreign keys give way to one statement trigger that deletes a
-- run's results with the run, which is all they were for.

ALTER TABLE landdb.analysis_batch DROP CONSTRAINT analysis_batch_run_id_fkey;
ALTER TABLE landdb.analysis_piece DROP CONSTRAINT analysis_piece_run_id_fkey;
ALTER TABLE landdb.flag DROP CONSTRAINT flag_run_id_fkey;
ALTER TABLE landdb.analysis_piece DROP CONSTRAINT analysis_piece_geom_check;
ALTER TABLE landdb.analysis_piece ADD CONSTRAINT analysis_piece_geom_not_empty CHECK (NOT ST_IsEmpty(geom));

-- (SECURITY DEFINER: whoever may delete a run deletes its results, as the cascade allowed)
CREATE FUNCTION landdb._delete_run_results() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  DELETE FROM landdb.analysis_batch a USING gone g WHERE a.run_id = g.id;
  DELETE FROM landdb.analysis_piece p USING gone g WHERE p.run_id = g.id;
  DELETE FROM landdb.flag f USING gone g WHERE f.run_id = g.id;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION landdb._delete_run_results() IS '删除分析运行时一并删除其结果 | delete a run''s results with the run';

CREATE TRIGGER analysis_run_delete_results AFTER DELETE ON landdb.analysis_run
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION landdb._delete_run_results();
