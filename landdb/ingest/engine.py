"""``landdb import``: read what offices send, check every record, load all or nothing.

The run's log and its rejects are written on a connection of their own (autocommit), so they
stay even when the data is rolled back; the data goes in through one transaction on another
connection: staged with COPY into a temporary table, then resolved, de-duplicated and upserted
set-based. ``--on-error abort`` (default) loads nothing when any record is rejected;
``--on-error skip`` loads the good records. A re-import of an unchanged file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import getpass
import io
import json
import re
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.extensions
import shapely

from .. import crs as C
from .. import encoding as E
from .. import fields as F
from .. import migrate
from ..errors import LanddbError
from . import kinds as K
from . import pgcopy
from .convert import (
    FieldPlan,
    Problem,
    as_translation,
    clean_geometries,
    convert_column,
    convert_value,
    ewkb,
    json_objects,
    jsonable,
    surrogate,
    transform,
)
from .sources import Chunk, Dataset, SourceError, discover, read_bubiao, read_table, read_vector, vector_info

SQLTYPE = {"text": "text", "date": "date", "json": "jsonb", "ha": "numeric(14,4)", "wan": "numeric(16,4)",
           "num": "numeric", "int": "integer", "m2": "double precision"}
DOC_NO = re.compile(r"[^\s,，、（(]*?[〔\[［（(【]\s*\d{4}\s*[〕\]］）)】]\s*第?\s*\d+\s*号")
DERIVABLE = {"parcel_no", "agreement_no"}  # keys landdb makes up when a file lacks them
# Kinds whose records go straight into their table on an initial load (nothing to resolve).
DIRECT_KINDS = {"supply", "rs_patch", "survey", "admin", "zone"}
# Rows an upsert inserts above which the table's planner statistics are refreshed, for the
# statements of the same import that join what was just loaded (the planner would otherwise take
# the new rows for an empty table: the batch geometries of a 200 000-batch county took ten minutes).
ANALYZE_AFTER = 10_000
NON_POLYGON = ("Point", "LineString", "MultiPoint", "MultiLineString", "Point Z", "LineString Z",
               "MultiPoint Z", "MultiLineString Z")


@dataclass
class FileReport:
    file: str
    format: str
    sha256: str = ""
    layer: str | None = None
    encoding: str | None = None
    encoding_note: str | None = None
    crs: str | None = None
    crs_note: str | None = None
    rows_read: int = 0
    rows_rejected: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    run_id: int | None
    kind: str
    status: str = "running"
    dry_run: bool = False
    files: list[FileReport] = field(default_factory=list)
    n_read: int = 0
    n_inserted: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_rejected: int = 0
    rejects: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rejects"] = [asdict(p) for p in self.rejects]
        return d


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.last = 0.0

    def show(self, label: str, done: int, total: int | None) -> None:
        if not self.enabled or time.time() - self.last < 0.2:
            return
        self.last = time.time()
        pct = f" {done * 100 // total}%" if total else ""
        sys.stderr.write(f"\r导入 {label} {done:,}/{total or '?':,}{pct}   " if total else
                         f"\r导入 {label} {done:,}   ")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()


def _copy_text(v: object) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False, default=str)
    s = v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def prefetch(chunks, depth: int = 2):
    """Read the next chunks on a thread (GDAL releases the GIL) while this one is checked."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def work() -> None:
        try:
            for c in chunks:
                q.put(c)
        except BaseException as e:  # re-raised in the consumer
            q.put(e)
        q.put(done)

    threading.Thread(target=work, daemon=True).start()
    while True:
        item = q.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


class _Background:
    """A function run on a thread of its own (hashlib and file reads release the GIL)."""

    def __init__(self, fn) -> None:
        import threading

        self.value = self.error = None

        def work() -> None:
            try:
                self.value = fn()
            except BaseException as e:  # re-raised by result()
                self.error = e

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def result(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


def admin_level(code: object) -> str | None:
    """The level a 行政区代码 names: GB/T 2260 (2, 4, 6 digits) and the 12-digit statistical codes
    (county + 3 digits township + 3 digits village; zeros where a level is absent)."""
    c = str(code or "").strip()
    if not c.isdigit():
        return None
    if len(c) == 12:
        c = c[:9] if c.endswith("000") else c
        c = c[:6] if c.endswith("000") and len(c) == 9 else c
    if len(c) == 6 and c.endswith("00"):
        c = c[:4] if not c.endswith("0000") else c[:2]
    return {2: "省", 4: "市", 6: "县", 9: "乡镇", 12: "村"}.get(len(c))


def _rounded_centroid(values: dict, i: int) -> tuple[int | None, int | None]:
    """Record i's centroid to the metre (from its staged hex EWKB), for surrogate keys."""
    g = values["geom"][i] if "geom" in values else None
    g = g.as_py() if hasattr(g, "as_py") else g  # an Arrow string
    if g is None:
        return None, None
    c = shapely.from_wkb(g).centroid
    return round(c.x), round(c.y)


def _nulls(values: np.ndarray) -> np.ndarray:
    """Mask of missing values (None or empty string) in an object array."""
    values = np.asarray(values)
    if values.dtype == object:
        return np.equal(values, None) | np.equal(values, "")
    return np.array([v is None or v == "" for v in values], dtype=bool)


class CopyThread:
    """Loads Arrow tables with binary COPY on a thread of its own: the caller encodes a chunk
    (Arrow and numpy, :mod:`.pgcopy`) and goes on reading and checking the next one while the
    server loads this one."""

    def __init__(self, conn: psycopg2.extensions.connection, table: str, names: list[str]) -> None:
        import queue
        import threading

        with conn.cursor() as cur:
            self.types = pgcopy.columns_of(cur, table, names)
        self.conn = conn
        self.sql = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT binary)"
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while True:
            body = self.queue.get()
            if body is None:
                return
            if self.error is not None:
                continue
            try:
                with self.conn.cursor() as cur:
                    cur.copy_expert(self.sql, _BufferReader(body), size=1 << 20)
            except BaseException as e:  # re-raised in the main thread
                self.error = e

    def put(self, table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(pgcopy.encode(table, self.types))

    def close(self) -> None:
        """Wait for every queued table to be loaded; raise what went wrong."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error


class _BufferReader:
    """A read-only file over a list of Arrow buffers, for ``copy_expert`` (no joining)."""

    def __init__(self, bufs) -> None:
        self.views = [memoryview(b) for b in bufs]
        self.i = self.pos = 0

    def read(self, size: int = -1) -> bytes:
        while self.i < len(self.views) and self.pos >= len(self.views[self.i]):
            self.i, self.pos = self.i + 1, 0
        if self.i == len(self.views):
            return b""
        view = self.views[self.i]
        end = len(view) if size < 0 else min(len(view), self.pos + size)
        out = view[self.pos:end]
        self.pos = end
        return out.tobytes()


class SheetSkipped(Exception):
    """A sheet of a workbook that holds another kind of records (reported, not rejected)."""


class Importer:
    """One import run. Use :func:`run_import`."""

    def __init__(self, conn: psycopg2.extensions.connection, log_conn: psycopg2.extensions.connection,
                 kind: str, *, encoding: str = "auto", crs: str = "auto", mapping: Path | None = None,
                 sets: dict[str, str] | None = None, dry_run: bool = False, on_error: str = "abort",
                 progress: bool = False) -> None:
        self.kind = K.get(kind)
        self.conn, self.log_conn = conn, log_conn
        self.encoding = None if encoding in (None, "", "auto") else encoding
        self.crs_override = self._parse_crs(crs)
        self.aliases = F.load_aliases(mapping)
        self.known_names = {F.normalize_name(a.alias) for a in self.aliases.entries}  # finds table headers
        self.sets = self._map_sets(sets or {})
        self.dry_run = dry_run
        if on_error not in ("abort", "skip"):
            raise LanddbError("--on-error 只能是 abort 或 skip [on-error must be abort or skip]")
        self.on_error = on_error
        self.progress = Progress(progress)
        self.result = ImportResult(None, kind, dry_run=dry_run)
        # key → where first seen, packed as file index << 32 | row (a million keys stay small)
        self.keys_seen: dict[object, int] = {}
        self.columns: dict[str, object] = {}  # stage column → type
        self.present: set[str] = set()  # table columns some source actually carried
        self._dates: dict[str, tuple] = {}
        self.n_staged = 0

    # -------------------------------------------------------------- options
    @staticmethod
    def _parse_crs(text: str | None) -> int | None:
        if text in (None, "", "auto"):
            return None
        t = text.upper().removeprefix("EPSG:")
        if not t.isdigit():
            raise LanddbError(f"--crs 应为 auto 或 EPSG:代码，而不是 {text} [bad --crs]")
        return int(t)

    def _map_sets(self, sets: dict[str, str]) -> dict[str, str]:
        """--set FIELD=VALUE, FIELD in canonical, Chinese or pinyin form."""
        out = {}
        for name, value in sets.items():
            canon = name if name in self.kind.columns else None
            if canon is None:
                m = F.match_fields([name], self.kind.name, self.aliases)
                canon = m.mapping.get(name)
            if canon is None or canon not in self.kind.columns:
                raise LanddbError(
                    f"--set {name}=…：{self.kind.name} 类数据没有这个字段（可用："
                    f"{', '.join(sorted(self.kind.columns))}） [unknown field for --set]")
            out[canon] = value
        return out

    # -------------------------------------------------------------- database facts
    def _settings(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT key, value FROM landdb.setting")
            self.settings = dict(cur.fetchall())
            cur.execute("SELECT landdb.working_srid()")
            self.srid = int(cur.fetchone()[0])
            cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                        "(SELECT ST_Extent(geom) e FROM landdb.admin_area) s")
            ext = cur.fetchone()
        self.max_area_change = float(self.settings.get("repair_max_area_change", 0.001))
        self.margin = float(self.settings.get("extent_margin_m", 50_000))
        self.county_lon = float(self.settings.get("county_lon", 114.7))
        if ext and ext[0] is not None:
            self.extent = ext
            self.extent_note = "县域范围取自行政区图层"
        else:
            self.extent = self._zone_extent()
            self.extent_note = "尚无行政区图层，范围检查按工作坐标系投影带"

    def _zone_extent(self) -> tuple[float, float, float, float]:
        from pyproj import CRS, Transformer

        crs = CRS.from_epsg(self.srid)
        lon0 = next((p.value for p in crs.coordinate_operation.params
                     if "longitude" in p.name.lower()), self.county_lon)
        t = Transformer.from_crs(4490, self.srid, always_xy=True)
        xs, ys = t.transform([lon0 - 1.6, lon0 + 1.6, lon0 - 1.6, lon0 + 1.6], [3, 3, 54, 54])
        return (min(xs), min(ys), max(xs), max(ys))

    # -------------------------------------------------------------- run
    def run(self, paths: list[str | Path]) -> ImportResult:
        t0 = time.time()
        migrate.require_current(self.conn)
        self._settings()
        self._open_run(paths)
        try:
            with self.conn.cursor() as cur:
                cur.execute("SET temp_buffers = '1GB'")  # the stage stays in memory
            datasets = discover(paths, split_sheets=self.kind.name != "target")
            if not datasets:
                raise SourceError("给定路径中没有可读的数据文件 (.shp .gpkg .geojson .txt .xlsx .csv) "
                                  "[no readable dataset found]")
            self._create_stage()
            for ds in datasets:
                self._load_dataset(ds)
            self.progress.done()
            self._finish_sql()
            self._decide()
        except LanddbError as e:
            self._stop_copier()
            self.conn.rollback()
            self.result.status = "failed"
            self.result.notes.append(str(e))
            self._close_run(str(e))
            raise
        except BaseException as e:
            self._stop_copier()
            self.conn.rollback()
            self.result.status = "failed"
            self._close_run(f"{type(e).__name__}: {e}")
            raise
        self.result.seconds = round(time.time() - t0, 3)
        self._close_run(None)
        return self.result

    def _open_run(self, paths) -> None:
        with self.log_conn.cursor() as cur:
            cur.execute(
                "INSERT INTO landdb.import_run (kind, os_user, host, options) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (self.kind.name, getpass.getuser(), socket.gethostname(), json.dumps({
                    "paths": [str(p) for p in paths], "encoding": self.encoding or "auto",
                    "crs": f"EPSG:{self.crs_override}" if self.crs_override else "auto",
                    "set": self.sets, "dry_run": self.dry_run, "on_error": self.on_error,
                }, ensure_ascii=False)))
            self.result.run_id = cur.fetchone()[0]

    def _close_run(self, message: str | None) -> None:
        r = self.result
        r.n_rejected = len({(p.file, p.row) for p in r.rejects})
        with self.log_conn.cursor() as cur:
            if r.rejects:
                buf = io.StringIO()
                for p in r.rejects:
                    buf.write("\t".join(_copy_text(v) for v in (
                        r.run_id, p.file, p.row, p.field, p.reason,
                        json.dumps({k: jsonable(v) for k, v in (p.values or {}).items()},
                                   ensure_ascii=False, default=str))) + "\n")
                buf.seek(0)
                cur.copy_expert('COPY landdb.import_reject (run_id, file, row_no, field, reason, "values") '
                                "FROM STDIN", buf)
            cur.execute(
                "UPDATE landdb.import_run SET status = %s, finished_at = now(), files = %s, n_read = %s, "
                "n_inserted = %s, n_updated = %s, n_unchanged = %s, n_rejected = %s, message = %s "
                "WHERE id = %s",
                (r.status, json.dumps([asdict(f) for f in r.files], ensure_ascii=False), r.n_read,
                 r.n_inserted, r.n_updated, r.n_unchanged, r.n_rejected,
                 message or ("；".join(r.notes) or None), r.run_id))

    # -------------------------------------------------------------- staging
    def _stage_columns(self) -> dict[str, str]:
        cols: dict[str, str] = {"row_no": "integer", "src_file": "text", "extra": "jsonb"}
        for _canon, (col, ctype) in self.kind.columns.items():
            cols[col] = "text" if isinstance(ctype, tuple) else SQLTYPE[ctype]
        name = self.kind.name
        if name == "approval":
            cols["pzwh_key"] = "text"
            cols["batch_id"] = "bigint"
        if name == "supply":
            cols.update(supply_key="text", key_kind="text")
        if name == "acquisition":
            cols["acq_key"] = "text"
        if self.kind.parent == K.BATCH or "ref_pzwh" in cols:
            cols["ref_pzwh_key"] = "text"
            cols["batch_id"] = "bigint"
        if self.kind.parent == K.SUPPLY or "ref_dzjgh" in cols:
            cols["supply_id"] = "bigint"
        if name == "disposal":
            cols["idle_case_id"] = "bigint"
        if self.kind.parent == K.PLAN:
            cols["plan_id"] = "bigint"
        if self.kind.geometry != "none":
            cols["geom"] = f"geometry(MultiPolygon, {self.srid})"
        return cols

    def _create_stage(self) -> None:
        """The temporary stage, or — on an initial load of a kind with nothing to resolve — the
        table itself: its rows' keys are checked for repeats here and every constraint is still
        the database's own."""
        self.columns = self._stage_columns()
        self.copy_cols = [c for c in self.columns if c not in ("batch_id", "supply_id", "idle_case_id", "plan_id")]
        table = self.kind.table
        with self.conn.cursor() as cur:
            self.direct = False
            if self.kind.name in DIRECT_KINDS:
                cur.execute(f"LOCK TABLE landdb.{table} IN SHARE ROW EXCLUSIVE MODE")
                cur.execute(f"SELECT NOT EXISTS (SELECT 1 FROM landdb.{table})")
                self.direct = cur.fetchone()[0]
            ddl = ", ".join(f"{c} {t}" for c, t in self.columns.items())
            cur.execute(f"CREATE TEMP TABLE stage ({ddl}) ON COMMIT DROP")
        if self.direct:
            with self.conn.cursor() as cur:
                cur.execute("SELECT landdb.bulk_index_off(%s)", (table,))
                self.index_off = cur.fetchone()[0]
            self.copy_cols.append("import_run_id")
            names = ["src_row" if c == "row_no" else c for c in self.copy_cols]
            self.copier = CopyThread(self.conn, f"landdb.{table}", names)
        else:
            self.copier = CopyThread(self.conn, "stage", self.copy_cols)

    def _copy(self, table) -> None:
        """Queue an Arrow table (columns = copy_cols) for COPY; Python goes on with the next chunk."""
        if table.num_rows:
            self.copier.put(table)
            self.n_staged += table.num_rows

    # -------------------------------------------------------------- one dataset
    def _load_dataset(self, ds: Dataset) -> None:
        rep = FileReport(ds.display, ds.fmt, layer=ds.layer)
        self.result.files.append(rep)
        self.file_sets = self._from_file_name(ds, rep)
        hashing = _Background(ds.sha256)  # read the file once more for its hash, alongside
        try:
            if self.kind.name == "target":
                self._load_targets(ds, rep)
            elif ds.fmt in ("shp", "gpkg", "geojson"):
                self._load_vector(ds, rep)
            elif ds.fmt == "bubiao":
                self._load_bubiao(ds, rep)
            else:
                self._load_table(ds, rep)
        except SheetSkipped as e:
            rep.notes.append(str(e))
            self.result.notes.append(f"{ds.display}：{e}")
        except LanddbError as e:
            msg = str(e)
            if ds.display not in msg:
                msg = f"{ds.display}：{msg}"
            self._reject(Problem(ds.display, None, None, msg))
            rep.notes.append(msg)
        finally:
            rep.sha256 = hashing.result()

    def _from_file_name(self, ds: Dataset, rep: FileReport) -> dict[str, str]:
        """Values a file's name gives when its records lack them (e.g. 2025年度变更调查 → year)."""
        out: dict[str, str] = {}
        if self.kind.name == "survey" and "survey_year" not in self.sets:
            m = re.search(r"(19|20)\d{2}(?=\s*年)", ds.path.stem)
            if m:
                out["survey_year"] = m.group(0)
                rep.notes.append(f"调查年度取自文件名：{m.group(0)} [survey year from the file name]")
        return out

    def _reject(self, p: Problem) -> None:
        self.result.rejects.append(p)

    def _crs_for(self, ds: Dataset, rep: FileReport, info: dict, prj_text: str | None) -> int:
        if self.crs_override:
            rep.crs_note = "用户指定 (--crs)"
            return self.crs_override
        epsg = None
        if prj_text:
            epsg = C.crs_from_prj(prj_text)
            if epsg:
                rep.crs_note = "取自 .prj 文件"
        elif info.get("crs"):
            from pyproj import CRS

            try:
                epsg = CRS.from_user_input(info["crs"]).to_epsg()
            except Exception:
                epsg = None
            if epsg:
                rep.crs_note = "取自图层坐标系"
        if epsg is None:
            bounds = info.get("total_bounds")
            if bounds is None or any(b is None or not np.isfinite(b) for b in bounds):
                raise SourceError("没有坐标系信息，也无法从坐标推断 [no CRS and no coordinates]")
            guess = C.infer_crs(tuple(bounds), county_lon=self.county_lon)
            epsg = guess.epsg
            rep.crs_note = f"推断：{guess.explanation}"
            if guess.datum_assumed:
                rep.notes.append("坐标本身不能说明大地基准，按 CGCS2000 处理 [datum assumed: CGCS2000]")
        return epsg

    def _transformer(self, src: int, rep: FileReport, bounds, helmert=None):
        rep.crs = f"EPSG:{src}"
        if src == self.srid and helmert is None:
            tr = None
        else:
            t = C.transformer(src, self.srid, helmert7=helmert)
            if t.warning:
                rep.notes.append(t.warning)
                self.result.notes.append(f"{rep.file}：{t.warning}")
            tr = t.transformer
        if bounds is not None:
            xs = [bounds[0], bounds[2], bounds[0], bounds[2]]
            ys = [bounds[1], bounds[1], bounds[3], bounds[3]]
            if tr is not None:
                tr = as_translation(tr, bounds) or tr  # e.g. a zone prefix: a shift, done as one
                xs, ys = tr.transform(xs, ys)
            if not all(np.isfinite(xs)) or not all(np.isfinite(ys)):
                raise SourceError(f"坐标无法转换到工作坐标系 EPSG:{self.srid}：坐标系可能有误 "
                                  "[coordinates do not transform]")
            C.check_extent((min(xs), min(ys), max(xs), max(ys)), self.extent, self.margin)
        return tr

    def _load_vector(self, ds: Dataset, rep: FileReport) -> None:
        recode = None
        read_enc = codec = None
        if ds.fmt == "shp":
            choice = E.detect_encoding(ds.path, self.encoding)
            rep.encoding = choice.encoding
            rep.encoding_note = choice.detail
            rep.notes += list(choice.warnings)
            # GDAL decodes on the reader thread (in C, in parallel with the checks). Only files whose
            # field names are cut inside a character are read as Latin-1 and decoded here.
            read_enc = choice.read_encoding
            codec = None if choice.needs_recode else choice.encoding
            if choice.needs_recode:
                def recode(v, _enc=choice.encoding):
                    try:
                        return v.encode("latin-1").decode(_enc)
                    except (UnicodeDecodeError, AttributeError):
                        return E.recode_latin1(v, _enc)
        else:
            rep.encoding = "utf-8"
        info = vector_info(ds, read_enc)
        gtype = info.get("geometry_type") or ""
        total = int(info.get("features") or 0)
        if self.kind.geometry != "none" and gtype in NON_POLYGON:
            raise SourceError(f"图层几何类型为 {gtype}，{self.kind.label}必须是面（Polygon） "
                              f"[a {gtype} layer cannot be loaded as parcels]")
        tr = None
        if self.kind.geometry != "none" and gtype:
            prj = ds.path.with_suffix(".prj") if ds.fmt == "shp" else None
            prj_text = prj.read_text(errors="replace") if prj is not None and prj.exists() else None
            src = self._crs_for(ds, rep, info, prj_text)
            tr = self._transformer(src, rep, info.get("total_bounds"))
        def prepared(chunks):
            """Geometries reprojected, checked and written as EWKB on the reader thread."""
            for chunk in chunks:
                if self.kind.geometry == "none":
                    chunk.geoms = None
                elif chunk.geoms is not None:
                    chunk.geoms = transform(chunk.geoms, tr)
                    chunk.prepared = self._geometries(chunk)
                yield chunk

        plans = None
        for chunk in prefetch(prepared(read_vector(ds, read_enc, recode, info=info, codec=codec))):
            if plans is None:
                plans, extra_names = self._plan(list(chunk.columns), rep, chunk)
            self._stage_chunk(ds, rep, chunk, plans, extra_names)
            self.progress.show(ds.display, rep.rows_read, total)

    def _load_bubiao(self, ds: Dataset, rep: FileReport) -> None:
        bf = read_bubiao(ds, self.encoding)
        rep.encoding = bf.encoding
        rep.notes += list(bf.warnings)
        if self.kind.geometry == "none":
            raise SourceError(f"部标坐标文件只含地块图形，不能作为 {self.kind.name} 类数据导入 "
                              "[a 部标 TXT holds parcels only]")
        helmert = C.parse_helmert(bf.header.get("转换参数"))
        geoms = np.array([p.geometry for p in bf.parcels], dtype=object)
        bounds = shapely.total_bounds(geoms) if len(geoms) else None
        if self.crs_override:
            src = self.crs_override
            rep.crs_note = "用户指定 (--crs)"
        else:
            src = C.crs_from_bubiao_header(bf.header)
            if src is None and bounds is not None:
                guess = C.infer_crs(tuple(bounds), county_lon=self.county_lon,
                                    declared_zone=C._int_in(str(bf.header.get("带号", ""))),
                                    datum_hint=bf.header.get("坐标系"))
                src = guess.epsg
                rep.crs_note = f"推断：{guess.explanation}"
            else:
                rep.crs_note = (f"取自文件头（坐标系={bf.header.get('坐标系', '')}，"
                                f"带号={bf.header.get('带号', '')}）")
        tr = self._transformer(src, rep, bounds, helmert)
        if helmert:
            rep.notes.append("使用文件中的七参数（转换参数）转换坐标 [7-parameter transformation from the file]")
        cols: dict[str, list] = {"地块编号": [], "地块名称": [], "地块用途": [], "地类编码": [], "图幅号": [],
                                 "地块面积": []}
        n_extra = max((len(p.extra) for p in bf.parcels), default=0)
        extra_cols: list[list] = [[] for _ in range(n_extra)]
        for p in bf.parcels:
            for k, v in zip(cols, (p.number, p.name, p.use, p.class_code, p.sheet, p.area_ha)):
                cols[k].append(v)
            for j in range(n_extra):
                extra_cols[j].append(p.extra[j] if j < len(p.extra) else None)
        # 批准文号: an extra field before '@' shaped like a document number, else the file name
        for j, vals in enumerate(extra_cols):
            docs = [v for v in vals if v]
            name = "批准文号" if docs and all(DOC_NO.fullmatch(str(v).strip()) for v in docs) and \
                "批准文号" not in cols else f"附加字段{j + 1}"
            cols[name] = vals
        if "批准文号" not in cols and "pzwh" not in self.sets:
            found = DOC_NO.findall(ds.path.stem)
            if len(found) == 1:
                cols["批准文号"] = [found[0]] * len(bf.parcels)
                rep.notes.append(f"批准文号取自文件名：{found[0]} [approval number from the file name]")
        for k, v in bf.header.items():
            if k != "转换参数":
                cols[f"文件头:{k}"] = [v] * len(bf.parcels)
        chunk = Chunk(cols, len(bf.parcels), transform(geoms, tr), 1,
                      rownos=np.array([p.line_no for p in bf.parcels], dtype=np.int64))
        plans, extra_names = self._plan(list(cols), rep, chunk, units={"地块面积": "公顷"})
        self._stage_chunk(ds, rep, chunk, plans, extra_names)

    def _load_table(self, ds: Dataset, rep: FileReport) -> None:
        if self.kind.geometry == "required":
            raise SourceError(f"表格没有图形，{self.kind.label}必须带图形导入 [geometry required]")
        names, rep.encoding, chunks = read_table(ds, self.known_names, self.encoding)
        plans = None
        for chunk in chunks:
            if plans is None:
                plans, extra_names = self._plan(names, rep, chunk)
            self._stage_chunk(ds, rep, chunk, plans, extra_names)
            self.progress.show(ds.display, rep.rows_read, None)

    # -------------------------------------------------------------- task targets
    RATE_METRICS = (("area_target", "盘活面积", "亩", "PH"), ("supply_rate_target", "供地率", "%", "GDL"),
                    ("digestion_rate_target", "消化率", "%", "XHL"),
                    ("disposal_rate_target", "闲置土地处置率", "%", "CZL"))

    def _load_targets(self, ds: Dataset, rep: FileReport) -> None:
        """A targets workbook: wide target rows (one metric per column) become one record per
        metric; annual-task rows (年度) become targets of that year; milestone rows (节点日期,
        累计完成比例) become the schedule of that year's targets."""
        from .sources import sheet_names

        sheets = sheet_names(ds.path) if ds.fmt == "xlsx" else [None]
        records: list[dict] = []
        schedules: dict[int, list[dict]] = {}
        for sheet in sheets:
            sub = Dataset(f"{ds.display}:{sheet}" if sheet else ds.display, ds.path, ds.fmt, layer=sheet)
            names, _enc, chunks = read_table(sub, self.known_names, self.encoding, chunk=1 << 62)
            chunk = next(chunks)  # a targets sheet is a few rows: one chunk
            match = F.match_fields(names, "target", self.aliases)
            by = {canon: chunk.columns[src] for src, canon in match.mapping.items()}
            for i in range(chunk.n):
                row = {k: v[i] for k, v in by.items()}
                if row.get("milestone_date") is not None and row.get("target_year") is not None:
                    share = F.parse_number(row.get("milestone_share"))
                    schedules.setdefault(int(F.parse_number(row["target_year"])), []).append(
                        {"date": F.parse_date(row["milestone_date"]).isoformat(),
                         "share": share / 100 if share and share > 1 else share})
                    continue
                year = F.parse_number(row.get("target_year")) if row.get("target_year") is not None else None
                for col, metric, unit, suffix in self.RATE_METRICS:
                    value = F.parse_number(row.get(col))
                    if value is None:
                        continue
                    if unit == "%" and value <= 1:
                        value *= 100
                    code = row.get("target_code") or (f"ND-{int(year)}" if year else None)
                    name = row.get("target_name") or (f"{int(year)}年度任务" if year else None)
                    records.append({
                        "target_code": f"{code}-{suffix}" if code else None,
                        "target_name": f"{name}（{metric}）" if name else None, "metric": metric,
                        "target_value": value, "unit": unit, "cohort_from": row.get("cohort_from"),
                        "cohort_to": row.get("cohort_to"), "baseline_date": row.get("baseline_date"),
                        "due_date": row.get("due_date") or (dt.date(int(year), 12, 31) if year else None),
                        "source_doc": row.get("source_doc"), "_year": int(year) if year else None,
                        "_row": chunk.row(i), "_sheet": sheet})
        for r in records:
            if r["_year"] in schedules:
                r["schedule"] = json.dumps(sorted(schedules[r["_year"]], key=lambda m: m["date"]))
        if not records:
            raise SourceError("没有找到任务目标（目标编号、盘活面积目标、供地率目标、消化率目标…） [no targets found]")
        cols = {c: [r.get(c) for r in records] for c in self.kind.columns}
        chunk = Chunk(cols, len(records), None, rownos=np.array([r["_row"] for r in records], dtype=np.int64))
        plans = [FieldPlan(c, c, *self.kind.columns[c]) for c in cols]
        n_ms = sum(map(len, schedules.values()))
        rep.notes.append(f"任务目标：{len(records)} 项（每个指标一项），进度节点 {n_ms} 个")
        self._stage_chunk(ds, rep, chunk, plans, [])

    # -------------------------------------------------------------- field plan
    def _plan(self, names: list[str], rep: FileReport, chunk: Chunk,
              units: dict[str, str] | None = None) -> tuple[list[FieldPlan], list[str]]:
        match = F.match_fields(names, self.kind.name, self.aliases)
        rep.notes += match.messages
        plans: list[FieldPlan] = []
        used_cols: dict[str, FieldPlan] = {}
        for source, canon in match.mapping.items():
            if canon not in self.kind.columns or canon in self.sets:
                continue
            col, ctype = self.kind.columns[canon]
            plan = FieldPlan(source, canon, col, ctype, (units or {}).get(source) or match.units.get(source))
            prev = used_cols.get(col)
            if prev is not None and (prev.canonical == col or canon != col):
                continue  # e.g. 面积 and 征收面积 both present: the specific one wins
            if prev is not None:
                plans.remove(prev)
            used_cols[col] = plan
            plans.append(plan)
        taken = {p.source for p in plans}
        extra_names = [n for n in names if n not in taken]
        for p in plans:
            if p.ctype in ("ha", "m2") and not p.unit:
                p.unit = self._infer_unit(p, chunk, rep)
        mapped = ", ".join(f"{p.source}→{p.canonical}" for p in plans)
        rep.notes.append(f"字段映射：{mapped or '无'}" + (f"；未映射（保留在 extra）：{', '.join(extra_names)}"
                                                         if extra_names else ""))
        have = {p.canonical for p in plans} | set(self.sets) | set(self.file_sets) | DERIVABLE
        missing = [c for c in self.kind.required if c not in have]
        if missing and self._current_sheet:
            raise SheetSkipped(f"工作表“{self._current_sheet}”不含 {self.kind.label}所需字段 {', '.join(missing)}，"
                               f"未导入 [sheet holds other records: skipped]")
        if missing:
            raise SourceError(f"缺少必需字段 {', '.join(missing)}（可用 --set 字段=值 补充，或 --mapping 指定） "
                              "[required field missing]")
        return plans, extra_names

    def _infer_unit(self, plan: FieldPlan, chunk: Chunk, rep: FileReport) -> str:
        if chunk.geoms is not None and chunk.n:
            k = min(chunk.n, 2000)
            col = chunk.columns[plan.source]
            raw = col.slice(0, k).to_pylist() if hasattr(col, "slice") else list(col[:k])
            vals, areas = [], []
            for v, g in zip(raw, chunk.geoms[:k]):
                num = _safe_number(v)
                if num and g is not None and not g.is_empty:
                    vals.append(num)
                    areas.append(g.area)
            guess = F.infer_area_unit(vals, areas) if vals else None
            if guess is not None:
                unit, _ratio, explanation = guess
                rep.notes.append(f"字段 {plan.source} 的面积单位：{explanation}")
                return unit
        rep.notes.append(f"字段 {plan.source} 未注明面积单位，按公顷处理 [area unit assumed: ha]")
        return "公顷"

    # -------------------------------------------------------------- one chunk
    def _stage_chunk(self, ds: Dataset, rep: FileReport, chunk: Chunk, plans: list[FieldPlan],
                     extra_names: list[str]) -> None:
        kind, n = self.kind, chunk.n
        problems: dict[int, list[tuple[str, str]]] = {}

        def problem(i: int, field_name: str, reason: str) -> None:
            problems.setdefault(int(i), []).append((field_name, reason))

        values: dict[str, np.ndarray] = {}
        self._dates = {}  # date columns as distinct dates and codes, for a quick Arrow array
        for plan in plans:
            out, errors = convert_column(plan, chunk.columns[plan.source], chunk.recode)
            for i, msg in errors.items():
                problem(i, plan.source, f"字段“{plan.source}”：{msg}")
            values[plan.column] = out
            if plan.ctype == "date" and plan.coded is not None:
                self._dates[plan.column] = plan.coded
        mapped = {p.canonical for p in plans}
        consts = {**{k: v for k, v in self.file_sets.items() if k not in mapped}, **self.sets}
        for canon, raw in consts.items():
            col, ctype = kind.columns[canon]
            try:
                v = convert_value(FieldPlan(f"--set {canon}", canon, col, ctype), raw)
            except ValueError as e:
                raise LanddbError(f"--set {canon}={raw}：{e}") from e
            values[col] = np.full(n, v, dtype=object)
        if kind.geometry != "none":
            geo, values["geom"] = chunk.prepared or self._geometries(chunk)
            for i, reason in geo.problems.items():
                problem(i, "geometry", reason)
            for i, change in geo.repaired.items():
                rep.notes.append(f"第 {chunk.row(i)} 行几何图形无效，已自动修复（面积变化 {change:.3%}） "
                                 "[geometry repaired]")
        for canon in kind.required:
            if canon in DERIVABLE:
                continue
            col = kind.columns[canon][0]
            src = next((p.source for p in plans if p.canonical == canon), canon)
            vals = values.get(col)
            for i in range(n) if vals is None else np.flatnonzero(_nulls(vals)):
                if not any(f == src for f, _ in problems.get(int(i), ())):
                    problem(i, src, f"缺少必填字段 {canon}（{src}） [required value missing]")
        self._keys(values, n, chunk, problem)
        rows_ok = np.array([i not in problems for i in range(n)], dtype=bool)
        rep.rows_read += n
        self.result.n_read += n
        for i in sorted(problems):
            rep.rows_rejected += 1
            rec = chunk.record(i)
            for f, reason in problems[i]:
                self._reject(Problem(ds.display, chunk.row(i), f, reason, rec))
        if not rows_ok.any():
            return
        extra_cols = {name: chunk.columns[name] for name in extra_names}
        values["extra"] = json_objects(extra_cols, n, chunk.recode)
        values["row_no"] = chunk.rownos if chunk.rownos is not None else np.arange(chunk.row0, chunk.row0 + n)
        values["src_file"] = np.full(n, ds.display, dtype=object)
        values["import_run_id"] = np.full(n, self.result.run_id, dtype=object)
        if kind.name == "admin" and values.get("level") is None and values.get("admin_code") is not None:
            values["level"] = np.array([admin_level(c) for c in values["admin_code"]], dtype=object)
        for col, default in self.kind.defaults.items():
            v = values.get(col)
            values[col] = np.full(n, default, dtype=object) if v is None else \
                np.where(_nulls(v), default, v).astype(object)
        self._copy(self._arrow_table(values, rows_ok))

    def _geometries(self, chunk: Chunk):
        """A chunk's geometries checked and repaired, and as EWKB MultiPolygons (Arrow)."""
        geoms = chunk.geoms if chunk.geoms is not None else np.full(chunk.n, None, dtype=object)
        # in a vector layer every record must have its shape; only ledgers may lack geometry
        geo = clean_geometries(geoms, self.kind.geometry == "required" or chunk.geoms is not None,
                               self.max_area_change, multi=False)
        return geo, ewkb(geo.geoms, self.srid)

    def _arrow_table(self, values: dict[str, np.ndarray], keep: np.ndarray):
        import pyarrow as pa

        arrays = []
        every = bool(keep.all())
        for c in self.copy_cols:
            t = self.columns.get(c, "bigint")
            v = values.get(c)
            if v is None:
                arrays.append(pa.nulls(int(keep.sum()), type=pa.string()))
                continue
            if isinstance(v, pa.Array):
                arrays.append(v if every else v.filter(pa.array(keep)))
                continue
            coded = self._dates.get(c)
            if coded is not None and coded[0] is v and len(v) == len(keep):  # each distinct date once
                _out, conv, codes = coded
                codes = codes if every else codes[keep]
                arrays.append(pa.array(conv, type=pa.date32()).take(
                    pa.array(np.where(codes < 0, len(conv) - 1, codes))))
                continue
            v = v[keep] if len(v) == len(keep) else v
            typ = (pa.int64() if t in ("integer", "bigint") else pa.date32() if t == "date"
                   else pa.float64() if t.startswith(("numeric", "double")) else pa.string())
            if typ == pa.string():
                v = np.array([None if x is None else str(x) for x in v], dtype=object) \
                    if v.dtype == object and any(x is not None and not isinstance(x, str) for x in v[:50]) else v
            arrays.append(pa.array(v, type=typ, from_pandas=True))
        return pa.table(arrays, names=self.copy_cols)

    def _keys(self, values: dict[str, np.ndarray], n: int, chunk: Chunk, problem) -> None:
        """Compute business keys (in ``values``); flag keys repeated inside the run."""
        name = self.kind.name
        if "ref_pzwh" in values:
            values["ref_pzwh_key"] = np.array([F.normalize_pzwh(v) if v else None for v in values["ref_pzwh"]],
                                              dtype=object)
        get = values.get
        if name == "approval":
            pz = np.array([F.normalize_pzwh(v) if v else None for v in get("pzwh", np.full(n, None))], dtype=object)
            values["pzwh_key"] = pz
            pno = get("parcel_no")
            if pno is None:
                pno = np.full(n, None, dtype=object)
            for i in np.flatnonzero(_nulls(pno)):
                pno[i] = str(chunk.row(int(i)))
            values["parcel_no"] = pno
            keys, label = list(zip(pz, pno)), "批准文号+地块编号"
        elif name == "supply":
            key = np.full(n, None, dtype=object)
            kk = np.full(n, None, dtype=object)
            for col in ("allocation_no", "contract_no", "dzjgh"):  # later wins: dzjgh first choice
                v = get(col)
                if v is not None:
                    m = ~_nulls(v)
                    key[m], kk[m] = v[m], col
            for i in np.flatnonzero(_nulls(key)):
                key[i] = surrogate("S-", *(get(f)[i] if get(f) is not None else None
                                           for f in ("project_name", "land_user", "contract_date", "supply_method")),
                                   *_rounded_centroid(values, i))
                kk[i] = "surrogate"
            values["supply_key"], values["key_kind"] = key, kk
            keys, label = key, "电子监管号"
        elif name == "acquisition":
            key = np.array(get("announcement_no", np.full(n, None, dtype=object)), dtype=object)
            for i in np.flatnonzero(_nulls(key)):
                key[i] = surrogate("A-", values["ref_pzwh_key"][i], get("acquisition_date")[i]
                                   if get("acquisition_date") is not None else None, *_rounded_centroid(values, i))
            values["acq_key"] = key
            keys, label = key, "征收公告文号"
        else:
            ref = None
            if self.kind.parent == K.SUPPLY:
                ref = np.full(n, None, dtype=object)
                for col in ("ref_allocation_no", "ref_contract_no", "ref_dzjgh"):
                    v = get(col)
                    if v is not None:
                        m = ~_nulls(v)
                        ref[m] = v[m]
                if name != "disposal":
                    for i in np.flatnonzero(_nulls(ref)):
                        problem(i, "电子监管号", "缺少电子监管号（或合同编号、划拨决定书编号），无法关联供地 "
                                                 "[no supply reference]")
            if name == "agreement":
                ano = get("agreement_no")
                if ano is None:
                    ano = np.full(n, None, dtype=object)
                dates = get("agreement_date")
                for i in np.flatnonzero(_nulls(ano)):
                    ano[i] = dates[i].isoformat() if dates is not None and dates[i] is not None else None
                values["agreement_no"] = ano
                keys, label = list(zip(ref, ano)), "补充协议编号"
            elif name == "use":
                keys, label = list(zip(ref, get("observed_date"))), "供地+巡查日期"
            elif name == "supply_link":
                keys, label = list(zip(ref, values["ref_pzwh_key"])), "供地+批准文号"
            elif name == "withdrawal":
                keys, label = list(zip(values["ref_pzwh_key"], get("doc_no"))), "批准文号+撤回文号"
            elif name == "idle_case":
                case = get("case_no")
                case = np.full(n, None, dtype=object) if case is None else case.copy()
                doc = get("determination_doc")
                for i in np.flatnonzero(_nulls(case)):  # the 认定书编号 identifies the case too
                    case[i] = doc[i] if doc is not None else None
                    if case[i] in (None, ""):
                        problem(i, "案件编号", "缺少案件编号（或认定书编号） [no case number]")
                values["case_no"] = case
                keys, label = case, "案件编号"
            elif name == "disposal_action":
                keys, label = list(zip(get("ref_plan_no"), get("action_date"), get("action"))), "方案编号+日期+进展"
            else:
                cols = [self.kind.columns[c][0] if c in self.kind.columns else c for c in self.kind.key]
                parts = [get(c) if get(c) is not None else np.full(n, None, dtype=object) for c in cols]
                keys, label = list(zip(*parts)), "+".join(self.kind.key)
        seen = self.keys_seen
        here = (len(self.result.files) - 1) << 32
        rows = chunk.rownos if chunk.rownos is not None else range(chunk.row0, chunk.row0 + n)
        for i, (k, row) in enumerate(zip(keys, rows)):
            if k is None or (isinstance(k, tuple) and all(x is None for x in k)):
                continue
            prev = seen.get(k)
            if prev is None:
                seen[k] = here | int(row)
                continue
            shown = " ".join(str(x) for x in (k if isinstance(k, tuple) else (k,)) if x is not None)
            where = self.result.files[prev >> 32].file
            problem(i, label, f"{label} {shown} 与 {where} 第 {prev & 0xFFFFFFFF} 行重复 [duplicate key in the import]")

    # -------------------------------------------------------------- SQL phase
    def _finish_sql(self) -> None:
        self.copier.close()
        if self.direct:
            if self.index_off and not (self.result.rejects and self.on_error == "abort"):  # else rolled back
                with self.conn.cursor() as cur:
                    cur.execute("SELECT landdb.bulk_index_on(%s)", (self.kind.table,))
            self.result.n_inserted = self.n_staged
            self.result.notes.append(f"首次导入：{self.n_staged} 条记录直接写入 landdb.{self.kind.table} "
                                     "[initial load straight into the table]")
            return
        with self.conn.cursor() as cur:
            self._resolve_parents(cur)
            if self.result.rejects and self.on_error == "abort":
                return
            if self.result.rejects:
                cur.execute("DELETE FROM stage WHERE (src_file, row_no) IN (SELECT unnest(%s::text[]), "
                            "unnest(%s::int[]))", ([p.file for p in self.result.rejects],
                                                   [p.row or 0 for p in self.result.rejects]))
            cur.execute("ANALYZE stage")
            getattr(self, f"_upsert_{self.kind.name}", self._upsert_generic)(cur)

    def _stage_rejects(self, cur, sql: str, field_name: str, reason: str) -> None:
        cur.execute(sql)
        for src_file, row_no, shown in cur.fetchall():
            self._reject(Problem(src_file, row_no, field_name, reason.format(shown), None))
            for f in self.result.files:
                if f.file == src_file:
                    f.rows_rejected += 1

    def _resolve_parents(self, cur) -> None:
        cols = self.columns
        if "ref_pzwh_key" in cols:
            cur.execute("UPDATE stage s SET batch_id = b.id FROM landdb.approval_batch b "
                        "WHERE b.pzwh_key = s.ref_pzwh_key")
            if self.kind.parent == K.BATCH:
                self._stage_rejects(
                    cur, "SELECT src_file, row_no, ref_pzwh FROM stage WHERE batch_id IS NULL ORDER BY 1, 2",
                    "批准文号", "批准文号 {} 在数据库中不存在，请先导入该批次 (approval) [unknown approval number]")
        if "supply_id" in cols:
            for ref, col in (("ref_dzjgh", "dzjgh"), ("ref_dzjgh", "supply_key"),
                             ("ref_contract_no", "contract_no"), ("ref_allocation_no", "allocation_no")):
                cur.execute(f"UPDATE stage s SET supply_id = x.id FROM landdb.supply x "
                            f"WHERE s.supply_id IS NULL AND s.{ref} IS NOT NULL AND x.{col} = s.{ref}")
            if self.kind.parent == K.SUPPLY:
                self._stage_rejects(
                    cur, "SELECT src_file, row_no, coalesce(ref_dzjgh, ref_contract_no, ref_allocation_no) "
                         "FROM stage WHERE supply_id IS NULL ORDER BY 1, 2",
                    "电子监管号", "供地 {} 在数据库中不存在，请先导入供地 (supply) [unknown supply]")
        if self.kind.parent == K.PLAN:
            cur.execute("UPDATE stage s SET plan_id = p.id FROM landdb.disposal_plan p WHERE p.plan_no = s.ref_plan_no")
            self._stage_rejects(
                cur, "SELECT src_file, row_no, ref_plan_no FROM stage WHERE plan_id IS NULL ORDER BY 1, 2",
                "方案编号", "处置方案 {} 在数据库中不存在，请先导入处置方案 (disposal) [unknown plan]")
        if self.kind.name == "disposal":
            cur.execute("UPDATE stage s SET idle_case_id = i.id FROM landdb.idle_case i "
                        "WHERE i.case_no = s.ref_case_no")
            self._stage_rejects(
                cur, "SELECT src_file, row_no, plan_no FROM stage "
                     "WHERE batch_id IS NULL AND supply_id IS NULL AND idle_case_id IS NULL ORDER BY 1, 2",
                "批准文号", "处置方案 {} 没有可关联的批次、供地或闲置认定 [plan refers to nothing known]")
        if self.kind.name == "supply":
            # a ledger row without 电子监管号 joins the supply already known by its contract number
            for col in ("contract_no", "allocation_no"):
                cur.execute(f"UPDATE stage s SET supply_key = x.supply_key, key_kind = x.key_kind "
                            f"FROM landdb.supply x WHERE s.dzjgh IS NULL AND s.{col} IS NOT NULL "
                            f"AND x.{col} = s.{col} AND s.supply_key <> x.supply_key")
        if self.kind.parent == K.SUPPLY and self.kind.name != "idle_case":
            # the same supply referred to by 电子监管号 in one row and by contract number in another
            key = [c for c in self.kind.key if c != "supply_id"]
            kcols = ", ".join(self.kind.columns[c][0] if c in self.kind.columns else c for c in key)
            if kcols:
                self._stage_rejects(
                    cur, f"SELECT src_file, row_no, supply_id FROM (SELECT *, row_number() OVER "
                         f"(PARTITION BY supply_id, {kcols} ORDER BY src_file, row_no) n FROM stage "
                         f"WHERE supply_id IS NOT NULL) d WHERE n > 1",
                    "电子监管号", "与本次导入中另一行指向同一供地的同一记录，重复 [duplicate record]")

    def _data_columns(self) -> list[str]:
        """Table columns that some source of this run carried (plus geometry when present)."""
        cand = [c for c in self.columns if c not in ("row_no", "src_file", "extra", "pzwh_key")
                and not c.startswith("ref_")]
        with self.conn.cursor() as cur:
            cur.execute("SELECT " + ", ".join(f"bool_or({c} IS NOT NULL)" for c in cand) + " FROM stage")
            present = cur.fetchone()
        return [c for c, p in zip(cand, present) if p or c in self._mapped_columns]

    def _upsert(self, cur, table: str, conflict: tuple[str, ...], cols: list[str], source: str = "stage",
                where: str = "") -> tuple[int, int]:
        lineage = ["import_run_id", "src_file", "src_row", "extra"]
        data = [c for c in cols if c not in conflict]
        ins_cols = list(dict.fromkeys([*conflict, *data]))
        sel = [f"s.{c}" for c in ins_cols] + [str(self.result.run_id), "s.src_file", "s.row_no", "s.extra"]
        # An empty cell means "not known here": it never erases a value another source gave.
        # pzwh keeps the spelling first seen; geometries are the same within 1 mm.
        data = [c for c in data if not (table == "approval_batch" and c == "pzwh")]
        sets = [f"{c} = coalesce(excluded.{c}, t.{c})" for c in data] + [
            "import_run_id = excluded.import_run_id", "src_file = excluded.src_file",
            "src_row = excluded.src_row", "extra = t.extra || excluded.extra"]
        changed = " OR ".join(
            [f"NOT landdb.geom_same(t.{c}, coalesce(excluded.{c}, t.{c}))" if c == "geom"
             else f"(excluded.{c} IS NOT NULL AND t.{c} IS DISTINCT FROM excluded.{c})" for c in data]
            + ["(t.extra || excluded.extra) <> t.extra"])
        sql = (f"INSERT INTO landdb.{table} AS t ({', '.join(ins_cols + lineage)}) "
               f"SELECT {', '.join(sel)} FROM {source} s {where} ORDER BY s.src_file, s.row_no "
               f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {', '.join(sets)} WHERE {changed} "
               f"RETURNING (xmax = 0)")
        cur.execute(sql)
        flags = [r[0] for r in cur.fetchall()]
        ins, upd = sum(flags), len(flags) - sum(flags)
        if ins > ANALYZE_AFTER:
            cur.execute("SELECT landdb.bulk_analyze(%s)", (table,))
        if ins + upd > ANALYZE_AFTER and "geom" in ins_cols:
            cur.execute("SELECT landdb.bulk_reindex_geom(%s, %s)", (table, ins + upd))
        return ins, upd

    def _count(self, ins: int, upd: int, records: int | None = None) -> None:
        self.result.n_inserted += ins
        self.result.n_updated += upd
        n = records
        if n is None:
            with self.conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM stage")
                n = cur.fetchone()[0]
        self.result.n_unchanged = max(0, n - ins - upd)

    @property
    def _mapped_columns(self) -> set[str]:
        return {self.kind.columns[c][0] for c in self.sets}

    def _upsert_generic(self, cur) -> None:
        table = self.kind.table
        conflict = tuple(self.kind.columns[c][0] if c in self.kind.columns else c for c in self.kind.key)
        cols = [c for c in self._data_columns() if c not in conflict]
        parents = {"supply_link": ("supply_id",), "agreement": ("supply_id",), "use": ("supply_id",),
                   "idle_case": ("supply_id",), "disposal": ("batch_id", "supply_id", "idle_case_id")}
        cols += [c for c in parents.get(self.kind.name, ()) if c not in cols and c not in conflict]
        ins, upd = self._upsert(cur, table, conflict, cols)
        self._count(ins, upd)

    def _upsert_supply(self, cur) -> None:
        cols = [c for c in self._data_columns() if c != "supply_key"]
        ins, upd = self._upsert(cur, "supply", ("supply_key",), cols)
        self._count(ins, upd)

    def _upsert_approval(self, cur) -> None:
        batch_cols = [c for c in ("pzwh", "approval_date", "authority", "batch_type", "approved_area",
                                  "batch_name", "township", "admin_code") if c in self._data_columns()]
        aggs = ", ".join(f"(array_agg({c} ORDER BY src_file, row_no) FILTER (WHERE {c} IS NOT NULL))[1] AS {c}"
                         for c in batch_cols if c != "pzwh")
        cur.execute(
            "CREATE TEMP TABLE stage_batch ON COMMIT DROP AS SELECT pzwh_key, "
            "(array_agg(pzwh ORDER BY src_file, row_no))[1] AS pzwh, "
            f"{aggs + ',' if aggs else ''} min(src_file) AS src_file, min(row_no) AS row_no, "
            "'{}'::jsonb AS extra FROM stage GROUP BY pzwh_key")
        b_ins, b_upd = self._upsert(cur, "approval_batch", ("pzwh_key",), batch_cols or ["pzwh"],
                                    source="stage_batch")
        cur.execute("UPDATE stage s SET batch_id = b.id FROM landdb.approval_batch b WHERE b.pzwh_key = s.pzwh_key")
        parcel_cols = [c for c in ("parcel_name", "land_use", "dlbm", "sheet_no", "land_ownership",
                                   "declared_area", "geom") if c in self._data_columns()]
        cur.execute("SELECT count(*), count(geom) FROM stage")
        n_all, n_geom = cur.fetchone()
        p_ins = p_upd = 0
        if n_geom:
            p_ins, p_upd = self._upsert(cur, "approval_parcel", ("batch_id", "parcel_no"), parcel_cols,
                                        where="WHERE s.geom IS NOT NULL")
            cur.execute(
                "UPDATE landdb.approval_batch b SET geom = u.g FROM ("
                "  SELECT p.batch_id, ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(p.geom)), 3)) g"
                "  FROM landdb.approval_parcel p WHERE p.batch_id IN (SELECT DISTINCT batch_id FROM stage)"
                "  GROUP BY p.batch_id) u WHERE b.id = u.batch_id AND NOT landdb.geom_same(b.geom, u.g)")
            n_moved = cur.rowcount
            if n_moved > ANALYZE_AFTER:
                cur.execute("SELECT landdb.bulk_analyze('approval_batch')")
                cur.execute("SELECT landdb.bulk_reindex_geom('approval_batch', %s)", (n_moved,))
        self.result.notes.append(f"批次：新增 {b_ins}，更新 {b_upd}；地块：新增 {p_ins}，更新 {p_upd}")
        if n_geom:
            self._count(p_ins, p_upd, n_geom)
            self.result.n_inserted += b_ins
            self.result.n_updated += b_upd
        else:
            self._count(b_ins, b_upd, n_all)

    # -------------------------------------------------------------- decision
    def _decide(self) -> None:
        r = self.result
        if r.rejects and self.on_error == "abort":
            self.conn.rollback()
            r.status = "aborted"
            r.n_inserted = r.n_updated = r.n_unchanged = 0
            r.notes.append(f"有 {len({(p.file, p.row) for p in r.rejects})} 条记录被拒收，按 --on-error abort "
                           "未导入任何数据 [nothing loaded]")
        elif self.dry_run:
            self.conn.rollback()
            r.status = "dry_run"
            r.notes.append("试运行 (--dry-run)：未写入任何数据 [dry run, nothing written]")
        else:
            self.conn.commit()
            r.status = "loaded" if (r.n_inserted or r.n_updated) else "unchanged"

    def _stop_copier(self) -> None:
        copier = getattr(self, "copier", None)
        if copier is not None:
            try:
                copier.close()
            except Exception:  # the original error is the one to report
                pass

    @property
    def _current_sheet(self) -> str | None:
        f = self.result.files[-1] if self.result.files else None
        return f.layer if f is not None and f.format == "xlsx" else None



def _safe_number(v: object) -> float | None:
    try:
        return F.parse_number(v)
    except ValueError:
        return None


def run_import(target, kind: str, paths: list[str | Path], **options) -> ImportResult:
    """Import files of one KIND into the database of ``target`` (a :class:`landdb.db.Target`)."""
    from .. import db

    conn = db.connect(target)
    log_conn = db.connect(target)
    log_conn.autocommit = True
    try:
        return Importer(conn, log_conn, kind, **options).run(paths)
    finally:
        conn.close()
        log_conn.close()


def import_with(conn, log_conn, kind: str, paths: list[str | Path], **options) -> ImportResult:
    """Import with connections the caller holds (``log_conn`` must be autocommit)."""
    return Importer(conn, log_conn, kind, **options).run(paths)


__all__ = ["FileReport", "ImportResult", "import_with", "run_import"]
