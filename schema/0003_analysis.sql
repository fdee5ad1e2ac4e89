-- landdb schema, migration 0003: what the analysis core (sql/40…80) needs beyond 0001.
--   * analysis_run keeps the watermark of the history it saw, so a later run of the same as-of
--     date can recompute only what changed since (incremental analysis);
--   * analysis_batch keeps the no-geometry parts of its figures (counted from records only);
--   * a flag keeps the ids of the batches and supplies it is about (for incremental copying,
--     and so the map can select them);
--   * settings for the periods the rules count, as data.

ALTER TABLE landdb.analysis_run
    ADD COLUMN parent_run_id  bigint REFERENCES landdb.analysis_run (id) ON DELETE SET NULL,
    ADD COLUMN history_id     bigint,
    ADD COLUMN snapshot       txid_snapshot,
    ADD COLUMN txid           bigint,
    ADD COLUMN rules_checksum text,
    ADD COLUMN n_recomputed   integer,
    ADD COLUMN n_copied       integer;
COMMENT ON COLUMN landdb.analysis_run.parent_run_id IS '增量分析所依据的上次运行 | previous run an incremental run copied from';
COMMENT ON COLUMN landdb.analysis_run.history_id IS '运行开始时的最大修改历史编号 | highest history id when the run started';
COMMENT ON COLUMN landdb.analysis_run.snapshot IS '运行开始时的事务快照 | transaction snapshot when the run started';
COMMENT ON COLUMN landdb.analysis_run.txid IS '运行所在事务号 | transaction the run ran in';
COMMENT ON COLUMN landdb.analysis_run.rules_checksum IS '规则版本（sql 目录校验和） | checksum of the rules (sql/) used';
COMMENT ON COLUMN landdb.analysis_run.n_recomputed IS '重新计算的批次数 | batches recomputed';
COMMENT ON COLUMN landdb.analysis_run.n_copied IS '沿用上次结果的批次数 | batches copied from the previous run';

ALTER TABLE landdb.analysis_batch
    ADD COLUMN pzwh_key            text,
    ADD COLUMN nogeom_supplied_m2  double precision NOT NULL DEFAULT 0,
    ADD COLUMN nogeom_withdrawn_m2 double precision NOT NULL DEFAULT 0;
COMMENT ON COLUMN landdb.analysis_batch.pzwh_key IS '批准文号（规范化） | normalised approval number';
COMMENT ON COLUMN landdb.analysis_batch.nogeom_supplied_m2 IS '无图形供地按登记面积计入（平方米） | supplied area counted from records of supplies without geometry (m²)';
COMMENT ON COLUMN landdb.analysis_batch.nogeom_withdrawn_m2 IS '无图形撤回按申报面积计入（平方米） | withdrawn area counted from records of withdrawals without geometry (m²)';

ALTER TABLE landdb.flag
    ADD COLUMN batch_ids  bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN supply_ids bigint[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN landdb.flag.batch_ids IS '涉及批次编号 | ids of the batches the flag is about';
COMMENT ON COLUMN landdb.flag.supply_ids IS '涉及供地编号 | ids of the supplies the flag is about';
CREATE INDEX ON landdb.flag (run_id, rule);
CREATE INDEX ON landdb.analysis_piece (run_id, batch_id);

-- changes not yet seen by a run are found by transaction id as well as by history id
CREATE INDEX ON landdb.history (txid);
-- lookups the overlay and the rules make per batch or per supply
CREATE INDEX ON landdb.acquisition (batch_id);
CREATE INDEX ON landdb.idle_case (supply_id);
CREATE INDEX ON landdb.disposal_plan (idle_case_id);
CREATE INDEX ON landdb.supply (contract_date);

INSERT INTO landdb.setting (key, value, description, description_en) VALUES
 ('idle_years',            '1', '闲置土地：约定动工日期后满几年未动工（第二条）；开竣工逾期提醒至此为止',
                                'idle_not_started: full years after the agreed start; *_overdue last until then'),
 ('idle_reclaim_years',    '2', '闲置土地：满几年未动工可无偿收回（第十四条）', 'idle_reclaim: full years after the agreed start'),
 ('idle_suspended_years',  '1', '闲置土地：中止开发满几年（第二条）', 'idle_stalled: full years of suspension'),
 ('five_year_window',      '5', '增存挂钩：统计前几个年度批准的批次', 'five-year supply rate: years of approvals pooled'),
 ('supply_years_window',   '5', '尚可供应年限：按近几年年均供地计算', 'years of supply: years averaged'),
 ('new_land_sources',      '["新增"]', '土地来源为新增建设用地的取值（供地须在批次范围内）',
                                'land_source values meaning newly approved land (supply_outside_approval)')
ON CONFLICT (key) DO NOTHING;
