-- Functions every client may call: version, working CRS, units, keys.
-- Re-created on every upgrade.

CREATE OR REPLACE FUNCTION landdb.schema_version() RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT max(version) FROM landdb.schema_migration $$;
COMMENT ON FUNCTION landdb.schema_version() IS '数据库结构版本（最新迁移号） | schema version (latest migration applied)';

CREATE OR REPLACE FUNCTION landdb.working_srid() RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT value::integer FROM landdb.db_info WHERE key = 'srid' $$;
COMMENT ON FUNCTION landdb.working_srid() IS '工作坐标系 EPSG 代码 | working projected CRS of this database';

CREATE OR REPLACE FUNCTION landdb.setting(k text) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT value FROM landdb.setting WHERE key = k $$;
COMMENT ON FUNCTION landdb.setting(text) IS '读取参数 | read a setting';

CREATE OR REPLACE FUNCTION landdb.m2_to_mu(m2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT m2 * 15.0 / 10000.0 $$;
COMMENT ON FUNCTION landdb.m2_to_mu(double precision) IS '平方米换算为亩 | m² to mu (1 亩 = 10000/15 m²)';

CREATE OR REPLACE FUNCTION landdb.m2_to_ha(m2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT m2 / 10000.0 $$;
COMMENT ON FUNCTION landdb.m2_to_ha(double precision) IS '平方米换算为公顷 | m² to hectares';

-- 批准文号 for matching, the same key as landdb.fields.normalize_pzwh: NFKC (full-width → half-width),
-- every bracket style → 〔〕, no spaces, no 第 after the year, no trailing 号, upper case.
CREATE OR REPLACE FUNCTION landdb.normalize_pzwh(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT upper(regexp_replace(regexp_replace(regexp_replace(
           translate(normalize(coalesce(t, ''), NFKC),
                     '〔[(（【〖［｛{〈<《⦅⟦﹝〕])）】〗］｝}〉>》⦆⟧﹞',
                     '〔〔〔〔〔〔〔〔〔〔〔〔〔〔〔〕〕〕〕〕〕〕〕〕〕〕〕〕〕〕'),
           '\s+', '', 'g'), '〕第([0-9])', '〕\1', 'g'), '号$', ''))
$$;
COMMENT ON FUNCTION landdb.normalize_pzwh(text) IS '批准文号规范化（统一括号、全角转半角、去空格和“第”“号”） | normalise an approval number for matching';

-- Gone: the history triggers compare the columns themselves (a quarter of the time).
DROP FUNCTION IF EXISTS landdb.jsonb_changed(jsonb, jsonb);

-- Two geometries are the same record shape when equal within 1 mm (vertex order and float noise
-- between formats — 部标 TXT, shapefile, GeoPackage — are not changes).
CREATE OR REPLACE FUNCTION landdb.geom_same(a geometry, b geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT a IS NOT DISTINCT FROM b
      OR (a IS NOT NULL AND b IS NOT NULL AND ST_Equals(ST_SnapToGrid(a, 0.001), ST_SnapToGrid(b, 0.001)))
$$;
COMMENT ON FUNCTION landdb.geom_same(geometry, geometry) IS '两个图形在 1 毫米内相同 | equal within 1 mm';
