"""Find the datasets in what the user named, and read each in chunks of records.

PATH may be files, folders (every readable dataset inside, recursively) or zip archives
(extracted to a temporary folder and read like a folder). A chunk is a list of records under
the file's own field names, with their geometries (shapely, in the file's CRS) and the 1-based
row number of the first record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from ..errors import LanddbError

VECTOR_EXT = {".shp": "shp", ".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson"}
TABLE_EXT = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv"}
SIDECARS = {".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".qmd", ".md",
            ".pdf", ".doc", ".docx", ".xls"}
CHUNK = 25_000
FIRST_CHUNK = 2_000  # a small first chunk: the server starts loading while the rest is read


class SourceError(LanddbError):
    """A file that cannot be read at all (the whole file is refused)."""


@dataclass
class Dataset:
    """One readable dataset: a shapefile, a GeoPackage layer, a 部标 TXT, a sheet…"""

    display: str  # how the user knows it: a path, "x.zip!a/b.shp", "x.gpkg:layer"
    path: Path  # the real file on disk
    fmt: str  # shp, gpkg, geojson, bubiao, xlsx, csv
    layer: str | None = None
    members: list[Path] = field(default_factory=list)  # files that make it up, for hashing

    def sha256(self) -> str:
        h = hashlib.sha256()
        for p in sorted(self.members or [self.path]):
            h.update(p.suffix.lower().encode())
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        return h.hexdigest()


@dataclass
class Chunk:
    """Records in columns: source field name → Arrow array (vector files) or list (tables)."""

    columns: dict[str, object]
    n: int
    geoms: np.ndarray | None  # shapely geometries (None entries for missing), or None
    row0: int = 1
    rownos: np.ndarray | None = None  # explicit row (line) numbers, else row0 + index
    recode: object = None  # str → str applied to text read as Latin-1 (see encoding.recode_latin1)
    prepared: object = None  # (checked geometries, their EWKB) when made on the reader thread

    def row(self, i: int) -> int:
        return int(self.rownos[i]) if self.rownos is not None else self.row0 + i

    def record(self, i: int) -> dict:
        """The original values of one record (for a reject)."""
        out = {}
        for name, col in self.columns.items():
            v = col[i].as_py() if hasattr(col, "to_pylist") else col[i]
            if self.recode is not None and isinstance(v, str):
                v = self.recode(v)
            out[name] = v
        return out


def _is_bubiao(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(enc, errors="ignore")
        except LookupError:
            continue
        if "[地块坐标]" in text or "[属性描述]" in text:
            return True
    return False


def discover(paths: list[str | Path], workdir: Path | None = None, split_sheets: bool = True) -> list[Dataset]:
    """Every dataset under the given paths, in a stable order (each sheet of a workbook with
    several sheets is a dataset of its own unless ``split_sheets`` is false)."""
    out: list[Dataset] = []
    tmp = workdir
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise SourceError(f"文件或文件夹不存在：{p} [no such file or folder]")
        if p.is_dir():
            files = sorted(x for x in p.rglob("*") if x.is_file())
            out += _datasets_in(files, base=p, label=str(p), split_sheets=split_sheets)
        elif p.suffix.lower() == ".zip":
            if tmp is None:
                tmp = Path(tempfile.mkdtemp(prefix="landdb-zip-"))
            dest = tmp / f"{len(out)}_{p.stem}"
            try:
                with zipfile.ZipFile(p) as z:
                    z.extractall(dest)
            except zipfile.BadZipFile as e:
                raise SourceError(f"{p}：不是有效的 zip 压缩包 [bad zip file]") from e
            files = sorted(x for x in dest.rglob("*") if x.is_file())
            out += _datasets_in(files, base=dest, label=f"{p}!", split_sheets=split_sheets)
        else:
            found = _datasets_in([p], base=p.parent, label=str(p.parent), explicit=True, split_sheets=split_sheets)
            out += found
    return out


def _datasets_in(files: list[Path], base: Path, label: str, explicit: bool = False,
                 split_sheets: bool = True) -> list[Dataset]:
    out = []
    for f in files:
        ext = f.suffix.lower()
        shown = str(f) if explicit else (
            label + str(f.relative_to(base)) if label.endswith("!")
            else str(Path(label) / f.relative_to(base)))
        if ext == ".shp":
            members = [f] + [s for s in (f.with_suffix(x) for x in (".dbf", ".shx", ".prj", ".cpg"))
                             if s.exists()]
            if not f.with_suffix(".dbf").exists() and not f.with_suffix(".DBF").exists():
                raise SourceError(f"{shown}：缺少属性表 .dbf 文件 [missing .dbf]")
            out.append(Dataset(shown, f, "shp", members=members))
        elif ext == ".gpkg":
            import pyogrio

            try:
                layers = pyogrio.list_layers(f)
            except Exception as e:
                raise SourceError(f"{shown}：无法打开 GeoPackage：{e} [cannot open]") from e
            for name, _gtype in layers:
                out.append(Dataset(f"{shown}:{name}", f, "gpkg", layer=str(name), members=[f]))
        elif ext in (".geojson", ".json"):
            out.append(Dataset(shown, f, "geojson", members=[f]))
        elif ext == ".txt":
            if _is_bubiao(f):
                out.append(Dataset(shown, f, "bubiao", members=[f]))
            elif explicit:
                raise SourceError(f"{shown}：不是部标坐标文件（缺少 [地块坐标]） [not a 部标 TXT]")
        elif ext in TABLE_EXT:
            if f.name.startswith("~$"):
                continue  # Excel's lock file
            sheets = sheet_names(f) if ext != ".csv" and split_sheets else []
            if len(sheets) > 1:
                out += [Dataset(f"{shown}:{s}", f, "xlsx", layer=s, members=[f]) for s in sheets]
            else:
                out.append(Dataset(shown, f, TABLE_EXT[ext], members=[f]))
        elif explicit and ext not in SIDECARS:
            raise SourceError(f"{shown}：不支持的文件类型 {ext} [unsupported file type]")
        elif explicit:
            raise SourceError(f"{shown}：这是附属文件，请给出 .shp 文件 [give the .shp, not {ext}]")
    return out


# ------------------------------------------------------------------------------ vector
def check_shapefile(ds: Dataset) -> None:
    """A .shp shorter than its header says was cut off in transfer: refuse it, naming the sizes
    (GDAL would read the part that is there and say nothing)."""
    import struct

    size = ds.path.stat().st_size
    with open(ds.path, "rb") as f:
        head = f.read(100)
    if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
        raise SourceError(f"{ds.display}：无法读取：不是有效的 .shp 文件（文件头损坏） [not a valid .shp]")
    declared = struct.unpack(">i", head[24:28])[0] * 2
    if size < declared:
        raise SourceError(f"{ds.display}：无法读取：.shp 文件不完整（被截断），文件头声明 {declared:,} 字节，"
                          f"实际只有 {size:,} 字节 [truncated .shp]")


def vector_info(ds: Dataset, encoding: str | None) -> dict:
    import pyogrio

    if ds.fmt == "shp":
        check_shapefile(ds)
    try:
        return pyogrio.read_info(ds.path, layer=ds.layer, encoding=encoding,
                                 force_feature_count=True, force_total_bounds=True)
    except Exception as e:  # GDAL's errors are specific enough; name the file
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SourceError(f"{ds.display}：无法读取（文件可能已损坏或不完整）：{msg} "
                          "[cannot read: damaged or truncated file?]") from e


def read_vector(ds: Dataset, encoding: str | None, recode=None,
                chunk: int = CHUNK, info: dict | None = None, codec: str | None = None) -> Iterator[Chunk]:
    """Stream a vector dataset through Arrow in chunks; WKB geometries become shapely.

    A shapefile whose text decodes with ``codec`` (and whose ``info`` from :func:`vector_info`
    is given) has its attributes read by :class:`~landdb.ingest.dbf.DbfColumns` — GDAL's values,
    much faster — and only its geometries by GDAL; a block of records that reader does not take
    is read by GDAL, and from a deleted record on, GDAL reads everything."""
    import pyogrio

    from .dbf import DELETED, DbfColumns

    fast = None
    if ds.fmt == "shp" and recode is None and codec and info is not None:
        fast = DbfColumns.open(ds.path, info, codec)
    row = 1
    try:
        if fast is not None:
            for n, _none, geoms in _arrow_batches(ds, encoding, chunk, 0, attributes=False):
                block = fast.read(row - 1, n)
                if block is DELETED:
                    break
                if block is None:  # something only GDAL reads as GDAL does
                    _meta, table = pyogrio.read_arrow(ds.path, layer=ds.layer, encoding=encoding,
                                                      read_geometry=False, skip_features=row - 1,
                                                      max_features=n)
                    block = {k: table.column(k).combine_chunks() for k in table.schema.names}
                yield Chunk(block, n, geoms, row)
                row += n
            else:
                return
        for n, cols, geoms in _arrow_batches(ds, encoding, chunk, row - 1):
            if recode is not None:
                cols = {recode(k): v for k, v in cols.items()}
            yield Chunk(cols, n, geoms, row, recode=recode)
            row += n
    except LanddbError:
        raise
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SourceError(f"{ds.display}：读取到第 {row} 行附近失败：{msg} "
                          f"[read failed near row {row}]") from e


def _arrow_batches(ds: Dataset, encoding: str | None, size: int, skip: int, attributes: bool = True,
                   geometry: bool = True) -> Iterator[tuple[int, dict, np.ndarray | None]]:
    """GDAL's batches of records from feature ``skip`` (0-based): (count, {field: Arrow array},
    shapely geometries or None). The first batch is small, so that loading starts early, except
    where GDAL reads a shapefile's attributes: it skips deleted records, so that a second reader
    started at "feature N" could read one record twice."""
    import pyogrio

    first = min(FIRST_CHUNK, size)
    passes = [(skip, first, True), (skip + first, size, False)]
    if first == size or (ds.fmt == "shp" and attributes):
        passes = [(skip, size, False)]
    for at, batch_size, once in passes:
        with pyogrio.open_arrow(ds.path, layer=ds.layer, encoding=encoding, batch_size=batch_size,
                                use_pyarrow=True, columns=None if attributes else [], read_geometry=geometry,
                                skip_features=at) as (meta, reader):
            geom_col = meta.get("geometry_name") or "wkb_geometry"
            n = 0
            for batch in reader:
                cols = {k: batch.column(k) for k in batch.schema.names if k != geom_col}
                geoms = None
                if geometry and geom_col in batch.schema.names:
                    wkb = batch.column(geom_col).to_numpy(zero_copy_only=False)
                    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
                n += batch.num_rows
                yield batch.num_rows, cols, geoms
                if once:
                    break
        if once and n < first:  # the layer ended within the first batch
            return


# ------------------------------------------------------------------------------ 部标 TXT
def read_bubiao(ds: Dataset, encoding: str | None):
    from ..formats.bubiao import read_bubiao as _read

    return _read(ds.path, encoding=encoding)


# ------------------------------------------------------------------------------ tables
def _header_score(cells: list, known: set[str]) -> int:
    from ..fields import normalize_name

    return sum(1 for c in cells if isinstance(c, str) and normalize_name(c) in known)


def read_table(ds: Dataset, known_names: set[str], encoding: str | None = None,
               chunk: int | None = None) -> tuple[list[str], str, Iterator[Chunk]]:
    """An Excel sheet or CSV, streamed: its field names, its encoding and its records in chunks
    (at least one, perhaps empty). The header is the first row (of the first 15) that names the
    most known fields: ledgers often start with a title row. Row numbers are those Excel shows."""
    size = chunk or CHUNK
    enc, rows = _table_rows(ds, encoding)
    head = list(itertools.islice(rows, 15))
    best, best_i = -1, 0
    for i, r in enumerate(head):
        s = _header_score(list(r), known_names)
        if s > best:
            best, best_i = s, i
    if not head:
        rows.close()
        return [], enc, iter([Chunk({}, 0, None, 1)])
    header = [("" if c is None else str(c).strip()) for c in head[best_i]]
    keep = [i for i, h in enumerate(header) if h]
    first = best_i + 2

    def block(body: list[tuple], nos: list[int]) -> Chunk:
        cols = {header[i]: [r[i] if i < len(r) else None for r in body] for i in keep}
        return Chunk(cols, len(body), None, nos[0] if nos else first, rownos=np.array(nos, dtype=np.int64))

    def chunks() -> Iterator[Chunk]:
        body: list[tuple] = []
        nos: list[int] = []
        sent = False
        try:
            for no, r in enumerate(itertools.chain(head[best_i + 1:], rows), start=first):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in r):
                    continue
                body.append(r)
                nos.append(no)
                if len(body) == size:
                    yield block(body, nos)
                    body, nos, sent = [], [], True
            if body or not sent:
                yield block(body, nos)
        finally:
            rows.close()

    return [header[i] for i in keep], enc, chunks()


def sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception as e:
        raise SourceError(f"{path}：无法打开 Excel 文件：{e} [cannot open workbook]") from e
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def csv_encoding(path: Path) -> str:
    """UTF-8 if every byte of the file decodes strictly as UTF-8 (read in blocks), else GB18030."""
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            for blk in iter(lambda: f.read(1 << 20), b""):
                dec.decode(blk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _table_rows(ds: Dataset, encoding: str | None) -> tuple[str, Iterator[tuple]]:
    """The encoding and a generator of the rows of a CSV file or Excel sheet, read as needed."""
    if ds.fmt == "csv":
        enc = encoding or csv_encoding(ds.path)

        def csv_rows() -> Iterator[tuple]:
            import csv

            with open(ds.path, encoding=enc, newline="") as f:
                for r in csv.reader(f):
                    yield tuple(c if c != "" else None for c in r)

        return ("utf-8" if enc == "utf-8-sig" else enc), csv_rows()
    import openpyxl

    try:
        wb = openpyxl.load_workbook(ds.path, read_only=True, data_only=True)
    except Exception as e:
        raise SourceError(f"{ds.display}：无法打开 Excel 文件：{e} [cannot open workbook]") from e

    def sheet_rows() -> Iterator[tuple]:
        try:
            ws = wb[ds.layer] if ds.layer else wb.worksheets[0]
            for r in ws.iter_rows(values_only=True):
                yield tuple(v.date() if isinstance(v, dt.datetime) and v.time() == dt.time()
                            else v for v in r)
        finally:
            wb.close()

    return "utf-8", sheet_rows()
