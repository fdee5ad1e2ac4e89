-- landdb schema, migration 0004: a business key for disposal actions, so that re-importing a
-- work ledger (处置进展) changes nothing.
ALTER TABLE landdb.disposal_action
    ADD CONSTRAINT disposal_action_plan_date_action_key UNIQUE (plan_id, action_date, action);
