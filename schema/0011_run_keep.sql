-- landdb schema, migration 0011: runs kept on purpose (留存), so that the others can be pruned.
--
-- Every analysis run is stored with its results, so that a published list or bulletin can be
-- re-created from its run. Runs superseded by a later run of the same date pile up (the flag
-- table of a 200 000-batch county held 2.2 GB after eleven runs, and a run then took about 10 %
-- longer): landdb.prune_runs deletes them, except those marked `kept` here, with a note saying
-- why (the bulletin they were published in). A kept run cannot be deleted until it is unmarked.

ALTER TABLE landdb.analysis_run
    ADD COLUMN kept boolean NOT NULL DEFAULT false,
    ADD COLUMN note text;
COMMENT ON COLUMN landdb.analysis_run.kept IS '留存（不被清理、不可删除，如已据以发布通报） | kept: never pruned nor deleted (e.g. a bulletin was published from it)';
COMMENT ON COLUMN landdb.analysis_run.note IS '备注（如据以发布的通报） | note (e.g. the bulletin published from it)';

CREATE FUNCTION landdb._refuse_kept_run_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '分析运行 % 已标记留存（%），不能删除；先取消留存 [run % is kept: unkeep it first]',
    OLD.id, coalesce(OLD.note, '无备注'), OLD.id
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
COMMENT ON FUNCTION landdb._refuse_kept_run_delete() IS '拒绝删除留存的分析运行 | refuse to delete a kept run';

CREATE TRIGGER analysis_run_refuse_kept_delete BEFORE DELETE ON landdb.analysis_run
  FOR EACH ROW WHEN (OLD.kept) EXECUTE FUNCTION landdb._refuse_kept_run_delete();
