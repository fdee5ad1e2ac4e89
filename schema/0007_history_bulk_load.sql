-- landdb schema, migration 0007: an initial bulk load is recorded in the history once.
--
-- A load into an empty table (landdb.bulk_index_off … bulk_index_on) used to write one history
-- row per record: a third of the server's work when a million parcels are loaded, to say only
-- "inserted by this run". Such a load is now one history row, op 'L' (批量载入), without a row
-- id: new_values holds the number of rows and the first and last id, which are every id of the
-- table after the load (it was empty, and locked against other writers throughout).
-- Re-analysis treats a bulk load as a change to everything; landdb.row_as_of knows that a row in
-- that id range did not exist before the load.

ALTER TABLE landdb.history ALTER COLUMN row_id DROP NOT NULL;
ALTER TABLE landdb.history DROP CONSTRAINT history_op_check;
ALTER TABLE landdb.history ADD CONSTRAINT history_op_check CHECK (op IN ('I', 'U', 'D', 'L'));
ALTER TABLE landdb.history ADD CONSTRAINT history_row_id_check CHECK ((op = 'L') = (row_id IS NULL));
COMMENT ON COLUMN landdb.history.op IS '操作（I 新增、U 修改、D 删除、L 空表批量载入） | operation (L: bulk load into an empty table)';
COMMENT ON COLUMN landdb.history.row_id IS '记录编号（批量载入为空，编号范围见新值） | row id (bulk load: none, the id range is in new_values)';
