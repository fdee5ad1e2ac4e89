-- landdb schema, migration 0008: a supply's 坐落 (location) is a column of its own.
--
-- Supply ledgers and parcel files carry 坐落 / 宗地坐落 / ZL (the field alias table maps them to
-- "location"), but the supply table had no column for it, so every record kept it in the extra
-- JSON, out of sight in QGIS's attribute table and form.
ALTER TABLE landdb.supply ADD COLUMN location text;
COMMENT ON COLUMN landdb.supply.location IS '坐落 | location (ZL)';
-- what earlier imports put in extra: moved, not edited (no history rows; nothing the analysis reads)
ALTER TABLE landdb.supply DISABLE TRIGGER USER;
UPDATE landdb.supply SET location = extra ->> '坐落', extra = extra - '坐落'
WHERE extra ? '坐落';
ALTER TABLE landdb.supply ENABLE TRIGGER USER;
