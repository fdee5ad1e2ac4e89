-- Flag rules (domain.md "Rules"), one function per rule id. Re-created on every upgrade.
--
--   landdb.rule_<id>(as_of date, run_id bigint DEFAULT NULL,
--                    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
--   → (rule, subject, severity, area_m2, message, details, township, geom, batch_ids, supply_ids)
--
-- run_id: read the remainder figures and pieces of that stored run (analyze passes its own run);
-- NULL computes them now. The scopes restrict a rule to the subjects an incremental run must
-- recompute (NULL: all). Thresholds are settings. Periods of years count as 民法典 Art. 201–202
-- say: "n full years after D" are complete once landdb.period_end(D, n) is over.
--
-- Subjects: batch → approval_batch.pzwh_key; supply → supply.supply_key; satellite patch →
-- rs_patch.patch_no; survey patch → 'DLTB:' || survey_year || ':' || patch_no; a pair → the two
-- keys sorted and joined by ' | '; a remnant → its batches' pzwh_keys sorted and joined by '+',
-- then '@x,y' of its centroid rounded to the metre; a disposal plan → plan_no.

-- ---------------------------------------------------------------- catalogue
-- subject_kind tells analyze how to recompute incrementally: 'batch' and 'batch_pair' flags are
-- recomputed for the batches a change can affect, 'supply' and 'supply_pair' for the supplies,
-- 'mixed' for both, 'always' every time.
-- (views use it: CREATE OR REPLACE, never DROP)
CREATE OR REPLACE FUNCTION landdb.rule_catalog()
RETURNS TABLE (rule text, severity text, label text, label_en text, subject_kind text, sort integer)
LANGUAGE sql IMMUTABLE AS $$
  VALUES
  ('unsupplied_over_3y',          '中', '三年以上批而未供',               'unsupplied for over three years',        'batch',       1),
  ('unacquired',                  '高', '批而未征（满两年，批文失效）',     'approved, not expropriated: lapsed',     'batch',       2),
  ('acquired_unsupplied_over_2y', '高', '征而未供满两年',                 'expropriated, unsupplied for two years', 'batch',       3),
  ('withdrawal_candidate',        '中', '可撤回（调整）批文',             'candidate for withdrawal of approval',   'batch',       4),
  ('used_before_supply',          '高', '未供即用',                       'used before supply',                     'batch',       5),
  ('remnant_parcel',              '中', '边角地、插花地、夹心地',         'remnant parcel',                         'always',      6),
  ('start_due',                   '低', '开工提醒',                       'start due',                              'supply',      7),
  ('completion_due',              '低', '竣工提醒',                       'completion due',                         'supply',      8),
  ('start_overdue',               '中', '逾期未开工',                     'start overdue',                          'supply',      9),
  ('completion_overdue',          '中', '逾期未竣工',                     'completion overdue',                     'supply',     10),
  ('idle_not_started',            '高', '疑似闲置：满一年未动工',         'suspected idle: not started',            'supply',     11),
  ('idle_reclaim',                '高', '满两年未动工：无偿收回候选',     'not started for two years: reclaim',     'supply',     12),
  ('idle_stalled',                '高', '疑似闲置：中止开发满一年',       'suspected idle: development stalled',    'supply',     13),
  ('supply_outside_approval',     '低', '新增建设用地供地超出批准范围',   'supply outside approval',                'supply',     14),
  ('supply_overlap',              '低', '供地宗地重叠',                   'overlapping supplies',                   'supply_pair', 15),
  ('batch_overlap',               '低', '批次范围重叠',                   'overlapping batches',                    'batch_pair', 16),
  ('supply_no_geometry',          '低', '供地无宗地图形',                 'supply without geometry',                'supply',     17),
  ('supply_rate_mismatch',        '低', '空间与登记已供面积不符',         'spatial and recorded supply differ',     'batch',      18),
  ('area_mismatch',               '低', '申报面积与图形面积不符',         'declared area differs from geometry',    'mixed',      19),
  ('disposal_overdue',            '中', '处置方案逾期未销号',             'disposal plan overdue',                  'always',     20)
$$;
COMMENT ON FUNCTION landdb.rule_catalog() IS '规则目录（编号、严重程度、名称、对象类型） | rule catalogue';

-- ---------------------------------------------------------------- helpers
-- A number for a message: rounded, without trailing zeros.
CREATE OR REPLACE FUNCTION landdb._n(x double precision, digits integer DEFAULT 2) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN x IS NULL THEN '—'
              ELSE trim(trailing '.' FROM trim(trailing '0' FROM round(x::numeric, digits)::text)) END
$$;

-- A flag's geometry: polygonal, multi, or NULL.
CREATE OR REPLACE FUNCTION landdb._flag_geom(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN g IS NULL OR ST_IsEmpty(g) THEN NULL ELSE ST_Multi(ST_CollectionExtract(g, 3)) END
$$;

-- The union of remainder pieces (one piece: itself), as a MultiPolygon: those of a batch, or of a
-- 边角地 cluster. The pieces are valid, so landdb._cut_union (the zero buffer of their collection)
-- is their union, in one noding (3 023 batches of the 200 000-batch county: 52 ms against 82 ms
-- for ST_Union; with it and the point test of landdb.is_sliver, remnant_parcel over its 115 408
-- clusters 7.5–7.9 → 4.3–4.6 s; the same geometry by ST_Equals).
CREATE OR REPLACE FUNCTION landdb._pieces_union(gs geometry[]) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_Multi(landdb._cut_union(gs))
$$;

-- The least width, each way, of the box common to two polygons that overlap by a piece
-- surviving the sliver filter (landdb.drop_slivers with this width). Such a piece lies in both
-- bounding boxes, and it holds a disc about the sliver width across: larger than the area bound of
-- landdb.is_sliver, it has a point farther than half the width from its boundary; a point on its
-- surface farther than 0.55 × the width is one; its inward buffer by half the width not being
-- empty, a point of that buffer is at least 0.92 × half the width from its boundary (GEOS draws
-- the buffer's arcs as chords at quad_segs=2, cos 22.5° = 0.924, and simplifies the input by 1 % of
-- the distance). So the common box is at least 0.92 × the width across both ways: 0.8 × here, with
-- room for rounding. (landdb._may_overlap on geometries, landdb._supply_pairs on boxes.)
CREATE OR REPLACE FUNCTION landdb._overlap_span(width double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 0.8 * width
$$;

-- Can a and b overlap by a piece that survives the sliver filter (landdb.drop_slivers: width,
-- min_area) and by min_m2 in all? Their common box is then at least landdb._overlap_span(width)
-- across both ways, and at least min_m2 large. An exact filter before the overlay that reads
-- bounding boxes only: neighbours sharing an edge, or overlapping by a strip narrower than that,
-- fail it (of the supplies of the 20 000-batch sample county, 19 366 pairs pass at half the width,
-- 257 at 0.8 ×).
CREATE OR REPLACE FUNCTION landdb._may_overlap(a geometry, b geometry, width double precision, min_m2 double precision)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT least(ST_XMax(a), ST_XMax(b)) - greatest(ST_XMin(a), ST_XMin(b)) >= landdb._overlap_span(width)
     AND least(ST_YMax(a), ST_YMax(b)) - greatest(ST_YMin(a), ST_YMin(b)) >= landdb._overlap_span(width)
     AND (least(ST_XMax(a), ST_XMax(b)) - greatest(ST_XMin(a), ST_XMin(b)))
         * (least(ST_YMax(a), ST_YMax(b)) - greatest(ST_YMin(a), ST_YMin(b))) >= 0.999 * min_m2
$$;

-- The remainder of each batch of a run as one geometry: its pieces (of one status, or all), of the
-- batches of a scope (NULL: all; a scoped call reads the stored pieces of its batches through the
-- index). Rules join it to the batches they flag (a hash join: never a CTE joined to a CTE).
DROP FUNCTION IF EXISTS landdb._batch_piece_geom(date, bigint, text);
DROP FUNCTION IF EXISTS landdb._batch_piece_geom(date, bigint, text, bigint[]);
CREATE FUNCTION landdb._batch_piece_geom(as_of date, run_id bigint, status text DEFAULT NULL,
                                         scope bigint[] DEFAULT NULL)
RETURNS TABLE (batch_id bigint, geom geometry)
LANGUAGE sql STABLE ROWS 10000 AS $$
  SELECT p.batch_id,
         CASE WHEN $3 IS NULL THEN landdb._pieces_union(array_agg(p.geom ORDER BY p.piece_no))
              -- pieces of one status never share an edge: collecting them is enough
              ELSE ST_Multi(ST_CollectionExtract(ST_Collect(p.geom ORDER BY p.piece_no), 3)) END
  FROM (SELECT r.batch_id, r.piece_no, r.status, r.geom FROM landdb.run_pieces($1, $2) r WHERE $4 IS NULL
        UNION ALL
        SELECT a.batch_id, a.piece_no, a.status, a.geom::geometry FROM landdb.run_piece_rows($2) a
        WHERE a.batch_id = ANY ($4)
        UNION ALL
        SELECT r.batch_id, r.piece_no, r.status, r.geom FROM landdb.run_pieces($1, NULL) r
        WHERE $2 IS NULL AND r.batch_id = ANY ($4)) p
  WHERE $3 IS NULL OR p.status = $3
  GROUP BY p.batch_id
$$;
COMMENT ON FUNCTION landdb._batch_piece_geom(date, bigint, text, bigint[]) IS '各批次的批而未供图形（内部） | remainder geometry of each batch of a run (internal)';

-- The state of every supply as of a date: in force, the agreed dates in force (the latest
-- supplementary agreement signed by as_of that re-fixes a date overrides the contract), the
-- latest development record observed by as_of, and the recorded idle case.
-- Each table is read in one of two ways, chosen by a one-time filter: whole (no scope), or by the
-- ids of the scope through its index. So a scoped call costs in proportion to its scope even when
-- planned without the parameter values (inside a function), where "scope IS NULL OR id = ANY
-- (scope)" would scan every row and search the array for each.
-- (landdb._supply_state: the query, inlined into landdb._supply_date_flags, which may also ask for
-- the supplies of ids lo (included) to hi (excluded; NULL: no bound); landdb.supply_state runs it
-- without JIT for other callers)
DROP FUNCTION IF EXISTS landdb.supply_state(date, bigint[]);
DROP FUNCTION IF EXISTS landdb._supply_state(date, bigint[]);
DROP FUNCTION IF EXISTS landdb._supply_state(date, bigint[], bigint, bigint);
CREATE FUNCTION landdb._supply_state(as_of date, scope bigint[] DEFAULT NULL, lo bigint DEFAULT NULL,
                                     hi bigint DEFAULT NULL)
RETURNS TABLE (
    supply_id bigint, supply_key text, dzjgh text, project_name text, land_user text, supply_method text,
    land_use text, price numeric, mortgagee text, township text, area_m2 double precision,
    area_ha double precision, geom geometry, contract_date date, in_force boolean,
    agreed_start date, start_source text, agreed_completion date, completion_source text,
    contract_start date, contract_completion date,
    observed_date date, actual_start date, actual_completion date, developed_area numeric,
    invested numeric, total_investment numeric, suspended_since date, started boolean, completed boolean,
    idle_cause text, case_no text, determined_date date, determined boolean)
LANGUAGE sql STABLE AS $$
  SELECT s.id, s.supply_key, s.dzjgh, s.project_name, s.land_user, s.supply_method, s.land_use, s.price,
         s.mortgagee, s.township,
         coalesce(s.area_m2, s.area::double precision * 10000),
         coalesce(s.area::double precision, s.area_m2 / 10000),
         s.geom, s.contract_date, landdb.in_force(s.contract_date, s.reclaimed_date, $1),
         coalesce(sa.agreed_start, s.agreed_start),
         CASE WHEN sa.agreed_start IS NOT NULL THEN '补充协议 ' || sa.agreement_no
              WHEN s.agreed_start IS NOT NULL THEN
                CASE WHEN strpos(s.supply_method, '划拨') > 0 THEN '划拨决定书' ELSE '供地合同' END END,
         coalesce(sc.agreed_completion, s.agreed_completion),
         CASE WHEN sc.agreed_completion IS NOT NULL THEN '补充协议 ' || sc.agreement_no
              WHEN s.agreed_completion IS NOT NULL THEN
                CASE WHEN strpos(s.supply_method, '划拨') > 0 THEN '划拨决定书' ELSE '供地合同' END END,
         s.agreed_start, s.agreed_completion,
         dv.observed_date, dv.actual_start, dv.actual_completion, dv.developed_area, dv.invested,
         dv.total_investment, dv.suspended_since,
         coalesce(dv.actual_start <= $1, false), coalesce(dv.actual_completion <= $1, false),
         ic.idle_cause, coalesce(dt.case_no, ic.case_no), dt.determined_date, dt.case_no IS NOT NULL
  FROM (SELECT * FROM landdb.supply WHERE $2 IS NULL AND $3 IS NULL
        UNION ALL SELECT * FROM landdb.supply WHERE id = ANY ($2)
        UNION ALL SELECT * FROM landdb.supply WHERE id >= $3 AND (id < $4 OR $4 IS NULL)) s
  LEFT JOIN (SELECT DISTINCT ON (a.supply_id) a.supply_id, a.agreed_start, a.agreement_no
             FROM (SELECT * FROM landdb.supplementary_agreement WHERE $2 IS NULL AND $3 IS NULL
                   UNION ALL SELECT * FROM landdb.supplementary_agreement WHERE supply_id = ANY ($2)
                   UNION ALL SELECT * FROM landdb.supplementary_agreement
                             WHERE supply_id >= $3 AND (supply_id < $4 OR $4 IS NULL)) a
             WHERE a.agreement_date <= $1 AND a.agreed_start IS NOT NULL
             ORDER BY a.supply_id, a.agreement_date DESC, a.id DESC) sa ON sa.supply_id = s.id
  LEFT JOIN (SELECT DISTINCT ON (a.supply_id) a.supply_id, a.agreed_completion, a.agreement_no
             FROM (SELECT * FROM landdb.supplementary_agreement WHERE $2 IS NULL AND $3 IS NULL
                   UNION ALL SELECT * FROM landdb.supplementary_agreement WHERE supply_id = ANY ($2)
                   UNION ALL SELECT * FROM landdb.supplementary_agreement
                             WHERE supply_id >= $3 AND (supply_id < $4 OR $4 IS NULL)) a
             WHERE a.agreement_date <= $1 AND a.agreed_completion IS NOT NULL
             ORDER BY a.supply_id, a.agreement_date DESC, a.id DESC) sc ON sc.supply_id = s.id
  LEFT JOIN (SELECT DISTINCT ON (d.supply_id) d.*
             FROM (SELECT * FROM landdb.development WHERE $2 IS NULL AND $3 IS NULL
                   UNION ALL SELECT * FROM landdb.development WHERE supply_id = ANY ($2)
                   UNION ALL SELECT * FROM landdb.development
                             WHERE supply_id >= $3 AND (supply_id < $4 OR $4 IS NULL)) d
             WHERE d.observed_date <= $1
             ORDER BY d.supply_id, d.observed_date DESC, d.id DESC) dv ON dv.supply_id = s.id
  LEFT JOIN (SELECT DISTINCT ON (c.supply_id) c.supply_id, c.idle_cause, c.case_no
             FROM (SELECT * FROM landdb.idle_case WHERE $2 IS NULL AND $3 IS NULL
                   UNION ALL SELECT * FROM landdb.idle_case WHERE supply_id = ANY ($2)
                   UNION ALL SELECT * FROM landdb.idle_case
                             WHERE supply_id >= $3 AND (supply_id < $4 OR $4 IS NULL)) c
             WHERE coalesce(c.determined_date, c.notice_date, $1) <= $1
             ORDER BY c.supply_id, coalesce(c.determined_date, c.notice_date) DESC NULLS LAST, c.id DESC) ic
         ON ic.supply_id = s.id
  LEFT JOIN (SELECT DISTINCT ON (c.supply_id) c.supply_id, c.case_no, c.determined_date
             FROM (SELECT * FROM landdb.idle_case WHERE $2 IS NULL AND $3 IS NULL
                   UNION ALL SELECT * FROM landdb.idle_case WHERE supply_id = ANY ($2)
                   UNION ALL SELECT * FROM landdb.idle_case
                             WHERE supply_id >= $3 AND (supply_id < $4 OR $4 IS NULL)) c
             WHERE c.determined_date <= $1
             ORDER BY c.supply_id, c.determined_date DESC, c.id DESC) dt ON dt.supply_id = s.id
$$;
COMMENT ON FUNCTION landdb._supply_state(date, bigint[], bigint, bigint) IS '供地在基准日的状态（内部） | state of each supply as of a date (internal)';

CREATE FUNCTION landdb.supply_state(as_of date, scope bigint[] DEFAULT NULL)
RETURNS TABLE (
    supply_id bigint, supply_key text, dzjgh text, project_name text, land_user text, supply_method text,
    land_use text, price numeric, mortgagee text, township text, area_m2 double precision,
    area_ha double precision, geom geometry, contract_date date, in_force boolean,
    agreed_start date, start_source text, agreed_completion date, completion_source text,
    contract_start date, contract_completion date,
    observed_date date, actual_start date, actual_completion date, developed_area numeric,
    invested numeric, total_investment numeric, suspended_since date, started boolean, completed boolean,
    idle_cause text, case_no text, determined_date date, determined boolean)
LANGUAGE sql STABLE AS $$
  SELECT * FROM landdb._supply_state($1, $2)
$$;
COMMENT ON FUNCTION landdb.supply_state(date, bigint[]) IS '供地在基准日的状态（有效约定开竣工日期、最新巡查记录、闲置认定） | state of each supply as of a date';

-- ================================================================ batch rules
DROP FUNCTION IF EXISTS landdb.rule_unsupplied_over_3y(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_unsupplied_over_3y(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  -- (MATERIALIZED: read once; inlined, the settings would be read again for every batch)
  WITH cfg AS MATERIALIZED (SELECT $1 AS d, landdb.setting_num('unsupplied_years') AS n,
                                   landdb.setting_num('sliver_area_m2') AS min_m2)
  SELECT 'unsupplied_over_3y', b.pzwh_key, '中', b.unsupplied_m2,
         format('批准已满%s年，仍有批而未供土地%s亩（供地率%s%%）', b.fy, landdb._n(landdb.m2_to_mu(b.unsupplied_m2)),
                landdb._n(b.supply_rate * 100, 1)),
         jsonb_build_object('pzwh', b.pzwh, 'approval_date', b.approval_date, 'full_years', b.fy,
                            'approved_m2', b.approved_m2, 'supplied_m2', b.supplied_m2, 'withdrawn_m2', b.withdrawn_m2,
                            'unsupplied_m2', b.unsupplied_m2, 'unsupplied_mu', landdb.m2_to_mu(b.unsupplied_m2),
                            'unacquired_m2', b.unacquired_m2, 'acquired_unsupplied_m2', b.acquired_unsupplied_m2,
                            'supply_rate', b.supply_rate),
         b.township, pg.geom, ARRAY[b.batch_id], '{}'::bigint[]
  FROM (SELECT r.*, landdb.full_years(r.approval_date, cfg.d) AS fy
        FROM cfg, landdb._run_batches($1, $2, $3) r
        WHERE r.unsupplied_m2 > cfg.min_m2 AND cfg.d > landdb.period_end(r.approval_date, cfg.n)) b
  LEFT JOIN landdb._batch_piece_geom($1, $2, NULL, $3) pg ON pg.batch_id = b.batch_id
$$;
COMMENT ON FUNCTION landdb.rule_unsupplied_over_3y(date, bigint, bigint[], bigint[]) IS '规则：三年以上批而未供 | rule unsupplied_over_3y';

DROP FUNCTION IF EXISTS landdb.rule_unacquired(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_unacquired(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS MATERIALIZED (SELECT $1 AS d, landdb.setting_num('unacquired_years') AS n,
                                   landdb.setting_num('sliver_area_m2') AS min_m2)
  SELECT 'unacquired', b.pzwh_key, '高', b.unacquired_m2,
         format('批准已满%s年，集体土地%s亩仍未完成征收，农用地转用和土地征收批准文件可能已自动失效（国发〔2004〕28号）',
                b.fy, landdb._n(landdb.m2_to_mu(b.unacquired_m2))),
         jsonb_build_object('pzwh', b.pzwh, 'approval_date', b.approval_date, 'full_years', b.fy,
                            'unacquired_m2', b.unacquired_m2, 'unacquired_mu', landdb.m2_to_mu(b.unacquired_m2),
                            'unsupplied_m2', b.unsupplied_m2),
         b.township, pg.geom, ARRAY[b.batch_id], '{}'::bigint[]
  FROM (SELECT r.*, landdb.full_years(r.approval_date, cfg.d) AS fy
        FROM cfg, landdb._run_batches($1, $2, $3) r
        WHERE r.unacquired_m2 > cfg.min_m2 AND cfg.d > landdb.period_end(r.approval_date, cfg.n)) b
  LEFT JOIN landdb._batch_piece_geom($1, $2, '批而未征', $3) pg ON pg.batch_id = b.batch_id
$$;
COMMENT ON FUNCTION landdb.rule_unacquired(date, bigint, bigint[], bigint[]) IS '规则：批而未征（批准满两年未征收） | rule unacquired';

-- 征而未供 land lying in expropriations completed more than n full years ago. Expropriations
-- without geometry count by area (or, with no area, over the whole batch); without a date they
-- cannot start the clock. The flag lists the old expropriations that hold its land, each with
-- the area of the batch's 征而未供 pieces in it (one without geometry: its recorded area, or the
-- pieces' when it has none). An expropriation that only touches them, as a neighbouring batch's
-- does, holds none; one overlapping them by a strip narrower than the sliver width holds a
-- sliver and is not listed; where each holds only slivers (a small piece across several), the
-- one holding the most is. "已满N年" is the span of their full years.
-- The expropriations are looked up by the pieces' box, each one's share computed once; those with
-- a share are the ones whose union covers or cuts the pieces.
DROP FUNCTION IF EXISTS landdb.rule_acquired_unsupplied_over_2y(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_acquired_unsupplied_over_2y(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS (SELECT $1 AS d, landdb.setting_num('acquired_unsupplied_years') AS n,
                      landdb.setting_num('sliver_width_m') AS w, landdb.setting_num('sliver_area_m2') AS min_m2),
  -- MATERIALIZED: computed once (inlined, the intersection would be computed for every use)
  x AS MATERIALIZED (
    SELECT b.*, pg.geom AS pgeom, a.acq, a.acqs, a.nogeom_m2,
           CASE WHEN a.acq IS NULL OR pg.geom IS NULL THEN NULL
                WHEN ST_CoveredBy(pg.geom, a.acq) THEN pg.geom
                ELSE landdb.drop_slivers(ST_Intersection(pg.geom, a.acq), cfg.w, cfg.min_m2) END AS og
    FROM cfg, landdb._run_batches($1, $2, $3) b
    JOIN landdb.approval_batch ab ON ab.id = b.batch_id
    LEFT JOIN landdb._batch_piece_geom($1, $2, '征而未供', $3) pg ON pg.batch_id = b.batch_id
    CROSS JOIN LATERAL (
      SELECT landdb._union(array_agg(u.g ORDER BY u.k, u.id) FILTER (WHERE u.g IS NOT NULL)) AS acq,
             sum(u.m2) FILTER (WHERE u.g IS NULL) AS nogeom_m2,
             jsonb_agg(jsonb_build_object('acq_key', u.acq_key, 'd', u.d, 'm2', u.m2, 'sliver', u.sliver)) AS acqs
      FROM (SELECT 1 AS k, q.id, q.geom AS g, ST_Area(i.part) AS m2,
                   landdb.is_sliver(i.part, cfg.w, cfg.min_m2) AS sliver, q.acq_key, q.acquisition_date AS d
            FROM landdb.acquisition q
            -- (OFFSET 0: the intersection computed once, not for each use)
            CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(q.geom, pg.geom), 3) AS part OFFSET 0) i
            WHERE q.geom && pg.geom AND q.acquisition_date IS NOT NULL
              AND cfg.d > landdb.period_end(q.acquisition_date, cfg.n) AND ST_Area(i.part) > 0
            UNION ALL
            SELECT 2, q.id, CASE WHEN q.acquired_area IS NULL THEN ab.geom END,
                   coalesce(q.acquired_area::double precision * 10000, ST_Area(pg.geom)), false,
                   q.acq_key, q.acquisition_date
            FROM landdb.acquisition q
            -- (geom::bytea: look up by batch, not through the spatial index, which finds NULLs slowly)
            WHERE q.batch_id = ab.id AND q.geom::bytea IS NULL AND q.acquisition_date IS NOT NULL
              AND cfg.d > landdb.period_end(q.acquisition_date, cfg.n)) u) a
    WHERE b.acquired_unsupplied_m2 > cfg.min_m2
  ), y AS (
    SELECT x.*, least(coalesce(ST_Area(x.og), 0) + coalesce(x.nogeom_m2, 0), x.acquired_unsupplied_m2) AS m2,
           l.acq_keys, l.least_years, l.most_years
    FROM x, cfg
    CROSS JOIN LATERAL (
      SELECT jsonb_agg(jsonb_build_object('acq_key', e.acq_key, 'acquisition_date', e.d,
                                          'full_years', landdb.full_years(e.d, cfg.d), 'area_m2', e.m2)
                       ORDER BY e.d, e.acq_key) AS acq_keys,
             min(landdb.full_years(e.d, cfg.d)) AS least_years, max(landdb.full_years(e.d, cfg.d)) AS most_years
      FROM jsonb_to_recordset(x.acqs) AS e(acq_key text, d date, m2 double precision, sliver boolean)
      WHERE NOT e.sliver
         OR (NOT jsonb_path_exists(x.acqs, '$[*] ? (@.sliver == false)')
             AND e.m2 = (SELECT max((f->>'m2')::double precision) FROM jsonb_array_elements(x.acqs) f))) l
  )
  SELECT 'acquired_unsupplied_over_2y', y.pzwh_key, '高', y.m2,
         format('征收完成已满%s年，%s亩仍未供应（国发〔2004〕28号：扣减下一年度农用地转用计划指标）',
                CASE WHEN y.least_years = y.most_years THEN y.least_years::text
                     ELSE y.least_years || '–' || y.most_years END,
                landdb._n(landdb.m2_to_mu(y.m2))),
         jsonb_build_object('pzwh', y.pzwh, 'approval_date', y.approval_date, 'acquisitions', y.acq_keys,
                            'area_m2', y.m2, 'area_mu', landdb.m2_to_mu(y.m2),
                            'acquired_unsupplied_m2', y.acquired_unsupplied_m2),
         y.township, landdb._flag_geom(coalesce(y.og, CASE WHEN y.nogeom_m2 > 0 THEN y.pgeom END)),
         ARRAY[y.batch_id], '{}'::bigint[]
  FROM y, cfg WHERE y.m2 > cfg.min_m2
$$;
COMMENT ON FUNCTION landdb.rule_acquired_unsupplied_over_2y(date, bigint, bigint[], bigint[]) IS '规则：征而未供满两年 | rule acquired_unsupplied_over_2y';

-- Construction patches (卫片 of a construction change type, 变更调查 patches of a construction
-- class) as of a date: their date is the detection date or the end of the survey year.
-- landdb._construction_patches may be limited to a scope of batches: then it gives the patches whose
-- subject (patch number) any patch touching one of those batches bears, found through the
-- patches' spatial indexes. (The settings are read once, not for every patch.)
DROP FUNCTION IF EXISTS landdb._construction_patches(date, bigint[]);
CREATE FUNCTION landdb._construction_patches(as_of date, batch_scope bigint[] DEFAULT NULL)
RETURNS TABLE (kind text, patch_id bigint, subject text, patch_date date, patch_class text, period text,
               judgement text, township text, geom geometry)
LANGUAGE sql STABLE AS $$
  WITH cfg AS MATERIALIZED (SELECT landdb.setting_list('construction_change_types') AS types,
                                   landdb.setting_list('construction_dlbm_prefixes') AS prefixes)
  SELECT '卫片', r.id, r.patch_no, coalesce(r.detected_date, $1), r.change_type, r.period, r.judgement,
         r.township, r.geom
  FROM cfg,
       (SELECT * FROM landdb.rs_patch WHERE $2 IS NULL
        UNION ALL
        SELECT * FROM landdb.rs_patch
        WHERE patch_no IN (SELECT t.patch_no FROM landdb.approval_batch b
                           JOIN landdb.rs_patch t ON t.geom && b.geom AND ST_Intersects(t.geom, b.geom)
                           WHERE b.id = ANY ($2))) r
  WHERE r.change_type = ANY (cfg.types) AND coalesce(r.detected_date <= $1, true)
  UNION ALL
  SELECT '变更调查', p.id, 'DLTB:' || p.survey_year || ':' || p.patch_no, make_date(p.survey_year, 12, 31),
         p.dlbm, p.survey_year::text, NULL, NULL, p.geom
  FROM cfg,
       (SELECT * FROM landdb.survey_patch WHERE $2 IS NULL
        UNION ALL
        SELECT * FROM landdb.survey_patch
        WHERE id IN (SELECT t.id FROM landdb.approval_batch b
                     JOIN landdb.survey_patch t ON t.geom && b.geom AND ST_Intersects(t.geom, b.geom)
                     WHERE b.id = ANY ($2))) p
  WHERE make_date(p.survey_year, 12, 31) <= $1
    AND EXISTS (SELECT 1 FROM unnest(cfg.prefixes) x WHERE p.dlbm LIKE x || '%')
$$;
COMMENT ON FUNCTION landdb._construction_patches(date, bigint[]) IS '建设图斑（限于触及给定批次者；内部） | construction patches, of a scope of batches (internal)';

DROP FUNCTION IF EXISTS landdb.construction_patches(date);
CREATE FUNCTION landdb.construction_patches(as_of date)
RETURNS TABLE (kind text, patch_id bigint, subject text, patch_date date, patch_class text, period text,
               judgement text, township text, geom geometry)
LANGUAGE sql STABLE AS $$
  SELECT * FROM landdb._construction_patches($1)
$$;
COMMENT ON FUNCTION landdb.construction_patches(date) IS '建设图斑（卫片新增建设、变更调查建设用地地类） | construction patches as of a date';

DROP FUNCTION IF EXISTS landdb.rule_withdrawal_candidate(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_withdrawal_candidate(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS MATERIALIZED (
    SELECT $1 AS d, landdb.setting_num('withdrawal_years') AS n,
           landdb.setting_num('withdrawal_no_supply_years') AS quiet,
           ($1 - make_interval(years => landdb.setting_num('withdrawal_no_supply_years')::int))::date AS since,
           landdb.setting_num('overlap_tolerance_m2') AS tol, landdb.setting_num('sliver_area_m2') AS min_m2,
           landdb.setting_num('used_before_supply_min_m2') AS built_m2,
           landdb.setting_list('construction_change_types') AS types,
           landdb.setting_list('construction_dlbm_prefixes') AS prefixes
  )
  SELECT 'withdrawal_candidate', b.pzwh_key, '中', b.unsupplied_m2,
         format('批准已满%s年，近%s年未供地且剩余土地无建设，批而未供%s亩，可申请撤回或调整批文（晋政办函〔2021〕105号）',
                b.fy, cfg.quiet, landdb._n(landdb.m2_to_mu(b.unsupplied_m2))),
         jsonb_build_object('pzwh', b.pzwh, 'approval_date', b.approval_date, 'full_years', b.fy,
                            'unsupplied_m2', b.unsupplied_m2, 'unsupplied_mu', landdb.m2_to_mu(b.unsupplied_m2),
                            'supply_rate', b.supply_rate, 'last_supply_date', greatest(l1.d, l2.d)),
         b.township, pg.geom, ARRAY[b.batch_id], '{}'::bigint[]
  FROM cfg,
       (SELECT r.*, landdb.full_years(r.approval_date, $1) AS fy FROM landdb._run_batches($1, $2, $3) r) b
  JOIN landdb.approval_batch ab ON ab.id = b.batch_id
  LEFT JOIN landdb._batch_piece_geom($1, $2, NULL, $3) pg ON pg.batch_id = b.batch_id
  -- the latest supply from the batch: linked to it, or lying in it beyond the tolerance
  CROSS JOIN LATERAL (
    SELECT max(s.contract_date) AS d FROM landdb.supply_batch sb JOIN landdb.supply s ON s.id = sb.supply_id
    WHERE sb.batch_id = b.batch_id AND s.contract_date <= cfg.d) l1
  -- (the latest first, overlaid one by one until one lies in the batch: OFFSET 0 keeps the
  -- tests out of the scan, which reads the supplies in the batch's box only; not needed at all
  -- when the linked supplies are already too recent)
  CROSS JOIN LATERAL (
    SELECT max(c.d) AS d FROM (
      SELECT c.d FROM (SELECT s.contract_date AS d, s.geom FROM landdb.supply s
                       WHERE s.geom && ab.geom AND coalesce(l1.d <= cfg.since, true)
                       ORDER BY s.contract_date DESC OFFSET 0) c
      WHERE c.d <= cfg.d AND c.d > coalesce(l1.d, '-infinity')
        AND ST_Intersects(c.geom, ab.geom) AND ST_Area(ST_Intersection(c.geom, ab.geom)) >= cfg.tol
      LIMIT 1) c) l2
  WHERE b.unsupplied_m2 > cfg.min_m2 AND cfg.d > landdb.period_end(b.approval_date, cfg.n)
    AND coalesce(greatest(l1.d, l2.d) <= cfg.since, true)
    -- no construction on the remainder (satellite patches, change-survey construction classes)
    AND NOT EXISTS (
      SELECT 1 FROM landdb.rs_patch r
      WHERE pg.geom IS NOT NULL AND r.geom && pg.geom AND r.change_type = ANY (cfg.types)
        AND coalesce(r.detected_date <= cfg.d, true) AND ST_Intersects(r.geom, pg.geom)
        AND ST_Area(ST_Intersection(r.geom, pg.geom)) >= cfg.built_m2)
    AND NOT EXISTS (
      SELECT 1 FROM landdb.survey_patch sp
      WHERE pg.geom IS NOT NULL AND sp.geom && pg.geom AND make_date(sp.survey_year, 12, 31) <= cfg.d
        AND EXISTS (SELECT 1 FROM unnest(cfg.prefixes) x WHERE sp.dlbm LIKE x || '%')
        AND ST_Intersects(sp.geom, pg.geom) AND ST_Area(ST_Intersection(sp.geom, pg.geom)) >= cfg.built_m2)
$$;
COMMENT ON FUNCTION landdb.rule_withdrawal_candidate(date, bigint, bigint[], bigint[]) IS '规则：可撤回（调整）批文 | rule withdrawal_candidate';

DROP FUNCTION IF EXISTS landdb.rule_supply_rate_mismatch(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_supply_rate_mismatch(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS MATERIALIZED (SELECT landdb.setting_num('supply_rate_mismatch_share') AS share,
                                   landdb.setting_num('area_mismatch_min_m2') AS min_m2),
  b AS (
    SELECT r.* FROM cfg, landdb._run_batches($1, $2, $3) r
    WHERE r.recorded_supplied_m2 IS NOT NULL
      AND abs(r.supplied_m2 - r.recorded_supplied_m2)
            > greatest(cfg.share * greatest(r.supplied_m2, r.recorded_supplied_m2), cfg.min_m2)
  ),
  who AS (
    SELECT rc.batch_id,
           jsonb_agg(jsonb_build_object('supply_key', rc.supply_key, 'dzjgh', rc.dzjgh, 'land_user', rc.land_user,
                                        'spatial_m2', rc.spatial_m2, 'recorded_m2', rc.recorded_m2,
                                        'difference_m2', rc.supply_difference_m2, 'note', rc.note)
                     ORDER BY rc.supply_key) AS supplies,
           array_agg(rc.supply_id ORDER BY rc.supply_id) AS ids
    FROM landdb._reconcile($1, $2, (SELECT array_agg(b.batch_id) FROM b)) rc GROUP BY rc.batch_id
  )
  SELECT 'supply_rate_mismatch', b.pzwh_key, '低', abs(b.supplied_m2 - b.recorded_supplied_m2),
         format('空间叠加已供%s亩，监测监管系统登记已供%s亩，相差%s亩（供地率%s%%对%s%%）',
                landdb._n(landdb.m2_to_mu(b.supplied_m2)), landdb._n(landdb.m2_to_mu(b.recorded_supplied_m2)),
                landdb._n(landdb.m2_to_mu(b.supplied_m2 - b.recorded_supplied_m2)),
                landdb._n(b.supply_rate * 100, 1), landdb._n(b.recorded_supply_rate * 100, 1)),
         jsonb_build_object('pzwh', b.pzwh, 'supplied_m2', b.supplied_m2, 'recorded_supplied_m2', b.recorded_supplied_m2,
                            'difference_m2', b.supplied_m2 - b.recorded_supplied_m2, 'supply_rate', b.supply_rate,
                            'recorded_supply_rate', b.recorded_supply_rate,
                            'supplies', coalesce(who.supplies, '[]'::jsonb)),
         b.township, landdb._flag_geom(ab.geom), ARRAY[b.batch_id], coalesce(who.ids, '{}'::bigint[])
  FROM b JOIN landdb.approval_batch ab ON ab.id = b.batch_id LEFT JOIN who ON who.batch_id = b.batch_id
$$;
COMMENT ON FUNCTION landdb.rule_supply_rate_mismatch(date, bigint, bigint[], bigint[]) IS '规则：空间与登记已供面积不符 | rule supply_rate_mismatch';

DROP FUNCTION IF EXISTS landdb.rule_batch_overlap(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_batch_overlap(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS (SELECT landdb.setting_num('overlap_tolerance_m2') AS tol, landdb.setting_num('sliver_width_m') AS w,
                      landdb.setting_num('sliver_area_m2') AS min_m2),
  -- pairs straight from the table (a CTE would lose the spatial index)
  pairs AS (
    SELECT a.id AS i, b.id AS j
    FROM landdb.approval_batch a JOIN landdb.approval_batch b
      ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
    WHERE $3 IS NULL AND coalesce(a.approval_date <= $1, true) AND coalesce(b.approval_date <= $1, true)
    UNION
    SELECT least(a.id, b.id), greatest(a.id, b.id)
    FROM landdb.approval_batch a JOIN landdb.approval_batch b
      ON a.id <> b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
    WHERE $3 IS NOT NULL AND a.id = ANY ($3)
      AND coalesce(a.approval_date <= $1, true) AND coalesce(b.approval_date <= $1, true)
  ),
  o AS MATERIALIZED (
    SELECT p.i, p.j, landdb.drop_slivers(ST_Intersection(a.geom, b.geom), cfg.w, cfg.min_m2) AS g
    FROM cfg, pairs p JOIN landdb.approval_batch a ON a.id = p.i JOIN landdb.approval_batch b ON b.id = p.j
  )
  SELECT 'batch_overlap', least(a.pzwh_key, b.pzwh_key) || ' | ' || greatest(a.pzwh_key, b.pzwh_key), '低',
         ST_Area(o.g),
         format('批次%s与%s范围重叠%s平方米（同一土地重复报批？）', a.pzwh, b.pzwh, landdb._n(ST_Area(o.g), 1)),
         jsonb_build_object('batches', jsonb_build_array(
             jsonb_build_object('pzwh', a.pzwh, 'approval_date', a.approval_date),
             jsonb_build_object('pzwh', b.pzwh, 'approval_date', b.approval_date)), 'overlap_m2', ST_Area(o.g)),
         coalesce(nullif(a.township, ''), landdb.township_at(o.g)), landdb._flag_geom(o.g), ARRAY[a.id, b.id], '{}'::bigint[]
  FROM cfg, o JOIN landdb.approval_batch a ON a.id = o.i JOIN landdb.approval_batch b ON b.id = o.j
  WHERE o.g IS NOT NULL AND ST_Area(o.g) >= cfg.tol
$$;
COMMENT ON FUNCTION landdb.rule_batch_overlap(date, bigint, bigint[], bigint[]) IS '规则：批次范围重叠 | rule batch_overlap';

-- ================================================================ spatial rules recomputed every run
-- 未供即用: a construction patch overlapping land approved and unsupplied on the patch's own date.
DROP FUNCTION IF EXISTS landdb.rule_used_before_supply(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_used_before_supply(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS (SELECT landdb.setting_num('used_before_supply_min_m2') AS min_m2,
                      landdb.setting_num('snap_tolerance_m') AS snap, landdb.setting_num('sliver_width_m') AS w,
                      landdb.setting_num('sliver_area_m2') AS a),
  hit AS MATERIALIZED (
    SELECT cp.*, bb.g AS bgeom, bb.ids, bb.pzwhs, bb.twp,
           landdb.drop_slivers(
             CASE WHEN ww.g IS NULL THEN d1.g ELSE ST_Difference(d1.g, landdb.snap_to(ww.g, bb.g, cfg.snap)) END,
             cfg.w, cfg.a) AS g
    -- (a scope of batches: the patches whose number any patch touching one of them bears, so that
    -- a subject is recomputed whole, every monitoring period of it)
    FROM cfg, landdb._construction_patches($1, $3) cp
    -- batches approved by the patch's date, not wholly withdrawn by then
    CROSS JOIN LATERAL (
      SELECT landdb._union(array_agg(b.geom ORDER BY b.id)) AS g, array_agg(b.id ORDER BY b.id) AS ids,
             jsonb_agg(b.pzwh ORDER BY b.id) AS pzwhs, min(b.township) AS twp
      FROM landdb.approval_batch b
      WHERE b.geom && cp.geom AND ST_Intersects(b.geom, cp.geom) AND coalesce(b.approval_date <= cp.patch_date, true)
        AND NOT EXISTS (SELECT 1 FROM landdb.withdrawal x WHERE x.batch_id = b.id AND x.withdrawal_status = '批复'
                        AND coalesce(x.withdrawal_date <= cp.patch_date, true) AND x.geom::bytea IS NULL
                        AND x.withdrawn_area IS NULL)) bb
    -- supplies in force on that date
    CROSS JOIN LATERAL (
      SELECT landdb._union(array_agg(s.geom ORDER BY s.id)) AS g FROM landdb.supply s
      WHERE s.geom && cp.geom AND ST_Intersects(s.geom, cp.geom)
        AND landdb.in_force(s.contract_date, s.reclaimed_date, cp.patch_date)) ss
    CROSS JOIN LATERAL (
      SELECT landdb._union(array_agg(x.geom ORDER BY x.id)) AS g FROM landdb.withdrawal x
      WHERE x.geom && cp.geom AND ST_Intersects(x.geom, cp.geom) AND x.withdrawal_status = '批复'
        AND coalesce(x.withdrawal_date <= cp.patch_date, true)) ww
    CROSS JOIN LATERAL (
      SELECT CASE WHEN ss.g IS NULL THEN ST_Intersection(cp.geom, bb.g)
                  ELSE ST_Difference(ST_Intersection(cp.geom, bb.g), landdb.snap_to(ss.g, bb.g, cfg.snap)) END AS g) d1
    WHERE bb.g IS NOT NULL
  ), one AS (
    -- one flag per subject: a patch number met in several monitoring periods keeps its latest
    SELECT DISTINCT ON (h.subject) h.*, ST_Area(h.g) AS m2,
           (SELECT jsonb_agg(DISTINCT h2.period) FROM hit h2 WHERE h2.subject = h.subject) AS periods
    FROM cfg, hit h WHERE h.g IS NOT NULL AND ST_Area(h.g) >= cfg.min_m2
    ORDER BY h.subject, h.patch_date DESC, h.patch_id DESC
  )
  SELECT 'used_before_supply', one.subject, '高', one.m2,
         CASE one.kind WHEN '卫片' THEN
           format('卫片图斑%s（%s，%s）占用已批未供土地%s平方米（%s亩），疑似未供即用，移交卫片执法',
                  one.subject, one.patch_class, one.patch_date, landdb._n(one.m2, 0), landdb._n(landdb.m2_to_mu(one.m2)))
         ELSE
           format('%s年变更调查地类%s图斑占用已批未供土地%s平方米（%s亩），疑似未供即用',
                  one.period, one.patch_class, landdb._n(one.m2, 0), landdb._n(landdb.m2_to_mu(one.m2)))
         END,
         jsonb_build_object('kind', one.kind, 'patch_date', one.patch_date, 'class', one.patch_class,
                            'periods', one.periods, 'judgement', one.judgement, 'pzwh', one.pzwhs,
                            'overlap_m2', one.m2, 'overlap_mu', landdb.m2_to_mu(one.m2)),
         coalesce(nullif(one.township, ''), one.twp, landdb.township_at(one.g)), landdb._flag_geom(one.g),
         one.ids, '{}'::bigint[]
  FROM one
$$;
COMMENT ON FUNCTION landdb.rule_used_before_supply(date, bigint, bigint[], bigint[]) IS '规则：未供即用 | rule used_before_supply';

-- 边角地: remainder pieces dissolved across batches (pieces closer than the snapping tolerance form
-- one), small or narrow, within remnant_touch_m of supplied land.
--
-- landdb._remnant_reach: the batches of a stored run whose pieces share a 边角地 cluster with a piece of a batch of
-- `batches`, or lie within remnant_touch_m of a supply of `supplies`: closed under "pieces within
-- the snapping tolerance" and "pieces of one batch", so that every cluster it meets is whole and
-- every cluster holding a piece of one of its batches is in it. (Distances get 1 mm of room: a
-- larger set is harmless. run_id + 0: the pieces near a piece are found through the spatial index,
-- which holds every run's pieces, not through the run's.)
DROP FUNCTION IF EXISTS landdb._remnant_reach(bigint, bigint[], bigint[]);
CREATE FUNCTION landdb._remnant_reach(run bigint, batches bigint[], supplies bigint[]) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
  WITH RECURSIVE cfg AS MATERIALIZED (
    SELECT landdb.setting_num('snap_tolerance_m') + 0.001 AS snap,
           landdb.setting_num('remnant_touch_m') + 0.001 AS touch, landdb.run_chain($1) AS chain
  ),
  seed AS (
    SELECT x AS batch_id FROM unnest($2) x
    UNION
    SELECT p.batch_id
    FROM cfg JOIN landdb.supply s ON s.id = ANY ($3)
    JOIN landdb.analysis_piece p ON p.geom && ST_Expand(s.geom, cfg.touch) AND ST_DWithin(p.geom, s.geom, cfg.touch)
    WHERE p.run_id + 0 = ANY (cfg.chain) AND (p.until_run_id IS NULL OR p.until_run_id >= $1)
  ),
  r(batch_id) AS (
    SELECT seed.batch_id FROM seed
    UNION
    SELECT q.batch_id
    FROM r JOIN cfg ON true
    JOIN landdb.analysis_piece p ON p.run_id = ANY (cfg.chain) AND p.batch_id = r.batch_id
                                AND (p.until_run_id IS NULL OR p.until_run_id >= $1)
    JOIN landdb.analysis_piece q ON q.geom && ST_Expand(p.geom, cfg.snap) AND ST_DWithin(q.geom, p.geom, cfg.snap)
    WHERE q.run_id + 0 = ANY (cfg.chain) AND (q.until_run_id IS NULL OR q.until_run_id >= $1)
  )
  SELECT coalesce(array_agg(r.batch_id ORDER BY r.batch_id), '{}') FROM r
$$;
COMMENT ON FUNCTION landdb._remnant_reach(bigint, bigint[], bigint[]) IS '边角地聚合可及的批次（内部） | batches whose remnant clusters a scope reaches (internal)';

-- landdb._remnant_flags: the flags of the clusters of the pieces of `batches` (NULL: all; a set
-- closed as landdb._remnant_reach makes it, or clusters are cut short).
DROP FUNCTION IF EXISTS landdb._remnant_flags(date, bigint, bigint[]);
CREATE FUNCTION landdb._remnant_flags(as_of date, run_id bigint, batches bigint[])
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS (SELECT $1 AS d, landdb.setting_num('remnant_max_mu') * 10000.0 / 15 AS max_m2,
                      landdb.setting_num('remnant_min_width_m') AS min_w, landdb.setting_num('remnant_touch_m') AS touch,
                      landdb.setting_num('snap_tolerance_m') AS snap),
  p AS (SELECT rp.batch_id, rp.piece_no, rp.geom FROM landdb.run_pieces($1, $2) rp WHERE $3 IS NULL
        UNION ALL
        SELECT a.batch_id, a.piece_no, a.geom::geometry FROM landdb.run_piece_rows($2) a
        WHERE a.batch_id = ANY ($3)),
  c AS (SELECT p.*, ST_ClusterDBSCAN(p.geom, eps := (SELECT snap FROM cfg), minpoints := 1) OVER () AS cid FROM p),
  g AS (
    SELECT c.cid, landdb._pieces_union(array_agg(c.geom ORDER BY c.batch_id, c.piece_no)) AS geom,
           array_agg(DISTINCT c.batch_id ORDER BY c.batch_id) AS ids
    FROM c GROUP BY c.cid
  ),
  r AS (
    SELECT g.*, ST_Area(g.geom) < cfg.max_m2 AS small, landdb.is_sliver(g.geom, cfg.min_w, 0) AS narrow
    FROM cfg, g
    WHERE ST_Area(g.geom) < cfg.max_m2 OR landdb.is_sliver(g.geom, cfg.min_w, 0)
  ),
  n AS (
    SELECT r.*, nb.neighbours, nb.sids, k.keys, k.pzwhs, k.twp
    FROM cfg, r
    CROSS JOIN LATERAL (
      SELECT jsonb_agg(jsonb_build_object('supply_key', s.supply_key, 'dzjgh', s.dzjgh, 'land_user', s.land_user,
                                          'project_name', s.project_name, 'supply_method', s.supply_method)
                       ORDER BY s.supply_key) AS neighbours,
             array_agg(s.id ORDER BY s.id) AS sids
      FROM landdb.supply s
      WHERE s.geom && ST_Expand(r.geom, cfg.touch) AND ST_DWithin(s.geom, r.geom, cfg.touch)
        AND landdb.in_force(s.contract_date, s.reclaimed_date, cfg.d)) nb
    CROSS JOIN LATERAL (
      SELECT string_agg(b.pzwh_key, '+' ORDER BY b.pzwh_key) AS keys, jsonb_agg(b.pzwh ORDER BY b.pzwh_key) AS pzwhs,
             min(b.township) AS twp
      FROM landdb.approval_batch b WHERE b.id = ANY (r.ids)) k
    WHERE nb.sids IS NOT NULL
  )
  SELECT 'remnant_parcel',
         n.keys || '@' || round(ST_X(ST_Centroid(n.geom)))::bigint || ',' || round(ST_Y(ST_Centroid(n.geom)))::bigint,
         '中', ST_Area(n.geom),
         format('边角地（%s亩%s）与已供土地相邻，可协议出让或划拨给相邻权利人：%s', landdb._n(landdb.m2_to_mu(ST_Area(n.geom))),
                CASE WHEN n.narrow THEN format('，宽不足%s米', landdb._n((SELECT min_w FROM cfg))) ELSE '' END,
                (SELECT string_agg(DISTINCT coalesce(e ->> 'land_user', e ->> 'supply_key'), '、')
                 FROM jsonb_array_elements(n.neighbours) e)),
         jsonb_build_object('pzwh', n.pzwhs, 'area_m2', ST_Area(n.geom), 'area_mu', landdb.m2_to_mu(ST_Area(n.geom)),
                            'small', n.small, 'narrow', n.narrow, 'neighbours', n.neighbours),
         coalesce(landdb.township_at(n.geom), n.twp), n.geom, n.ids, n.sids
  FROM n
$$;
COMMENT ON FUNCTION landdb._remnant_flags(date, bigint, bigint[]) IS '一组批次所在聚合的边角地（内部） | remnant flags of the clusters of some batches (internal)';

-- The rule: a scope of a stored run gives the clusters landdb._remnant_reach finds from it (computed
-- now, every cluster).
DROP FUNCTION IF EXISTS landdb.rule_remnant_parcel(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_remnant_parcel(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  SELECT * FROM landdb._remnant_flags($1, $2, CASE WHEN $2 IS NOT NULL AND ($3 IS NOT NULL OR $4 IS NOT NULL)
                                                   THEN landdb._remnant_reach($2, $3, $4) END)
$$;
COMMENT ON FUNCTION landdb.rule_remnant_parcel(date, bigint, bigint[], bigint[]) IS '规则：边角地、插花地、夹心地 | rule remnant_parcel';

DROP FUNCTION IF EXISTS landdb.rule_disposal_overdue(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_disposal_overdue(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  SELECT 'disposal_overdue', p.plan_no, '中',
         coalesce(p.plan_area::double precision * 10000, ST_Area(p.geom)),
         format('处置方案%s（%s，%s）处置期限%s已过%s天，尚未销号', p.plan_no, p.category,
                coalesce(p.measure, '未定措施'), p.deadline, $1 - p.deadline),
         jsonb_build_object('plan_no', p.plan_no, 'category', p.category, 'measure', p.measure,
                            'responsible_unit', p.responsible_unit, 'responsible_person', p.responsible_person,
                            'deadline', p.deadline, 'days_overdue', $1 - p.deadline, 'status', p.status),
         coalesce(nullif(p.township, ''), b.township, s.township),
         landdb._flag_geom(coalesce(p.geom, s.geom, b.geom)),
         CASE WHEN p.batch_id IS NULL THEN '{}'::bigint[] ELSE ARRAY[p.batch_id] END,
         CASE WHEN coalesce(p.supply_id, c.supply_id) IS NULL THEN '{}'::bigint[]
              ELSE ARRAY[coalesce(p.supply_id, c.supply_id)] END
  FROM landdb.disposal_plan p
  LEFT JOIN landdb.idle_case c ON c.id = p.idle_case_id
  LEFT JOIN landdb.supply s ON s.id = coalesce(p.supply_id, c.supply_id)
  LEFT JOIN landdb.approval_batch b ON b.id = p.batch_id
  WHERE p.deadline < $1 AND NOT (p.status = '已销号' AND p.closed_date <= $1)
$$;
COMMENT ON FUNCTION landdb.rule_disposal_overdue(date, bigint, bigint[], bigint[]) IS '规则：处置方案逾期未销号 | rule disposal_overdue';

-- ================================================================ supply rules
-- The seven date rules on supplies (开竣工提醒, 逾期, 闲置土地) share one pass over the supplies:
-- landdb._supply_date_flags computes those named in `rules` (of the supplies of a scope, or of ids
-- lo to hi, or all); each rule_<id> function reads its own.
--   start_due / completion_due: the agreed date in force falls within the next due_days days and
--     has not happened;
--   start_overdue / completion_overdue: it has passed, has not happened, and a full idle period
--     (idle_years) is not yet over — after that the idle rules take over;
--   idle_not_started (Art. 2(a)): a supply method in scope (idle_supply_methods, by containment),
--     not started one full idle period after the agreed start in force; the estimated 闲置费 is
--     idle_fee_share × price — none for a government cause, and "基数未知" when the price is unknown;
--   idle_reclaim (Art. 14): in addition, two full periods (idle_reclaim_years), no government cause;
--   idle_stalled (Art. 2(b)): started, not completed, the latest progress record shows developed
--     area under idle_developed_share of the supply area or investment under idle_invested_share
--     of the total, and suspended for idle_suspended_years full years.
DROP FUNCTION IF EXISTS landdb._supply_date_flags(date, bigint[], text[]);
DROP FUNCTION IF EXISTS landdb._supply_date_flags(date, bigint[], text[], bigint, bigint);
CREATE FUNCTION landdb._supply_date_flags(as_of date, supply_scope bigint[] DEFAULT NULL, rules text[] DEFAULT NULL,
                                          lo bigint DEFAULT NULL, hi bigint DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  WITH cfg AS (
    SELECT $1 AS d, coalesce($3, ARRAY['start_due', 'completion_due', 'start_overdue', 'completion_overdue',
                                       'idle_not_started', 'idle_reclaim', 'idle_stalled']) AS rules,
           landdb.setting_num('due_days')::int AS due,
           landdb.setting_num('idle_years') AS idle_n, landdb.setting_num('idle_reclaim_years') AS reclaim_n,
           landdb.setting_num('idle_suspended_years') AS suspended_n,
           landdb.setting_num('idle_fee_share') AS share, landdb.setting_num('idle_developed_share') AS dev_share,
           landdb.setting_num('idle_invested_share') AS inv_share,
           landdb.words_regex(landdb.setting_list('idle_supply_methods')) AS methods_rx,
           landdb.setting_list('government_causes') AS gov
  ),
  s AS MATERIALIZED (
    SELECT s.*,
           coalesce(s.supply_method ~ cfg.methods_rx, false) AS idle_scope,
           coalesce(s.idle_cause = ANY (cfg.gov), false) AS gov,
           CASE WHEN s.determined THEN format('；已认定闲置（%s，%s）', s.case_no, s.determined_date)
                ELSE '；尚未认定' END AS det_text,
           CASE WHEN s.developed_area IS NOT NULL AND s.area_ha > 0
                THEN s.developed_area::double precision / s.area_ha END AS dev,
           CASE WHEN s.invested IS NOT NULL AND s.total_investment > 0
                THEN (s.invested / s.total_investment)::double precision END AS inv
    FROM cfg, landdb._supply_state($1, $2, $4, $5) s
    WHERE s.in_force
      AND (s.agreed_start IS NOT NULL OR s.agreed_completion IS NOT NULL OR s.suspended_since IS NOT NULL)
      -- every rule below wants a supply not started or not completed: the others (most of a
      -- county) are left out before the seven scans of this table
      AND NOT (s.started AND s.completed)
  ),
  f AS (
    SELECT 'start_due' AS rule, s.supply_id, '低' AS severity,
           format('约定开工日期%s（%s），距基准日%s天，尚未开工', s.agreed_start, s.start_source, s.agreed_start - cfg.d)
             AS message,
           jsonb_build_object('supply_key', s.supply_key, 'project_name', s.project_name, 'land_user', s.land_user,
                              'agreed_start', s.agreed_start, 'source', s.start_source,
                              'days_left', s.agreed_start - cfg.d) AS details
    FROM cfg, s
    WHERE 'start_due' = ANY (cfg.rules) AND NOT s.started AND s.agreed_start BETWEEN cfg.d AND cfg.d + cfg.due
    UNION ALL
    SELECT 'completion_due', s.supply_id, '低',
           format('约定竣工日期%s（%s），距基准日%s天，尚未竣工', s.agreed_completion, s.completion_source,
                  s.agreed_completion - cfg.d),
           jsonb_build_object('supply_key', s.supply_key, 'project_name', s.project_name, 'land_user', s.land_user,
                              'agreed_completion', s.agreed_completion, 'source', s.completion_source,
                              'days_left', s.agreed_completion - cfg.d, 'started', s.started)
    FROM cfg, s
    WHERE 'completion_due' = ANY (cfg.rules) AND NOT s.completed
      AND s.agreed_completion BETWEEN cfg.d AND cfg.d + cfg.due
    UNION ALL
    SELECT 'start_overdue', s.supply_id, '中',
           format('约定开工日期%s（%s）已过%s天，尚未开工', s.agreed_start, s.start_source, cfg.d - s.agreed_start),
           jsonb_build_object('supply_key', s.supply_key, 'project_name', s.project_name, 'land_user', s.land_user,
                              'agreed_start', s.agreed_start, 'source', s.start_source,
                              'days_overdue', cfg.d - s.agreed_start)
    FROM cfg, s
    WHERE 'start_overdue' = ANY (cfg.rules) AND NOT s.started AND s.agreed_start < cfg.d
      AND cfg.d <= landdb.period_end(s.agreed_start, cfg.idle_n)
    UNION ALL
    SELECT 'completion_overdue', s.supply_id, '中',
           format('约定竣工日期%s（%s）已过%s天，尚未竣工', s.agreed_completion, s.completion_source,
                  cfg.d - s.agreed_completion),
           jsonb_build_object('supply_key', s.supply_key, 'project_name', s.project_name, 'land_user', s.land_user,
                              'agreed_completion', s.agreed_completion, 'source', s.completion_source,
                              'days_overdue', cfg.d - s.agreed_completion, 'started', s.started)
    FROM cfg, s
    WHERE 'completion_overdue' = ANY (cfg.rules) AND NOT s.completed AND s.agreed_completion < cfg.d
      AND cfg.d <= landdb.period_end(s.agreed_completion, cfg.idle_n)
    UNION ALL
    SELECT 'idle_not_started', s.supply_id, '高',
           format('约定动工日期%s（%s）后满%s年未动工，疑似闲置土地（《闲置土地处置办法》第二条）', s.agreed_start,
                  s.start_source, landdb.full_years(s.agreed_start, cfg.d))
           || CASE WHEN s.gov THEN format('；闲置原因为%s，按第八条、第十二条处置，不征收土地闲置费', s.idle_cause)
                   WHEN s.price IS NULL THEN '；成交价款未知，土地闲置费基数未知'
                   ELSE format('；估算土地闲置费%s万元（价款%s万元的%s%%，第十四条）',
                               landdb._n(cfg.share * s.price::double precision), landdb._n(s.price::double precision),
                               landdb._n(cfg.share * 100)) END
           || s.det_text,
           jsonb_build_object(
             'supply_key', s.supply_key, 'dzjgh', s.dzjgh, 'project_name', s.project_name, 'land_user', s.land_user,
             'supply_method', s.supply_method, 'contract_date', s.contract_date, 'agreed_start', s.agreed_start,
             'agreed_start_source', s.start_source, 'contract_agreed_start', s.contract_start,
             'full_years', landdb.full_years(s.agreed_start, cfg.d), 'price_wan', s.price, 'fee_share', cfg.share,
             'estimated_fee_wan', CASE WHEN s.gov THEN 'null'::jsonb
                                       WHEN s.price IS NULL THEN to_jsonb('基数未知 (price unknown)'::text)
                                       ELSE to_jsonb(cfg.share * s.price::double precision) END,
             'idle_cause', s.idle_cause, 'government_cause', s.gov,
             'determined', s.determined, 'case_no', s.case_no, 'determined_date', s.determined_date,
             'last_observed', s.observed_date)
    FROM cfg, s
    WHERE 'idle_not_started' = ANY (cfg.rules) AND s.idle_scope AND NOT s.started
      AND cfg.d > landdb.period_end(s.agreed_start, cfg.idle_n)
    UNION ALL
    SELECT 'idle_reclaim', s.supply_id, '高',
           format('约定动工日期%s（%s）后满%s年未动工，可无偿收回土地使用权（第十四条；须经认定并报本级人民政府批准%s）',
                  s.agreed_start, s.start_source, landdb.full_years(s.agreed_start, cfg.d),
                  CASE WHEN nullif(s.mortgagee, '') IS NOT NULL THEN format('，并通知抵押权人%s', s.mortgagee)
                       ELSE '' END)
           || s.det_text,
           jsonb_build_object(
             'supply_key', s.supply_key, 'dzjgh', s.dzjgh, 'project_name', s.project_name, 'land_user', s.land_user,
             'supply_method', s.supply_method, 'agreed_start', s.agreed_start, 'agreed_start_source', s.start_source,
             'full_years', landdb.full_years(s.agreed_start, cfg.d), 'mortgagee', s.mortgagee,
             'idle_cause', s.idle_cause, 'determined', s.determined, 'case_no', s.case_no,
             'determined_date', s.determined_date)
    FROM cfg, s
    WHERE 'idle_reclaim' = ANY (cfg.rules) AND s.idle_scope AND NOT s.started AND NOT s.gov
      AND cfg.d > landdb.period_end(s.agreed_start, cfg.reclaim_n)
    UNION ALL
    SELECT 'idle_stalled', s.supply_id, '高',
           format('已动工但%s，自%s中止开发已满%s年，疑似闲置土地（《闲置土地处置办法》第二条）',
                  concat_ws('、',
                    CASE WHEN s.dev < cfg.dev_share
                         THEN format('已开发面积仅占%s%%（不足三分之一）', landdb._n(s.dev * 100, 1)) END,
                    CASE WHEN s.inv < cfg.inv_share
                         THEN format('已投资额仅占总投资%s%%（不足%s%%）', landdb._n(s.inv * 100, 1),
                                     landdb._n(cfg.inv_share * 100)) END),
                  s.suspended_since, landdb.full_years(s.suspended_since, cfg.d))
           || s.det_text,
           jsonb_build_object(
             'supply_key', s.supply_key, 'dzjgh', s.dzjgh, 'project_name', s.project_name, 'land_user', s.land_user,
             'supply_method', s.supply_method, 'actual_start', s.actual_start, 'observed_date', s.observed_date,
             'developed_area_ha', s.developed_area, 'supply_area_ha', s.area_ha, 'developed_share', s.dev,
             'invested_wan', s.invested, 'total_investment_wan', s.total_investment, 'invested_share', s.inv,
             'suspended_since', s.suspended_since, 'full_years', landdb.full_years(s.suspended_since, cfg.d),
             'idle_cause', s.idle_cause, 'determined', s.determined, 'case_no', s.case_no,
             'determined_date', s.determined_date)
    FROM cfg, s
    WHERE 'idle_stalled' = ANY (cfg.rules) AND s.idle_scope AND s.started AND NOT s.completed
      AND cfg.d > landdb.period_end(s.suspended_since, cfg.suspended_n)
      AND (s.dev < cfg.dev_share OR s.inv < cfg.inv_share)
  )
  SELECT f.rule, s.supply_key, f.severity, s.area_m2, f.message, f.details,
         coalesce(nullif(s.township, ''), landdb.township_at(s.geom)), landdb._flag_geom(s.geom),
         '{}'::bigint[], ARRAY[s.supply_id]
  FROM f JOIN s ON s.supply_id = f.supply_id
$$;
COMMENT ON FUNCTION landdb._supply_date_flags(date, bigint[], text[], bigint, bigint) IS '供地日期类规则（开竣工提醒、逾期、闲置土地，一次计算；内部） | the date rules on supplies in one pass (internal)';

-- The seven date rules, each its own function over the one pass of landdb._supply_date_flags.
DO $do$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
                       ('start_due', '规则：开工提醒 | rule start_due'),
                       ('completion_due', '规则：竣工提醒 | rule completion_due'),
                       ('start_overdue', '规则：逾期未开工 | rule start_overdue'),
                       ('completion_overdue', '规则：逾期未竣工 | rule completion_overdue'),
                       ('idle_not_started', '规则：疑似闲置（满一年未动工） | rule idle_not_started'),
                       ('idle_reclaim', '规则：满两年未动工（无偿收回候选） | rule idle_reclaim'),
                       ('idle_stalled', '规则：疑似闲置（中止开发满一年） | rule idle_stalled')) v(rule, note) LOOP
    EXECUTE format('DROP FUNCTION IF EXISTS landdb.%I(date, bigint, bigint[], bigint[])', 'rule_' || r.rule);
    EXECUTE format($f$
      CREATE FUNCTION landdb.%I(as_of date, run_id bigint DEFAULT NULL,
          batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
      RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text,
                     details jsonb, township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
      LANGUAGE sql STABLE AS $b$ SELECT * FROM landdb._supply_date_flags($1, $4, ARRAY[%L]) $b$$f$,
      'rule_' || r.rule, r.rule);
    EXECUTE format('COMMENT ON FUNCTION landdb.%I(date, bigint, bigint[], bigint[]) IS %L', 'rule_' || r.rule, r.note);
  END LOOP;
END $do$;

-- Most supplies lie in a batch up to digitising noise, and only an overlay (the difference, then
-- the sliver filter) shows that what sticks out is a sliver: too slow for every supply. A cheap
-- exact test spares most of them: a supply that meets a batch and lies within r = 0.44 × the sliver
-- width w of it raises no flag. Every point of a piece of it outside the batch is within r of the
-- batch, hence of the piece's edge, so the piece's inward buffer by half the width is empty: a
-- sliver. The margin covers the approximations of GEOS's buffers: the inward buffer's corner arcs
-- (two segments a quarter circle) stop short of w/2 by at most w/2 · (1 − cos 22.5°) = 0.038 w,
-- and either buffer simplifies its input by 1 % of its distance (0.005 w; 0.0044 w for the grown
-- batch): 0.44 w + 0.0044 w < 0.5 w − 0.038 w − 0.005 w. (0.4 × w spared a third fewer supplies of
-- the sample county, whose supplies stick out of their batches by up to half a metre.) A supply that
-- meets no batch is flagged whole, whatever its width: hence "meets". The test is a prepared
-- ST_Covers of each batch grown by r (bevelled: never beyond the true buffer) over the supplies in
-- it. GEOS predicates may raise TopologyException on nearly coincident edges: then every supply
-- takes the overlay. A scoped call takes the overlay for the supplies of its scope.
-- landdb._outside_candidates: the supplies of new land in force the test leaves to the overlay (a
-- set-returning function: its query may run in parallel, where a SELECT INTO never does).
DROP FUNCTION IF EXISTS landdb._outside_candidates(date, double precision, text[]);
CREATE FUNCTION landdb._outside_candidates(d date, w double precision, src text[])
RETURNS TABLE (id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  rx text := landdb.words_regex(src);
BEGIN
  RETURN QUERY
    SELECT s.id
    FROM landdb.supply s
    WHERE s.geom IS NOT NULL AND landdb.in_force(s.contract_date, s.reclaimed_date, d)
      AND coalesce(s.land_source ~ rx, false)
      AND s.id NOT IN (
        SELECT t.id
        -- (each batch grown once, a function in FROM; the supplies in it follow one another, so
        -- that PostGIS prepares the grown batch once)
        FROM landdb.approval_batch b
        CROSS JOIN LATERAL ST_Buffer(b.geom, 0.44 * w, 'join=bevel') AS g(grown)
        JOIN landdb.supply t ON t.geom && g.grown AND ST_Covers(g.grown, t.geom)
             -- it meets the batch: surely when larger than the margin grown around the batch
             AND (t.area_m2 > 1.000001 * (ST_Area(g.grown) - ST_Area(b.geom)) + 1e-6
                  OR ST_Intersects(b.geom, t.geom))
        WHERE b.geom IS NOT NULL AND coalesce(b.approval_date <= d, true)
          AND landdb.in_force(t.contract_date, t.reclaimed_date, d) AND coalesce(t.land_source ~ rx, false));
END $$;
COMMENT ON FUNCTION landdb._outside_candidates(date, double precision, text[]) IS '新增建设用地供地中需叠加检查者（内部） | supplies the outside-approval rule must overlay (internal)';

-- What of a supply lies outside the batches it touches (their ids; the sliver filter carries the
-- tolerance: a supply offset by less than the sliver width from its batch leaves nothing but
-- slivers outside). (A function, called in FROM: a worker of a parallel scan can run it, where a
-- lateral subquery would run in the leader.)
DROP FUNCTION IF EXISTS landdb._outside_part(geometry, date, double precision, double precision);
CREATE FUNCTION landdb._outside_part(sgeom geometry, as_of date, w double precision, min_m2 double precision,
                                     OUT ids bigint[], OUT outside geometry)
LANGUAGE sql STABLE PARALLEL SAFE COST 100000 AS $$
  SELECT c.ids, CASE WHEN c.ids IS NULL THEN $1 ELSE landdb.drop_slivers(ST_Difference($1, c.g), $3, $4) END
  FROM (SELECT array_agg(b.id ORDER BY b.id) AS ids, landdb._union(array_agg(b.geom ORDER BY b.id)) AS g
        FROM landdb.approval_batch b
        WHERE b.geom && $1 AND ST_Intersects(b.geom, $1) AND coalesce(b.approval_date <= $2, true)) c
$$;
COMMENT ON FUNCTION landdb._outside_part(geometry, date, double precision, double precision) IS '供地位于所交批次之外的部分（内部） | part of a supply outside the batches it touches (internal)';

DROP FUNCTION IF EXISTS landdb.rule_supply_outside_approval(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_supply_outside_approval(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  d date := as_of;
  tol double precision := landdb.setting_num('overlap_tolerance_m2');
  w double precision := landdb.setting_num('sliver_width_m');
  min_m2 double precision := landdb.setting_num('sliver_area_m2');
  src text[] := landdb.setting_list('new_land_sources');
  rx text := landdb.words_regex(src);
  need bigint[] := supply_scope;  -- the supplies to overlay (NULL: all)
BEGIN
  IF need IS NULL AND w > 0 THEN
    BEGIN
      -- (a set-returning plpgsql function: its query may run in parallel, a SELECT INTO never does)
      need := ARRAY(SELECT c.id FROM landdb._outside_candidates(d, w, src) c);
    EXCEPTION WHEN OTHERS THEN
      need := NULL;
    END;
  END IF;

  RETURN QUERY
  WITH
  -- supplies of new land in force that no single batch holds whole (a cheap test first), and what
  -- lies outside the batches they touch (one scan, so that the overlays may run in parallel)
  s AS MATERIALIZED (
    SELECT s.id, s.supply_key, s.dzjgh, s.project_name, s.land_user, s.land_source, s.contract_date, s.area_m2,
           s.township, s.geom, c.ids, c.outside
    FROM landdb.supply s
    CROSS JOIN LATERAL landdb._outside_part(s.geom, d, w, min_m2) c
    WHERE s.geom IS NOT NULL AND (need IS NULL OR s.id = ANY (need))
      AND landdb.in_force(s.contract_date, s.reclaimed_date, d) AND coalesce(s.land_source ~ rx, false)
      AND NOT EXISTS (SELECT 1 FROM landdb.approval_batch b
                      WHERE b.geom && s.geom AND ST_CoveredBy(s.geom, b.geom) AND coalesce(b.approval_date <= d, true))
  )
  SELECT 'supply_outside_approval', s.supply_key, '低', ST_Area(s.outside),
         CASE WHEN s.ids IS NULL THEN format('新增建设用地供地（%s）完全不在任何批次范围内，%s平方米', s.land_source,
                                             landdb._n(ST_Area(s.outside), 0))
              ELSE format('新增建设用地供地（%s）有%s平方米位于批准范围之外', s.land_source,
                          landdb._n(ST_Area(s.outside), 0)) END,
         jsonb_build_object('supply_key', s.supply_key, 'dzjgh', s.dzjgh, 'project_name', s.project_name,
                            'land_user', s.land_user, 'land_source', s.land_source, 'contract_date', s.contract_date,
                            'outside_m2', ST_Area(s.outside), 'supply_m2', s.area_m2,
                            'pzwh', (SELECT coalesce(jsonb_agg(b.pzwh ORDER BY b.id), '[]'::jsonb)
                                     FROM landdb.approval_batch b WHERE b.id = ANY (s.ids))),
         coalesce(nullif(s.township, ''), landdb.township_at(s.geom)), landdb._flag_geom(s.outside),
         coalesce(s.ids, '{}'::bigint[]), ARRAY[s.id]
  FROM s
  WHERE s.outside IS NOT NULL AND ST_Area(s.outside) >= tol;
END $$;
COMMENT ON FUNCTION landdb.rule_supply_outside_approval(date, bigint, bigint[], bigint[]) IS '规则：新增建设用地供地超出批准范围 | rule supply_outside_approval';

-- The pairs of supplies in force whose bounding boxes overlap by at least landdb._overlap_span of
-- the sliver width each way and by the tolerance in area (as landdb._may_overlap: neighbours that
-- only share an edge are left out), found by a hash join on the grid cells (`cell` m) their boxes cover rather than
-- by a spatial-index look-up per supply, which costs more than the join (at 1.3 M supplies, 22 µs
-- a look-up). A pair is kept in the cell of the lower left corner of its boxes' overlap, so once.
-- Only the cells of the columns c_lo … c_hi - 1 (NULL: open), so that analyze can run the grid
-- in stripes on both cores; the supplies of a stripe are found through the spatial index.
DROP FUNCTION IF EXISTS landdb._supply_pairs(date, double precision, double precision, integer, integer, double precision);
CREATE FUNCTION landdb._supply_pairs(as_of date, w double precision, tol double precision,
                                     c_lo integer, c_hi integer, cell double precision DEFAULT 200)
RETURNS TABLE (i bigint, j bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH s AS MATERIALIZED (
    SELECT q.id, q.x0, q.y0, q.x1, q.y1,
           greatest(floor(q.x0 / cell)::int, c_lo) AS i0, least(floor(q.x1 / cell)::int, c_hi - 1) AS i1,
           floor(q.y0 / cell)::int AS j0, floor(q.y1 / cell)::int AS j1
    FROM (SELECT q.id, ST_XMin(q.b) AS x0, ST_YMin(q.b) AS y0, ST_XMax(q.b) AS x1, ST_YMax(q.b) AS y1
          FROM (SELECT q.id, q.geom::box2d AS b FROM landdb.supply q
                -- (the envelope by a sub-select: computed once, where a call of working_srid() in the
                -- condition ran its query for every supply, 3.5 µs each)
                WHERE q.geom && (SELECT ST_MakeEnvelope(coalesce(c_lo * cell, -1e15), -1e15, coalesce(c_hi * cell, 1e15),
                                                        1e15, landdb.working_srid()))
                  AND landdb.in_force(q.contract_date, q.reclaimed_date, as_of)
                OFFSET 0) q) q
  ),
  -- the cells (cx, cy) of the columns i0 … i1 and rows j0 … j1 a box covers: most boxes cover one
  -- or two of each, taken by the offsets 0 and 1 (two generate_series calls per box cost more
  -- than this join); larger boxes by generate_series
  c AS MATERIALIZED (
    SELECT s.id, s.x0, s.y0, s.x1, s.y1, s.i0 + ox.d AS cx, s.j0 + oy.d AS cy
    FROM s CROSS JOIN (VALUES (0), (1)) ox(d) CROSS JOIN (VALUES (0), (1)) oy(d)
    WHERE s.i1 - s.i0 <= 1 AND s.j1 - s.j0 <= 1 AND s.i0 + ox.d <= s.i1 AND s.j0 + oy.d <= s.j1
    UNION ALL
    SELECT s.id, s.x0, s.y0, s.x1, s.y1, cx, cy
    FROM s CROSS JOIN generate_series(s.i0, s.i1) cx CROSS JOIN generate_series(s.j0, s.j1) cy
    WHERE s.i1 - s.i0 > 1 OR s.j1 - s.j0 > 1
  )
  SELECT a.id, b.id
  FROM c a JOIN c b ON a.cx = b.cx AND a.cy = b.cy AND a.id < b.id
  WHERE least(a.x1, b.x1) - greatest(a.x0, b.x0) >= landdb._overlap_span(w)
    AND least(a.y1, b.y1) - greatest(a.y0, b.y0) >= landdb._overlap_span(w)
    AND (least(a.x1, b.x1) - greatest(a.x0, b.x0)) * (least(a.y1, b.y1) - greatest(a.y0, b.y0)) >= 0.999 * tol
    AND floor(greatest(a.x0, b.x0) / cell) = a.cx AND floor(greatest(a.y0, b.y0) / cell) = a.cy
$$;
COMMENT ON FUNCTION landdb._supply_pairs(date, double precision, double precision, integer, integer, double precision) IS '外包框重叠的有效供地对（网格连接，内部） | pairs of supplies in force whose boxes overlap, by a grid join (internal)';

-- supply_overlap for the grid columns c_lo … c_hi - 1 (NULL, NULL: all), or for the pairs with a
-- supply of a scope.
DROP FUNCTION IF EXISTS landdb._supply_overlap(date, bigint[], integer, integer);
CREATE FUNCTION landdb._supply_overlap(as_of date, supply_scope bigint[], c_lo integer, c_hi integer)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE plpgsql STABLE PARALLEL SAFE COST 10000000 AS $$
#variable_conflict use_column
DECLARE
  d date := as_of;
  tol double precision := landdb.setting_num('overlap_tolerance_m2');
  w double precision := landdb.setting_num('sliver_width_m');
  min_m2 double precision := landdb.setting_num('sliver_area_m2');
BEGIN
  RETURN QUERY
  WITH
  -- the pairs: without a scope from the grid; with one, straight from the table (a CTE would lose
  -- the spatial index)
  p AS MATERIALIZED (
    SELECT x.i, x.j FROM landdb._supply_pairs(d, w, tol, c_lo, c_hi) x WHERE supply_scope IS NULL
    UNION ALL
    SELECT DISTINCT least(a.id, b.id), greatest(a.id, b.id)
    FROM landdb.supply a JOIN landdb.supply b ON a.id <> b.id AND a.geom && b.geom
    WHERE a.id = ANY (supply_scope) AND landdb.in_force(a.contract_date, a.reclaimed_date, d)
      AND landdb.in_force(b.contract_date, b.reclaimed_date, d)
      AND landdb._may_overlap(a.geom, b.geom, w, tol)
  ),
  o AS MATERIALIZED (
    SELECT p.i, p.j, landdb.drop_slivers(ST_Intersection(a.geom, b.geom), w, min_m2) AS g,
           a.supply_key AS a_key, a.land_user AS a_user, a.contract_date AS a_date, a.supply_method AS a_method,
           a.township AS a_township,
           b.supply_key AS b_key, b.land_user AS b_user, b.contract_date AS b_date, b.supply_method AS b_method
    -- (each pair's two supplies by their keys: a stripe has few pairs, and a hash join would read
    -- the whole table for each)
    FROM p
    CROSS JOIN LATERAL (SELECT x.* FROM landdb.supply x WHERE x.id = p.i OFFSET 0) a
    CROSS JOIN LATERAL (SELECT x.* FROM landdb.supply x WHERE x.id = p.j OFFSET 0) b
  )
  SELECT 'supply_overlap', least(o.a_key, o.b_key) || ' | ' || greatest(o.a_key, o.b_key), '低',
         ST_Area(o.g),
         format('有效供地%s（%s）与%s（%s）重叠%s平方米', o.a_key, coalesce(o.a_user, '—'), o.b_key,
                coalesce(o.b_user, '—'), landdb._n(ST_Area(o.g), 1)),
         jsonb_build_object('supplies', jsonb_build_array(
             jsonb_build_object('supply_key', o.a_key, 'land_user', o.a_user, 'contract_date', o.a_date,
                                'supply_method', o.a_method),
             jsonb_build_object('supply_key', o.b_key, 'land_user', o.b_user, 'contract_date', o.b_date,
                                'supply_method', o.b_method)), 'overlap_m2', ST_Area(o.g)),
         coalesce(nullif(o.a_township, ''), landdb.township_at(o.g)), landdb._flag_geom(o.g), '{}'::bigint[],
         ARRAY[o.i, o.j]
  FROM o
  WHERE o.g IS NOT NULL AND ST_Area(o.g) >= tol;
END $$;
COMMENT ON FUNCTION landdb._supply_overlap(date, bigint[], integer, integer) IS '供地宗地重叠（按网格列或范围，内部） | supply_overlap for grid columns or a scope (internal)';

DROP FUNCTION IF EXISTS landdb.rule_supply_overlap(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_supply_overlap(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  SELECT * FROM landdb._supply_overlap($1, $4, NULL, NULL)
$$;
COMMENT ON FUNCTION landdb.rule_supply_overlap(date, bigint, bigint[], bigint[]) IS '规则：供地宗地重叠 | rule supply_overlap';

DROP FUNCTION IF EXISTS landdb.rule_supply_no_geometry(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_supply_no_geometry(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  SELECT 'supply_no_geometry', s.supply_key, '低', coalesce(l.m2, s.area::double precision * 10000),
         CASE WHEN l.ids IS NULL THEN '供地无宗地图形且未登记批次关联，未计入任何批次的已供面积'
              ELSE format('供地无宗地图形，按登记关联面积%s平方米计入批次%s的已供面积', landdb._n(l.m2, 0), l.names) END,
         jsonb_build_object('supply_key', s.supply_key, 'dzjgh', s.dzjgh, 'project_name', s.project_name,
                            'land_user', s.land_user, 'declared_area_ha', s.area, 'contract_date', s.contract_date,
                            'links', coalesce(l.links, '[]'::jsonb)),
         coalesce(nullif(s.township, ''), l.twp), NULL::geometry, coalesce(l.ids, '{}'::bigint[]), ARRAY[s.id]
  FROM landdb.supply s
  LEFT JOIN LATERAL (
    SELECT array_agg(b.id ORDER BY b.id) AS ids, string_agg(b.pzwh, '、' ORDER BY b.id) AS names, min(b.township) AS twp,
           sum(coalesce(sb.area, CASE WHEN n.n = 1 THEN s.area END, 0)::double precision * 10000) AS m2,
           jsonb_agg(jsonb_build_object('pzwh', b.pzwh, 'area_ha', coalesce(sb.area, CASE WHEN n.n = 1 THEN s.area END))
                     ORDER BY b.id) AS links
    FROM landdb.supply_batch sb JOIN landdb.approval_batch b ON b.id = sb.batch_id,
         (SELECT count(*) AS n FROM landdb.supply_batch x WHERE x.supply_id = s.id) n
    WHERE sb.supply_id = s.id) l ON true
  WHERE s.geom IS NULL AND ($4 IS NULL OR s.id = ANY ($4))
    AND landdb.in_force(s.contract_date, s.reclaimed_date, $1)
$$;
COMMENT ON FUNCTION landdb.rule_supply_no_geometry(date, bigint, bigint[], bigint[]) IS '规则：供地无宗地图形 | rule supply_no_geometry';

-- Declared area against the area of the geometry: batches (approved_area) and supplies (area),
-- as recorded by as_of.
DROP FUNCTION IF EXISTS landdb.rule_area_mismatch(date, bigint, bigint[], bigint[]);
CREATE FUNCTION landdb.rule_area_mismatch(as_of date, run_id bigint DEFAULT NULL,
    batch_scope bigint[] DEFAULT NULL, supply_scope bigint[] DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE sql STABLE AS $$
  -- (MATERIALIZED: read once; inlined, the settings would be read again for every row. Each
  -- table is read whole, or by the ids of the scope through its index, as in landdb.supply_state.)
  WITH cfg AS MATERIALIZED (SELECT landdb.setting_num('area_mismatch_share') AS share,
                                   landdb.setting_num('area_mismatch_min_m2') AS min_m2),
  x AS (
    SELECT '批次' AS kind, b.id, b.pzwh_key AS subject, b.pzwh AS name, b.approved_area::double precision AS ha,
           b.area_m2, b.township, b.geom, ARRAY[b.id] AS bids, '{}'::bigint[] AS sids
    FROM (SELECT * FROM landdb.approval_batch WHERE $3 IS NULL
          UNION ALL SELECT * FROM landdb.approval_batch WHERE id = ANY ($3)) b
    WHERE b.geom IS NOT NULL AND b.approved_area IS NOT NULL AND coalesce(b.approval_date <= $1, true)
    UNION ALL
    SELECT '供地', s.id, s.supply_key, coalesce(s.project_name, s.supply_key), s.area::double precision,
           s.area_m2, s.township, s.geom, '{}'::bigint[], ARRAY[s.id]
    FROM (SELECT * FROM landdb.supply WHERE $4 IS NULL UNION ALL SELECT * FROM landdb.supply WHERE id = ANY ($4)) s
    WHERE s.geom IS NOT NULL AND s.area IS NOT NULL AND coalesce(s.contract_date <= $1, true)
  )
  SELECT 'area_mismatch', x.subject, '低', abs(x.ha * 10000 - x.area_m2),
         format('%s%s申报面积%s公顷，图形面积%s公顷，相差%s%%', x.kind, x.name, landdb._n(x.ha, 4),
                landdb._n(x.area_m2 / 10000, 4), landdb._n((x.ha * 10000 - x.area_m2) / x.area_m2 * 100, 1)),
         jsonb_build_object('kind', x.kind, 'declared_ha', x.ha, 'geometry_m2', x.area_m2,
                            'geometry_ha', x.area_m2 / 10000, 'difference_m2', x.ha * 10000 - x.area_m2,
                            'difference_share', (x.ha * 10000 - x.area_m2) / x.area_m2),
         coalesce(nullif(x.township, ''), landdb.township_at(x.geom)), landdb._flag_geom(x.geom), x.bids, x.sids
  FROM cfg, x
  WHERE abs(x.ha * 10000 - x.area_m2) > cfg.share * x.area_m2 AND abs(x.ha * 10000 - x.area_m2) > cfg.min_m2
$$;
COMMENT ON FUNCTION landdb.rule_area_mismatch(date, bigint, bigint[], bigint[]) IS '规则：申报面积与图形面积不符 | rule area_mismatch';

-- ================================================================ all rules
-- Every rule's flags as of a date (computed now unless a run is given).
DROP FUNCTION IF EXISTS landdb.flags(date, text[], bigint);
CREATE FUNCTION landdb.flags(as_of date, rules text[] DEFAULT NULL, run_id bigint DEFAULT NULL)
RETURNS TABLE (rule text, subject text, severity text, area_m2 double precision, message text, details jsonb,
               township text, geom geometry, batch_ids bigint[], supply_ids bigint[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.rule FROM landdb.rule_catalog() c
           WHERE flags.rules IS NULL OR c.rule = ANY (flags.rules) ORDER BY c.sort LOOP
    RETURN QUERY EXECUTE format('SELECT * FROM landdb.%I($1, $2)', 'rule_' || r.rule) USING flags.as_of, flags.run_id;
  END LOOP;
END $$;
COMMENT ON FUNCTION landdb.flags(date, text[], bigint) IS '按规则检查（基准日，现算） | flags of every rule (or of the rules named) as of a date';
