-- 批而未供 overlay: what remains of each approval batch as of a date, in SQL, set-based.
-- Re-created on every upgrade.
--
--   remainder = batch − supplies in force − approved withdrawals
--
-- Before every overlay the cutting geometries are snapped onto the batch (snap_tolerance_m;
-- supplies and expropriations one by one, before their union) and the pieces of a difference that
-- are slivers are dropped: a piece is a sliver when it is smaller than sliver_area_m2, or when its
-- inward buffer by half of sliver_width_m is empty (narrower than the width). A sliver between a batch and a supply is noise of digitising, so its area counts as
-- supplied. The remainder is split into 批而未征 (collective land not yet expropriated), 征而未供
-- (state land, or expropriated land) and 未供 (ownership unknown: no parcel says).
--
-- Records without geometry count in the figures only: a supply without geometry by its recorded
-- link to the batch (supply_batch.area, 公顷); an approved withdrawal without geometry by its
-- withdrawn_area (a withdrawal with neither geometry nor area withdraws the whole batch); an
-- acquisition without geometry by its acquired_area (with neither: the whole batch). A date that
-- is missing means "happened, date unknown": such a record counts at every as-of date.

-- ---------------------------------------------------------------- small helpers
CREATE OR REPLACE FUNCTION landdb.setting_num(k text) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT (value #>> '{}')::double precision FROM landdb.setting WHERE key = k
$$;
COMMENT ON FUNCTION landdb.setting_num(text) IS '读取数值参数 | read a numeric setting';

CREATE OR REPLACE FUNCTION landdb.setting_list(k text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(e ORDER BY o), '{}')
  FROM landdb.setting s, jsonb_array_elements_text(s.value) WITH ORDINALITY AS t(e, o)
  WHERE s.key = k AND jsonb_typeof(s.value) = 'array'
$$;
COMMENT ON FUNCTION landdb.setting_list(text) IS '读取列表参数 | read a list setting';

-- The last day of a period of n years starting (not counted) on d — 民法典 Art. 201–202: the
-- period ends on the corresponding day, or on the last day of the month where there is none
-- (2020-02-29 + 1 year → 2021-02-28, which PostgreSQL's date + interval already gives). The
-- period is complete once that day is over: as_of > landdb.period_end(d, n).
CREATE OR REPLACE FUNCTION landdb.period_end(d date, n double precision) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (d + make_interval(years => floor(n)::int, days => 0)
            + make_interval(months => round((n - floor(n)) * 12)::int))::date
$$;
COMMENT ON FUNCTION landdb.period_end(date, double precision) IS '期间届满日（民法典第二百零一、二百零二条） | last day of an n-year period starting after d';

-- Full years elapsed after d as of as_of (a year is full once its last day is over).
-- (plpgsql: called per row, and a SQL body with a sub-select could not be inlined)
CREATE OR REPLACE FUNCTION landdb.full_years(d date, as_of date) RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n integer;
BEGIN
  IF d IS NULL OR as_of IS NULL THEN
    RETURN NULL;
  ELSIF as_of <= d THEN
    RETURN 0;
  END IF;
  n := date_part('year', age(as_of, d))::integer;
  IF (d + make_interval(years => n + 1))::date < as_of THEN
    RETURN n + 1;
  ELSIF (d + make_interval(years => n))::date < as_of THEN
    RETURN n;
  END IF;
  RETURN greatest(n - 1, 0);
END $$;
COMMENT ON FUNCTION landdb.full_years(date, date) IS '满整年数（起算日不计入） | full years elapsed after d as of a date';

-- A supply is in force on as_of: contracted (or allocated) on or before it, not reclaimed by it.
CREATE OR REPLACE FUNCTION landdb.in_force(contract_date date, reclaimed_date date, as_of date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(contract_date <= as_of, true) AND (reclaimed_date IS NULL OR reclaimed_date > as_of)
$$;
COMMENT ON FUNCTION landdb.in_force(date, date, date) IS '供地在基准日是否有效（已签订且未收回） | supply in force on a date';

-- A supply method is in a list when it contains one of its words ('出让' matches '挂牌出让').
CREATE OR REPLACE FUNCTION landdb.method_in(method text, methods text[]) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  m text;
BEGIN
  IF method IS NULL OR method = '' THEN
    RETURN false;
  END IF;
  FOREACH m IN ARRAY coalesce(methods, '{}') LOOP
    IF m <> '' AND strpos(method, m) > 0 THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END $$;
COMMENT ON FUNCTION landdb.method_in(text, text[]) IS '取值是否包含列表中的某个词 | value contains one of the words';

-- The same test as a regular expression, for a scan: made once (the words are literal: their
-- special characters escaped), then `coalesce(value ~ landdb.words_regex(words), false)` costs
-- two thirds of a call of method_in per row (0.6 against 0.9 µs). NULL when there is no word
-- (the test is then false).
CREATE OR REPLACE FUNCTION landdb.words_regex(words text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT string_agg(regexp_replace(w, '([.^$*+?(){}|\\\[\]-])', '\\\1', 'g'), '|')
  FROM unnest(words) w WHERE w <> ''
$$;
COMMENT ON FUNCTION landdb.words_regex(text[]) IS '由词表生成正则表达式（任一词出现即匹配） | a regular expression matching a value that contains one of the words';

-- A polygon is a sliver when smaller than min_area or narrower than width (its inward buffer by
-- width/2 is empty). The buffer is skipped where something cheaper proves the polygon wide: its
-- area (a shape all of whose points lie within r of its boundary has an area of at most
-- 2·r·perimeter + π·r² per ring), or a point on its surface farther than 0.55·width from its
-- boundary (the inward buffer then holds a disc around that point; GEOS's buffer, whose arcs are
-- chords, removes less than the exact one).
CREATE OR REPLACE FUNCTION landdb.is_sliver(g geometry, width double precision, min_area double precision)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 200 AS $$
  SELECT ST_Area(g) < min_area
      OR (ST_Area(g) <= 2 * (width * ST_Perimeter(g) + pi() * width * width / 4 * ST_NRings(g))
          AND ST_Distance(ST_PointOnSurface(g), ST_Boundary(g)) <= 0.55 * width
          AND ST_IsEmpty(ST_Buffer(g, -width / 2, 'quad_segs=2')))
$$;
COMMENT ON FUNCTION landdb.is_sliver(geometry, double precision, double precision) IS '是否碎片（过小或过窄） | is the polygon a sliver (too small or too narrow)';

-- The polygons of g that are not slivers, as one MultiPolygon (NULL when none is left).
-- (plpgsql without queries: called once or more per batch, it must be cheap to call.)
DROP FUNCTION IF EXISTS landdb.valid_polygonal(geometry);
DROP FUNCTION IF EXISTS landdb.drop_slivers(geometry, double precision, double precision);
CREATE FUNCTION landdb.drop_slivers(g geometry, width double precision, min_area double precision)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 300 AS $$
DECLARE
  kept geometry[] := '{}';
  p geometry;
  n integer;
BEGIN
  IF g IS NULL THEN
    RETURN NULL;
  END IF;
  g := ST_CollectionExtract(g, 3);
  n := ST_NumGeometries(g);
  FOR i IN 1 .. coalesce(n, 0) LOOP
    p := ST_GeometryN(g, i);
    IF NOT ST_IsEmpty(p) AND NOT landdb.is_sliver(p, width, min_area) THEN
      kept := kept || p;
    END IF;
  END LOOP;
  -- (g comes from an overlay operation, whose output is valid, and so is any subset of its
  -- polygons: no validity test needed)
  IF cardinality(kept) = 0 THEN
    RETURN NULL;
  ELSIF cardinality(kept) = n THEN
    RETURN ST_Multi(g);
  END IF;
  RETURN ST_Multi(ST_Collect(kept));
END $$;
COMMENT ON FUNCTION landdb.drop_slivers(geometry, double precision, double precision) IS '去除碎片 | drop sliver polygons';

-- g snapped onto ref within tol, kept valid and polygonal.
DROP FUNCTION IF EXISTS landdb.snap_to(geometry, geometry, double precision);
CREATE FUNCTION landdb.snap_to(g geometry, ref geometry, tol double precision) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 300 AS $$
DECLARE
  s geometry;
BEGIN
  IF g IS NULL OR ref IS NULL OR tol <= 0 THEN
    RETURN g;
  END IF;
  s := ST_Snap(g, ref, tol);
  IF ST_IsValid(s) THEN
    RETURN s;
  END IF;
  RETURN ST_CollectionExtract(ST_MakeValid(s), 3);
END $$;
COMMENT ON FUNCTION landdb.snap_to(geometry, geometry, double precision) IS '按容差捕捉到参照图形 | snap onto a reference within a tolerance';

-- The union of an array of geometries; one geometry is returned as it is (NULL for none).
CREATE OR REPLACE FUNCTION landdb._union(gs geometry[]) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN gs IS NULL OR cardinality(gs) = 0 THEN NULL WHEN cardinality(gs) = 1 THEN gs[1] ELSE ST_Union(gs) END
$$;
COMMENT ON FUNCTION landdb._union(geometry[]) IS '几何数组合并（单个时原样返回） | union of geometries (one returned as is)';

-- The union of valid polygons (the supplies cut from a batch; through landdb._pieces_union, the
-- remainder pieces of a batch or a 边角地 cluster): the zero buffer of their collection. That is
-- one noding of all their rings, where ST_Union
-- merges them pairwise and nodes again at every level: on supplies that tile a batch, sharing edges,
-- it takes half the time (20 000 batches: 1.5 s against 2.8 s), with the same area. Its edges may
-- lie nearer to one another than ST_Union's; predicates (ST_CoveredBy …) can fail on that, overlay
-- operations do not. (Only for valid polygons: the zero buffer of a self-intersecting ring loses
-- part of it.)
CREATE OR REPLACE FUNCTION landdb._cut_union(gs geometry[]) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN gs IS NULL OR cardinality(gs) = 0 THEN NULL WHEN cardinality(gs) = 1 THEN gs[1]
              ELSE ST_Buffer(ST_Collect(gs), 0) END
$$;
COMMENT ON FUNCTION landdb._cut_union(geometry[]) IS '被扣除图形的合并（零缓冲，内部） | union of polygons to be cut away (zero buffer, internal)';

-- Township and development zone of a place: the area holding a point on its surface.
CREATE OR REPLACE FUNCTION landdb.township_at(g geometry) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT a.admin_name FROM landdb.admin_area a, (SELECT ST_PointOnSurface(g) AS p) x
  WHERE a.level = '乡镇' AND a.geom && x.p AND ST_Intersects(a.geom, x.p)
  ORDER BY a.admin_code LIMIT 1
$$;
COMMENT ON FUNCTION landdb.township_at(geometry) IS '图形所在乡镇（行政区叠加） | township holding the geometry';

CREATE OR REPLACE FUNCTION landdb.zone_at(g geometry) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT z.zone_code FROM landdb.dev_zone z, (SELECT ST_PointOnSurface(g) AS p) x
  WHERE z.geom && x.p AND ST_Intersects(z.geom, x.p)
  ORDER BY z.zone_code LIMIT 1
$$;
COMMENT ON FUNCTION landdb.zone_at(geometry) IS '图形所在开发区（叠加） | development zone holding the geometry';

-- The first of names whose area (geoms, in the same order) holds the point p; NULL for none.
CREATE OR REPLACE FUNCTION landdb._first_holding(p geometry, names text[], geoms geometry[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  FOR i IN 1 .. coalesce(cardinality(names), 0) LOOP
    IF geoms[i] && p AND ST_Intersects(geoms[i], p) THEN
      RETURN names[i];
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

-- For each remainder piece of a batch: the township and development zone holding a point on its
-- surface (as landdb.township_at and landdb.zone_at give them: the first by code), and, when
-- asked, the piece made valid (overlay output is valid; the guard keeps one odd input from
-- failing the whole run). Empty pieces get NULLs. The townships and zones whose boxes meet the
-- pieces' box are looked up once for all pieces of the batch, and each piece's point tested
-- against them only (none there, as for most batches and zones: no point at all): the 137 611
-- pieces of the 20 000-batch sample county at 1 mm take 2.6 s in one process, against 5.6 s for
-- a call of township_at and zone_at per piece (a query each).
DROP FUNCTION IF EXISTS landdb._piece_places(geometry[]);
DROP FUNCTION IF EXISTS landdb._piece_places(geometry[], boolean);
CREATE FUNCTION landdb._piece_places(gs geometry[], make_valid boolean DEFAULT true,
    OUT townships text[], OUT zones text[], OUT geoms geometry[])
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  g geometry;
  p geometry;
  box geometry;
  t_names text[];
  t_geoms geometry[];
  z_codes text[];
  z_geoms geometry[];
  t text;
  z text;
BEGIN
  townships := '{}';
  zones := '{}';
  geoms := '{}';
  IF coalesce(cardinality(gs), 0) = 0 THEN
    RETURN;
  END IF;
  box := ST_Envelope(ST_Collect(gs));
  SELECT array_agg(a.admin_name ORDER BY a.admin_code), array_agg(a.geom ORDER BY a.admin_code)
    INTO t_names, t_geoms
  FROM landdb.admin_area a WHERE a.level = '乡镇' AND a.geom && box;
  SELECT array_agg(x.zone_code ORDER BY x.zone_code), array_agg(x.geom ORDER BY x.zone_code)
    INTO z_codes, z_geoms
  FROM landdb.dev_zone x WHERE x.geom && box;
  FOREACH g IN ARRAY gs LOOP
    t := NULL;
    z := NULL;
    IF g IS NULL OR ST_IsEmpty(g) THEN
      g := NULL;
    ELSE
      IF t_names IS NOT NULL OR z_codes IS NOT NULL THEN
        p := ST_PointOnSurface(g);
        t := landdb._first_holding(p, t_names, t_geoms);
        z := landdb._first_holding(p, z_codes, z_geoms);
      END IF;
      IF make_valid AND NOT ST_IsValid(g) THEN
        g := ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3));
      END IF;
    END IF;
    townships := townships || t;
    zones := zones || z;
    geoms := geoms || g;
  END LOOP;
END $$;
COMMENT ON FUNCTION landdb._piece_places(geometry[], boolean) IS '图斑所在乡镇、开发区及有效图形（内部） | township, zone and valid geometry of each piece (internal)';

-- ---------------------------------------------------------------- one batch
-- The polygons of g as an array (plain expressions only: this runs once per batch).
CREATE OR REPLACE FUNCTION landdb._polygons(g geometry) RETURNS geometry[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  out geometry[] := '{}';
  p geometry;
BEGIN
  IF g IS NULL OR ST_IsEmpty(g) THEN
    RETURN out;
  END IF;
  g := ST_CollectionExtract(g, 3);
  FOR i IN 1 .. ST_NumGeometries(g) LOOP
    p := ST_GeometryN(g, i);
    IF NOT ST_IsEmpty(p) THEN
      out := out || p;
    END IF;
  END LOOP;
  RETURN out;
END $$;

DROP FUNCTION IF EXISTS landdb._snap_batch(geometry, geometry, double precision);

-- The remainder pieces of one batch from the unions of what cuts it (cut: the supplies, each
-- already snapped onto the batch). r1 is what supplies leave,
-- r2 what withdrawals leave of r1. The classes come from the collective and state parcels and
-- the expropriated land, taken in turn: 批而未征 = r2 ∩ (collective − expropriated); of the rest,
-- 征而未供 = rest ∩ (state ∪ expropriated); what is left is 未供. A sliver of a class is not split
-- off: it stays in the rest and so joins the next class (slivers left at the end join 征而未供),
-- so the pieces always add up to the remainder.
-- covered: the batch's collective and state parcels cover it, so that whatever is not 批而未征 is
-- 征而未供; state is then not needed, and coll and acq may be given without the parcels and
-- expropriations that are one and the same (coll − acq is all that counts). acq comes snapped
-- onto the batch, like cut.
DROP FUNCTION IF EXISTS landdb._batch_pieces(geometry, geometry, geometry, geometry, geometry, geometry,
                                             double precision, double precision, double precision);
DROP FUNCTION IF EXISTS landdb._batch_pieces(geometry, geometry, geometry, geometry, geometry, geometry,
                                             double precision, double precision, double precision, text);
DROP FUNCTION IF EXISTS landdb._batch_pieces(geometry, geometry, geometry, geometry, geometry, geometry,
                                             double precision, double precision, double precision, boolean);
CREATE FUNCTION landdb._batch_pieces(
    bgeom geometry, cut geometry, wd geometry, coll geometry, state geometry, acq geometry,
    snap double precision, width double precision, min_area double precision, covered boolean DEFAULT false,
    OUT r1_m2 double precision, OUT r2_m2 double precision,
    OUT statuses text[], OUT geoms geometry[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
DECLARE
  r1 geometry;
  r2 geometry;
  acq_s geometry;
  x geometry;      -- collective land not expropriated
  k geometry;      -- state land or expropriated land
  rest geometry;
  a geometry;      -- 批而未征, without slivers
  b geometry;      -- 征而未供, without slivers
  c geometry[];    -- what is left: 未供 polygons and slivers
  p geometry;
  sl geometry[] := '{}';
BEGIN
  statuses := '{}';
  geoms := '{}';
  r1_m2 := 0;
  r2_m2 := 0;
  IF bgeom IS NULL THEN
    RETURN;
  END IF;
  r1 := CASE WHEN cut IS NULL THEN bgeom
             ELSE landdb.drop_slivers(ST_Difference(bgeom, cut), width, min_area) END;
  r2 := CASE WHEN wd IS NULL OR r1 IS NULL THEN r1
             ELSE landdb.drop_slivers(ST_Difference(r1, landdb.snap_to(wd, bgeom, snap)), width, min_area) END;
  r1_m2 := coalesce(ST_Area(r1), 0);
  r2_m2 := coalesce(ST_Area(r2), 0);
  IF r2 IS NULL THEN
    RETURN;
  END IF;

  IF covered THEN
    x := coll;
    IF x IS NOT NULL AND acq IS NOT NULL AND x && acq THEN
      x := ST_Difference(x, acq);
    END IF;
    IF x IS NOT NULL AND x = bgeom THEN
      -- all the batch is collective land, none of it expropriated: all of r2 (which lies in the
      -- batch) is 批而未征 but its slivers, without an overlay operation
      FOREACH p IN ARRAY landdb._polygons(r2) LOOP
        IF landdb.is_sliver(p, width, min_area) THEN
          sl := sl || p;
        ELSE
          c := c || p;
        END IF;
      END LOOP;
      a := CASE WHEN cardinality(c) > 0 THEN ST_Multi(ST_Collect(c)) END;
      b := CASE WHEN cardinality(sl) > 0 THEN ST_Multi(ST_Collect(sl)) END;
      c := NULL;
    ELSE
      IF x IS NOT NULL AND NOT ST_IsEmpty(x) AND r2 && x THEN
        a := landdb.drop_slivers(ST_Intersection(r2, x), width, min_area);
      END IF;
      b := CASE WHEN a IS NULL THEN ST_Multi(r2) ELSE ST_Multi(ST_CollectionExtract(ST_Difference(r2, a), 3)) END;
      IF ST_IsEmpty(b) THEN
        b := NULL;
      END IF;
    END IF;
  ELSE
    acq_s := acq;
    IF coll IS NOT NULL THEN
      x := CASE WHEN acq_s IS NULL THEN coll ELSE ST_Difference(coll, acq_s) END;
      IF ST_IsEmpty(x) THEN x := NULL; END IF;
    END IF;
    k := CASE WHEN state IS NULL THEN acq_s WHEN acq_s IS NULL THEN state ELSE ST_Union(state, acq_s) END;

    -- Bounding boxes, then overlay operations (robust in GEOS ≥ 3.9) rather than predicates
    -- (ST_Intersects/ST_CoveredBy can raise TopologyException on nearly coincident edges).
    rest := r2;
    IF x IS NOT NULL AND r2 && x THEN
      a := landdb.drop_slivers(ST_Intersection(r2, x), width, min_area);
      IF a IS NOT NULL THEN
        rest := ST_Difference(r2, a);
      END IF;
    END IF;
    IF k IS NOT NULL AND NOT ST_IsEmpty(rest) AND rest && k THEN
      IF ST_Area(ST_Difference(rest, k)) <= greatest(min_area, 1e-6) THEN
        -- the usual case: parcels and expropriations cover the batch
        b := ST_Multi(rest);
        rest := NULL;
      ELSE
        b := landdb.drop_slivers(ST_Intersection(rest, k), width, min_area);
        IF b IS NOT NULL THEN
          rest := ST_Difference(rest, b);
        END IF;
      END IF;
    END IF;
    c := landdb._polygons(rest);
    IF b IS NOT NULL OR a IS NOT NULL THEN
      -- slivers left over join 征而未供 (or 批而未征 where there is none)
      FOREACH p IN ARRAY c LOOP
        IF landdb.is_sliver(p, width, min_area) THEN
          sl := sl || p;
        END IF;
      END LOOP;
      IF cardinality(sl) > 0 THEN
        IF b IS NOT NULL THEN
          b := ST_Union(b, ST_Collect(sl));
        ELSE
          a := ST_Union(a, ST_Collect(sl));
        END IF;
        c := ARRAY(SELECT q FROM unnest(c) q WHERE NOT landdb.is_sliver(q, width, min_area));
      END IF;
    END IF;
  END IF;
  FOREACH p IN ARRAY landdb._polygons(a) LOOP
    statuses := statuses || '批而未征'::text; geoms := geoms || ST_Multi(p);
  END LOOP;
  FOREACH p IN ARRAY landdb._polygons(b) LOOP
    statuses := statuses || '征而未供'::text; geoms := geoms || ST_Multi(p);
  END LOOP;
  FOREACH p IN ARRAY coalesce(c, '{}') LOOP
    statuses := statuses || '未供'::text; geoms := geoms || ST_Multi(p);
  END LOOP;
END $$;
COMMENT ON FUNCTION landdb._batch_pieces(geometry, geometry, geometry, geometry, geometry, geometry, double precision, double precision, double precision, boolean)
  IS '单个批次的批而未供图斑（内部） | remainder pieces of one batch (internal)';

-- Class areas {批而未征, 征而未供, 未供} after the records without geometry: expropriations move land
-- from 批而未征 to 征而未供; supplies come off 征而未供 first (land is supplied once expropriated),
-- then 未供, then 批而未征; withdrawals come off 批而未征 first, then 未供, then 征而未供.
CREATE OR REPLACE FUNCTION landdb._class_areas(
    c1 double precision, c2 double precision, c3 double precision,
    acquired double precision, supplied double precision, withdrawn double precision)
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  t double precision;
BEGIN
  c1 := coalesce(c1, 0); c2 := coalesce(c2, 0); c3 := coalesce(c3, 0);
  t := least(c1, coalesce(acquired, 0)); c1 := c1 - t; c2 := c2 + t;
  supplied := coalesce(supplied, 0);
  t := least(c2, supplied); c2 := c2 - t; supplied := supplied - t;
  t := least(c3, supplied); c3 := c3 - t; supplied := supplied - t;
  t := least(c1, supplied); c1 := c1 - t;
  withdrawn := coalesce(withdrawn, 0);
  t := least(c1, withdrawn); c1 := c1 - t; withdrawn := withdrawn - t;
  t := least(c3, withdrawn); c3 := c3 - t; withdrawn := withdrawn - t;
  t := least(c2, withdrawn); c2 := c2 - t;
  RETURN ARRAY[c1, c2, c3];
END $$;
COMMENT ON FUNCTION landdb._class_areas(double precision, double precision, double precision, double precision, double precision, double precision)
  IS '批而未征、征而未供、未供面积（计入无图形记录，内部） | class areas after records without geometry (internal)';

-- ---------------------------------------------------------------- one batch, with its inputs
-- Everything about one batch as of a date, from its inputs as _overlay gathers them: it cuts the
-- batch and counts the records without geometry. Plain computation, no queries: the inputs of all
-- batches are looked up by one statement (lateral joins: their plans start once, not once per
-- batch), so that PostgreSQL can run the batches of a large county in parallel workers.
--  cut: the union of the supplies in force cutting the batch, each snapped onto it;
--  wd: the union of approved withdrawals with geometry (or the whole batch); wd_nogeom: withdrawn
--      by area only; wd_all: every withdrawal by its area (for a batch without geometry);
--  coll_parts/state_parts, coll_m2/state_m2: the batch's collective and state parcels;
--  acq_parts: expropriations done, with geometry (or the whole batch); acq_nogeom: by area only;
--  links/recorded/link_nogeom: recorded links (监测监管系统) and their areas in m², all and those
--      of supplies without geometry.
DROP FUNCTION IF EXISTS landdb._batch_overlay(bigint, geometry, numeric, date, double precision, double precision,
                                              double precision);
DROP FUNCTION IF EXISTS landdb._batch_overlay(bigint, geometry, numeric, double precision, double precision,
                                              double precision, geometry, geometry, double precision,
                                              double precision, geometry[], geometry[], double precision,
                                              double precision, geometry[], double precision, bigint,
                                              double precision, double precision);
CREATE FUNCTION landdb._batch_overlay(
    bid bigint, bgeom geometry, declared_ha numeric,
    snap double precision, width double precision, min_area double precision,
    cut geometry, wd geometry, wd_nogeom double precision, wd_all double precision,
    coll_parts geometry[], state_parts geometry[], coll_m2 double precision, state_m2 double precision,
    acq_parts geometry[], acq_nogeom double precision,
    links bigint, recorded double precision, link_nogeom double precision,
    OUT approved_m2 double precision, OUT supplied_m2 double precision, OUT withdrawn_m2 double precision,
    OUT unsupplied_m2 double precision, OUT unacquired_m2 double precision,
    OUT acquired_unsupplied_m2 double precision, OUT supply_rate double precision,
    OUT recorded_supplied_m2 double precision, OUT recorded_supply_rate double precision,
    OUT nogeom_supplied_m2 double precision, OUT nogeom_withdrawn_m2 double precision,
    OUT statuses text[], OUT geoms geometry[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
DECLARE
  v_coll geometry;
  v_state geometry;
  v_coll_free geometry[] := '{}';
  v_coll_taken geometry[] := '{}';
  v_acq_free geometry[] := '{}';
  g geometry;
  v_covered boolean;
  v_acq geometry;
  pc record;
  cls double precision[];
  c1 double precision;
  c2 double precision;
  c3 double precision;
BEGIN
  recorded_supplied_m2 := CASE WHEN links > 0 THEN coalesce(recorded, 0) END;
  IF bgeom IS NULL THEN
    -- no geometry: everything counts from the records
    approved_m2 := coalesce(declared_ha::double precision * 10000, 0);
    nogeom_supplied_m2 := coalesce(recorded, 0);
    nogeom_withdrawn_m2 := least(coalesce(wd_all, 0), approved_m2);
    supplied_m2 := nogeom_supplied_m2;
    withdrawn_m2 := nogeom_withdrawn_m2;
    unsupplied_m2 := greatest(approved_m2 - supplied_m2 - withdrawn_m2, 0);
    statuses := '{}';
    geoms := '{}';
  ELSE
    approved_m2 := ST_Area(bgeom);
    nogeom_supplied_m2 := coalesce(link_nogeom, 0);
    nogeom_withdrawn_m2 := coalesce(wd_nogeom, 0);
    coll_m2 := coalesce(coll_m2, 0);
    state_m2 := coalesce(state_m2, 0);
    -- The batch is the union of its parcels: when collective and state parcels add up to its
    -- area, they cover it and the classes need fewer overlay operations, above all where the
    -- expropriations are the collective parcels themselves (as they usually are).
    v_covered := abs(coll_m2 + state_m2 - approved_m2) <= 1e-7 * approved_m2 + 1e-4;
    -- expropriations that are one of its collective parcels, vertex for vertex, and the rest
    -- (snapped onto the batch, like supplies)
    FOREACH g IN ARRAY coalesce(coll_parts, '{}') LOOP
      IF g = ANY (acq_parts) THEN
        v_coll_taken := v_coll_taken || g;
      ELSE
        v_coll_free := v_coll_free || g;
      END IF;
    END LOOP;
    FOREACH g IN ARRAY coalesce(acq_parts, '{}') LOOP
      IF NOT (v_covered AND g = ANY (v_coll_taken)) THEN
        v_acq_free := v_acq_free || landdb.snap_to(g, bgeom, snap);
      END IF;
    END LOOP;
    IF v_covered THEN
      v_coll := CASE WHEN coll_m2 = 0 THEN NULL
                     WHEN state_m2 = 0 AND cardinality(v_coll_taken) = 0 THEN bgeom
                     ELSE landdb._union(v_coll_free) END;
      v_acq := landdb._union(v_acq_free);
    ELSE
      v_coll := landdb._union(coll_parts);
      v_state := landdb._union(state_parts);
      v_acq := landdb._union(v_acq_free);
    END IF;
    pc := landdb._batch_pieces(bgeom, cut, wd, v_coll, v_state, v_acq, snap, width, min_area, v_covered);
    statuses := pc.statuses;
    geoms := pc.geoms;
    supplied_m2 := approved_m2 - pc.r1_m2 + nogeom_supplied_m2;
    withdrawn_m2 := pc.r1_m2 - pc.r2_m2 + nogeom_withdrawn_m2;
    c1 := 0; c2 := 0; c3 := 0;
    FOR i IN 1 .. coalesce(cardinality(statuses), 0) LOOP
      CASE statuses[i]
        WHEN '批而未征' THEN c1 := c1 + ST_Area(geoms[i]);
        WHEN '征而未供' THEN c2 := c2 + ST_Area(geoms[i]);
        ELSE c3 := c3 + ST_Area(geoms[i]);
      END CASE;
    END LOOP;
    cls := landdb._class_areas(c1, c2, c3, acq_nogeom, nogeom_supplied_m2, nogeom_withdrawn_m2);
    unsupplied_m2 := cls[1] + cls[2] + cls[3];
    unacquired_m2 := cls[1];
    acquired_unsupplied_m2 := cls[2];
  END IF;
  IF approved_m2 - withdrawn_m2 > 0 THEN
    supply_rate := supplied_m2 / (approved_m2 - withdrawn_m2);
    recorded_supply_rate := recorded_supplied_m2 / (approved_m2 - withdrawn_m2);
  END IF;
END $$;
COMMENT ON FUNCTION landdb._batch_overlay(bigint, geometry, numeric, double precision, double precision,
                                          double precision, geometry, geometry, double precision,
                                          double precision, geometry[], geometry[], double precision,
                                          double precision, geometry[], double precision, bigint,
                                          double precision, double precision)
  IS '单个批次的叠加分析（内部） | overlay of one batch with its inputs (internal)';

-- ---------------------------------------------------------------- all batches
-- One row per batch of the chunk that begins at id lo (firsts: the first id of every chunk, in
-- order; the chunk ends before the next), of those in scope (NULL: all): figures, and
-- the remainder pieces as arrays. Every aggregate is ordered, so the same data always give the same
-- geometry. The inputs of a batch, each from one lateral join:
--  c: supplies in force cutting the batch, each snapped onto the batch before the union (a
--     single parcel snapped stays valid, where the union of many snapped at once often does
--     not and must be repaired at great cost);
--  c and q take every supply and expropriation whose box overlaps the batch's, without an
--     ST_Intersects test: one that misses the batch (snapped onto it, it touches it at most)
--     leaves its remainder and classes as they are, and the test (a relate of two polygons, 7–13 µs) was 15 % of the overlay's time
--     (in the sample county every box that overlaps also intersects);
--  w: approved withdrawals (only 批复 counts); without geometry or area: the whole batch;
--  p: ownership of its parcels (their unions are made only where needed);
--  q: expropriations done: with geometry where they lie; without, by area, or (no area) the
--     whole batch;
--  l: recorded links (监测监管系统): declared area from this batch, 公顷; a link without an area
--     takes the supply's declared area when it is the supply's only link.
-- (plpgsql, so that it is planned and started once per chunk and never inlined into the caller:
-- joined laterally to the batch, these look-ups would keep PostgreSQL 15 from using parallel
-- workers; _overlay runs the chunks in parallel instead.)
DROP FUNCTION IF EXISTS landdb._overlay_part(date, bigint[], bigint, bigint, double precision, double precision,
                                             double precision);
DROP FUNCTION IF EXISTS landdb._overlay_part(date, bigint[], bigint[], bigint, double precision, double precision,
                                             double precision);
CREATE FUNCTION landdb._overlay_part(
    as_of date, scope bigint[], firsts bigint[], lo bigint,
    snap double precision, width double precision, min_area double precision)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, approval_date date, township text, zone_code text,
    approved_m2 double precision, supplied_m2 double precision, withdrawn_m2 double precision,
    unsupplied_m2 double precision, unacquired_m2 double precision, acquired_unsupplied_m2 double precision,
    supply_rate double precision, recorded_supplied_m2 double precision, recorded_supply_rate double precision,
    nogeom_supplied_m2 double precision, nogeom_withdrawn_m2 double precision,
    piece_status text[], piece_geom geometry[])
LANGUAGE plpgsql STABLE PARALLEL SAFE COST 10000000 ROWS 1000 AS $$
DECLARE
  hi bigint := firsts[array_position(firsts, lo) + 1];  -- NULL: the last chunk
BEGIN
  RETURN QUERY
    SELECT b.id, b.pzwh, b.pzwh_key, b.approval_date,
           coalesce(nullif(b.township, ''), landdb.township_at(b.geom)), landdb.zone_at(b.geom),
           o.approved_m2, o.supplied_m2, o.withdrawn_m2, o.unsupplied_m2, o.unacquired_m2, o.acquired_unsupplied_m2,
           o.supply_rate, o.recorded_supplied_m2, o.recorded_supply_rate, o.nogeom_supplied_m2, o.nogeom_withdrawn_m2,
           o.statuses, o.geoms
    FROM landdb.approval_batch b
    CROSS JOIN LATERAL (
        SELECT landdb._cut_union(array_agg(landdb.snap_to(s.geom, b.geom, snap) ORDER BY s.id)) AS cut
        FROM landdb.supply s
        WHERE s.geom && b.geom AND landdb.in_force(s.contract_date, s.reclaimed_date, as_of)) c
    CROSS JOIN LATERAL (
        SELECT landdb._union(array_agg(coalesce(x.geom, b.geom) ORDER BY x.id)
                               FILTER (WHERE x.geom IS NOT NULL OR x.withdrawn_area IS NULL)) AS wd,
               sum(x.withdrawn_area::double precision * 10000)
                 FILTER (WHERE x.geom IS NULL AND x.withdrawn_area IS NOT NULL) AS wd_nogeom,
               sum(coalesce(x.withdrawn_area::double precision * 10000, x.area_m2,
                            b.approved_area::double precision * 10000)) AS wd_all
        FROM landdb.withdrawal x
        WHERE x.batch_id = b.id AND x.withdrawal_status = '批复' AND coalesce(x.withdrawal_date <= as_of, true)) w
    CROSS JOIN LATERAL (
        SELECT array_agg(ap.geom ORDER BY ap.id) FILTER (WHERE ap.land_ownership = '集体') AS coll_parts,
               array_agg(ap.geom ORDER BY ap.id) FILTER (WHERE ap.land_ownership = '国有') AS state_parts,
               sum(ap.area_m2) FILTER (WHERE ap.land_ownership = '集体') AS coll_m2,
               sum(ap.area_m2) FILTER (WHERE ap.land_ownership = '国有') AS state_m2
        FROM landdb.approval_parcel ap WHERE ap.batch_id = b.id AND ap.geom IS NOT NULL) p
    CROSS JOIN LATERAL (
        SELECT array_agg(u.g ORDER BY u.k, u.id) FILTER (WHERE u.g IS NOT NULL) AS acq_parts,
               sum(u.m2) AS acq_nogeom
        FROM (SELECT 1 AS k, a.id, a.geom AS g, NULL::double precision AS m2
              FROM landdb.acquisition a
              WHERE a.geom && b.geom AND coalesce(a.acquisition_date <= as_of, true)
              UNION ALL
              SELECT 2, a.id, CASE WHEN a.acquired_area IS NULL THEN b.geom END,
                     a.acquired_area::double precision * 10000
              FROM landdb.acquisition a
              -- (geom::bytea: look up by batch, not through the spatial index, which finds NULLs slowly)
              WHERE a.batch_id = b.id AND a.geom::bytea IS NULL AND coalesce(a.acquisition_date <= as_of, true)) u) q
    CROSS JOIN LATERAL (
        SELECT count(*) AS links, sum(lk.m2) FILTER (WHERE lk.live) AS recorded,
               sum(lk.m2) FILTER (WHERE lk.live AND NOT lk.has_geom) AS link_nogeom
        FROM (SELECT landdb.in_force(s.contract_date, s.reclaimed_date, as_of) AS live, s.geom IS NOT NULL AS has_geom,
                     coalesce(sb.area,
                              CASE WHEN NOT EXISTS (SELECT FROM landdb.supply_batch o2
                                                    WHERE o2.supply_id = sb.supply_id AND o2.batch_id <> sb.batch_id)
                                   THEN s.area END,
                              0)::double precision * 10000 AS m2
              FROM landdb.supply_batch sb JOIN landdb.supply s ON s.id = sb.supply_id
              WHERE sb.batch_id = b.id) lk) l
    CROSS JOIN LATERAL landdb._batch_overlay(
        b.id, b.geom, b.approved_area, snap, width, min_area, c.cut, w.wd, w.wd_nogeom, w.wd_all,
        p.coll_parts, p.state_parts, p.coll_m2, p.state_m2, q.acq_parts, q.acq_nogeom,
        l.links, l.recorded, l.link_nogeom) o
    WHERE b.id >= lo AND (hi IS NULL OR b.id < hi)
      -- (a scope is joined, not tested with = ANY on every batch)
      AND (scope IS NULL OR b.id IN (SELECT unnest(scope)));
END $$;
COMMENT ON FUNCTION landdb._overlay_part(date, bigint[], bigint[], bigint, double precision, double precision, double precision)
  IS '一组批次的叠加分析（内部） | overlay of the batches of one id range (internal)';

-- The first batch id of each chunk of the batches in scope (NULL: all), in order: up to 64 chunks
-- of at least 200 batches.
CREATE OR REPLACE FUNCTION landdb._batch_chunks(scope bigint[]) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(i.id ORDER BY i.id) FILTER (WHERE (i.n - 1) % greatest(200, ceil(i.total / 64.0)) = 0), '{}')
  FROM (SELECT b.id, row_number() OVER (ORDER BY b.id) AS n, count(*) OVER () AS total
        FROM landdb.approval_batch b
        WHERE scope IS NULL OR b.id IN (SELECT unnest(scope))) i
$$;
COMMENT ON FUNCTION landdb._batch_chunks(bigint[]) IS '批次分组的起始编号（内部） | first batch id of each chunk (internal)';

-- ---------------------------------------------------------------- all batches
-- One row per batch (or per batch in scope), chunk by chunk: a parallel scan of the batch table
-- finds the first batch of each chunk and runs _overlay_part for its chunk, so that the chunks
-- are shared out among the parallel workers.
DROP FUNCTION IF EXISTS landdb._overlay(date, bigint[], double precision, double precision, double precision);
CREATE FUNCTION landdb._overlay(
    as_of date, scope bigint[], snap double precision, width double precision, min_area double precision)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, approval_date date, township text, zone_code text,
    approved_m2 double precision, supplied_m2 double precision, withdrawn_m2 double precision,
    unsupplied_m2 double precision, unacquired_m2 double precision, acquired_unsupplied_m2 double precision,
    supply_rate double precision, recorded_supplied_m2 double precision, recorded_supply_rate double precision,
    nogeom_supplied_m2 double precision, nogeom_withdrawn_m2 double precision,
    piece_status text[], piece_geom geometry[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  -- (the chunks are found by uncorrelated sub-selects, run once each before the scan, whose values
  -- the workers receive; c.id + 0: a scan of every batch, shared out among the workers, not an
  -- index look-up of the few first ids, which one process would make)
  SELECT o.*
  FROM landdb.approval_batch c
  CROSS JOIN LATERAL landdb._overlay_part(as_of, scope, (SELECT landdb._batch_chunks(scope)), c.id,
                                          snap, width, min_area) o
  WHERE c.id + 0 = ANY ((SELECT landdb._batch_chunks(scope))::bigint[])
$$;
COMMENT ON FUNCTION landdb._overlay(date, bigint[], double precision, double precision, double precision)
  IS '批次叠加分析（内部：范围、容差为参数） | per-batch overlay with scope and tolerances (internal)';

-- ---------------------------------------------------------------- public functions
DROP FUNCTION IF EXISTS landdb.batch_supply(date);
CREATE FUNCTION landdb.batch_supply(as_of date)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, approval_date date, age_years integer,
    township text, zone_code text,
    approved_m2 double precision, supplied_m2 double precision, withdrawn_m2 double precision,
    unsupplied_m2 double precision, unsupplied_mu double precision, unsupplied_ha double precision,
    unacquired_m2 double precision, acquired_unsupplied_m2 double precision, supply_rate double precision,
    recorded_supplied_m2 double precision, recorded_supply_rate double precision,
    nogeom_supplied_m2 double precision, nogeom_withdrawn_m2 double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  d date := batch_supply.as_of;
BEGIN
  RETURN QUERY
  SELECT o.batch_id, o.pzwh, o.pzwh_key, o.approval_date, landdb.full_years(o.approval_date, d),
         o.township, o.zone_code, o.approved_m2, o.supplied_m2, o.withdrawn_m2,
         o.unsupplied_m2, landdb.m2_to_mu(o.unsupplied_m2), landdb.m2_to_ha(o.unsupplied_m2),
         o.unacquired_m2, o.acquired_unsupplied_m2, o.supply_rate,
         o.recorded_supplied_m2, o.recorded_supply_rate, o.nogeom_supplied_m2, o.nogeom_withdrawn_m2
  FROM landdb._overlay(d, NULL, landdb.setting_num('snap_tolerance_m'), landdb.setting_num('sliver_width_m'),
                       landdb.setting_num('sliver_area_m2')) o
  ORDER BY o.batch_id;
END $$;
COMMENT ON FUNCTION landdb.batch_supply(date) IS '各批次供地情况（基准日，现算） | per-batch supply figures as of a date (computed now)';

DROP FUNCTION IF EXISTS landdb.unsupplied(date);
CREATE FUNCTION landdb.unsupplied(as_of date)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, approval_date date, age_years integer, piece_no integer,
    status text, township text, zone_code text,
    area_m2 double precision, area_mu double precision, area_ha double precision, geom geometry)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  d date := unsupplied.as_of;
BEGIN
  RETURN QUERY
  SELECT o.batch_id, o.pzwh, o.pzwh_key, o.approval_date, landdb.full_years(o.approval_date, d),
         pc.n::integer, pc.st, coalesce(pc.twp, o.township), pc.zone,
         ST_Area(pc.g), landdb.m2_to_mu(ST_Area(pc.g)), landdb.m2_to_ha(ST_Area(pc.g)), pc.g
  FROM landdb._overlay(d, NULL, landdb.setting_num('snap_tolerance_m'), landdb.setting_num('sliver_width_m'),
                       landdb.setting_num('sliver_area_m2')) o
  CROSS JOIN LATERAL landdb._piece_places(o.piece_geom, false) pp
  CROSS JOIN LATERAL unnest(o.piece_status, o.piece_geom, pp.townships, pp.zones) WITH ORDINALITY AS pc(st, g, twp, zone, n)
  ORDER BY o.batch_id, pc.n;
END $$;
COMMENT ON FUNCTION landdb.unsupplied(date) IS '批而未供图斑（基准日，现算） | unsupplied remainder pieces as of a date (computed now)';

-- ---------------------------------------------------------------- stored or live
-- The stored results of a run: the runs of a lineage (a full run and the re-analyses after it)
-- share rows; a row belongs to the run that computed it (run_id) and to the later runs of its
-- lineage up to until_run_id (NULL: still current). landdb.run_chain gives the runs whose rows a
-- run may hold; run_flags, run_batch_rows and run_piece_rows its rows (inlined into the caller's
-- query, so that its conditions reach the indexes).
CREATE OR REPLACE FUNCTION landdb.run_chain(run bigint) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}') FROM landdb.analysis_run r
  WHERE r.lineage_id = (SELECT q.lineage_id FROM landdb.analysis_run q WHERE q.id = $1) AND r.id <= $1
$$;
COMMENT ON FUNCTION landdb.run_chain(bigint) IS '运行所在序列中至此的运行（其结果行可能属于此运行） | runs of the lineage up to a run, whose rows it may hold';

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('run_flags', 'flag', '一次分析运行的问题线索 | flags of a run'),
      ('run_batch_rows', 'analysis_batch', '一次分析运行的批次数字（存储行） | stored batch figures of a run'),
      ('run_piece_rows', 'analysis_piece', '一次分析运行的批而未供图斑（存储行） | stored remainder pieces of a run'))
      AS x(fn, tbl, note) LOOP
    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION landdb.%I(run bigint) RETURNS SETOF landdb.%I
      LANGUAGE sql STABLE PARALLEL SAFE AS $b$
        SELECT t.* FROM landdb.%I t
        WHERE t.run_id = ANY ((SELECT landdb.run_chain($1))::bigint[])
          AND (t.until_run_id IS NULL OR t.until_run_id >= $1)
      $b$ $f$, r.fn, r.tbl, r.tbl);
    EXECUTE format('COMMENT ON FUNCTION landdb.%I(bigint) IS %L', r.fn, r.note);
  END LOOP;
END $$;

-- Figures and pieces of a run when run_id is given, else computed now (for rules and metrics
-- called outside analyze).
DROP FUNCTION IF EXISTS landdb.run_batches(date, bigint);
CREATE FUNCTION landdb.run_batches(as_of date, run_id bigint DEFAULT NULL)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, approval_date date, township text, zone_code text,
    approved_m2 double precision, supplied_m2 double precision, withdrawn_m2 double precision,
    unsupplied_m2 double precision, unacquired_m2 double precision, acquired_unsupplied_m2 double precision,
    supply_rate double precision, recorded_supplied_m2 double precision, recorded_supply_rate double precision,
    nogeom_supplied_m2 double precision, nogeom_withdrawn_m2 double precision)
LANGUAGE sql STABLE ROWS 10000 AS $$
  SELECT a.batch_id, a.pzwh, a.pzwh_key, a.approval_date, a.township, a.zone_code, a.approved_m2, a.supplied_m2,
         a.withdrawn_m2, a.unsupplied_m2, a.unacquired_m2, a.acquired_unsupplied_m2, a.supply_rate,
         a.recorded_supplied_m2, a.recorded_supply_rate, a.nogeom_supplied_m2, a.nogeom_withdrawn_m2
  FROM landdb.run_batch_rows(run_batches.run_id) a
  UNION ALL
  SELECT o.batch_id, o.pzwh, o.pzwh_key, o.approval_date, o.township, o.zone_code, o.approved_m2, o.supplied_m2,
         o.withdrawn_m2, o.unsupplied_m2, o.unacquired_m2, o.acquired_unsupplied_m2, o.supply_rate,
         o.recorded_supplied_m2, o.recorded_supply_rate, o.nogeom_supplied_m2, o.nogeom_withdrawn_m2
  FROM landdb.batch_supply(run_batches.as_of) o WHERE run_batches.run_id IS NULL
$$;
COMMENT ON FUNCTION landdb.run_batches(date, bigint) IS '批次供地数字（给定运行的存储结果，否则现算） | batch figures of a run, or computed now';

-- The figures of the batches of a run (landdb.run_batches), of a scope only (NULL: all): a scoped
-- call reads the stored figures of its batches through the index, in proportion to its scope.
-- (Not inlined, like the other readers of stored results: see 70_analyze.sql.)
DROP FUNCTION IF EXISTS landdb._run_batches(date, bigint, bigint[]);
CREATE FUNCTION landdb._run_batches(as_of date, run_id bigint, scope bigint[])
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, approval_date date, township text, zone_code text,
    approved_m2 double precision, supplied_m2 double precision, withdrawn_m2 double precision,
    unsupplied_m2 double precision, unacquired_m2 double precision, acquired_unsupplied_m2 double precision,
    supply_rate double precision, recorded_supplied_m2 double precision, recorded_supply_rate double precision,
    nogeom_supplied_m2 double precision, nogeom_withdrawn_m2 double precision)
LANGUAGE sql STABLE ROWS 10000 SET jit = off AS $$
  SELECT r.* FROM landdb.run_batches($1, $2) r WHERE $3 IS NULL
  UNION ALL
  SELECT a.batch_id, a.pzwh, a.pzwh_key, a.approval_date, a.township, a.zone_code, a.approved_m2, a.supplied_m2,
         a.withdrawn_m2, a.unsupplied_m2, a.unacquired_m2, a.acquired_unsupplied_m2, a.supply_rate,
         a.recorded_supplied_m2, a.recorded_supply_rate, a.nogeom_supplied_m2, a.nogeom_withdrawn_m2
  FROM landdb.run_batch_rows($2) a WHERE a.batch_id = ANY ($3)
  UNION ALL
  SELECT r.* FROM landdb.run_batches($1, NULL) r WHERE $2 IS NULL AND r.batch_id = ANY ($3)
$$;
COMMENT ON FUNCTION landdb._run_batches(date, bigint, bigint[]) IS '运行的批次供地数字（限于给定批次；内部） | batch figures of a run, of a scope (internal)';

DROP FUNCTION IF EXISTS landdb.run_pieces(date, bigint);
CREATE FUNCTION landdb.run_pieces(as_of date, run_id bigint DEFAULT NULL)
RETURNS TABLE (batch_id bigint, piece_no integer, status text, township text, zone_code text,
               area_m2 double precision, geom geometry)
LANGUAGE sql STABLE ROWS 10000 AS $$
  SELECT p.batch_id, p.piece_no, p.status, p.township, p.zone_code, p.area_m2, p.geom::geometry
  FROM landdb.run_piece_rows(run_pieces.run_id) p
  UNION ALL
  SELECT u.batch_id, u.piece_no, u.status, u.township, u.zone_code, u.area_m2, u.geom
  FROM landdb.unsupplied(run_pieces.as_of) u WHERE run_pieces.run_id IS NULL
$$;
COMMENT ON FUNCTION landdb.run_pieces(date, bigint) IS '批而未供图斑（给定运行的存储结果，否则现算） | remainder pieces of a run, or computed now';

CREATE OR REPLACE FUNCTION landdb.latest_run(as_of date) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT r.id FROM landdb.analysis_run r WHERE r.as_of = latest_run.as_of AND r.status = 'done'
  ORDER BY r.finished_at DESC NULLS LAST, r.id DESC LIMIT 1
$$;
COMMENT ON FUNCTION landdb.latest_run(date) IS '某基准日最新完成的分析运行 | latest finished run of an as-of date';
