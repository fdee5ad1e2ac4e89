"""Writers that produce files the way offices send them, byte-identical for a seed.

Shapefiles are written with pyogrio in chunks (append), then post-processed: the .cpg removed
(unless the file is meant to have one), the DBF language-driver byte (offset 29) set, and the
DBF last-update date (bytes 1–3) fixed. Excel workbooks get fixed zip timestamps and document
properties. CSV ledgers (the benchmark county) stream.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import numpy as np
import openpyxl
import shapely
from openpyxl.styles import Alignment, Font
from pyogrio.raw import write as ogr_write
from pyproj import Transformer

from .layout import GEOGRAPHIC_EPSG, WORKING_EPSG, ZONE_OFFSET

SHP_CHUNK = 20_000  # records per pyogrio append


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cut_name(name: str, encoding: str, limit: int = 10) -> str:
    """A DBF field name cut to ``limit`` bytes in ``encoding`` at a character boundary."""
    out = ""
    for ch in name:
        if len((out + ch).encode(encoding)) > limit:
            break
        out += ch
    return out


@dataclass
class Field:
    """A DBF field: ``kind`` is str, float, int or date; ``width`` in bytes for str."""

    name: str
    kind: str = "str"
    width: int = 20


@dataclass
class Dataset:
    """What the manifest says about one dataset (a shapefile, a workbook, a folder of TXT)."""

    path: str
    kind: str
    format: str
    encoding: str
    description: str
    records: int = 0
    epsg: Optional[int] = None
    extra: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = {"path": self.path, "kind": self.kind, "format": self.format,
             "encoding": self.encoding, "description": self.description,
             "records": self.records, "epsg": self.epsg, "files": sorted(self.files)}
        d.update(self.extra)
        return d


class ShapefileWriter:
    """Streams polygons and attribute rows into one shapefile."""

    def __init__(self, root: Path, rel: str, fields: Sequence[Field], *, kind: str,
                 description: str, encoding: str = "GBK", ldid: int = 0x57,
                 prj: bool = True, prefixed: bool = False, keep_cpg: bool = False,
                 dbf_date: date, chunk: Optional[int] = None,
                 extra: Optional[dict] = None) -> None:
        self.path = root / rel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            self.path.with_suffix(ext).unlink(missing_ok=True)
        self.fields = list(fields)
        self.encoding = encoding
        self.codec = "gbk" if encoding.upper() == "GBK" else "utf-8"
        self.ldid, self.prj, self.prefixed, self.keep_cpg = ldid, prj, prefixed, keep_cpg
        self.dbf_date, self.chunk = dbf_date, chunk or SHP_CHUNK
        self.names = [f.name if keep_cpg else cut_name(f.name, self.codec) for f in self.fields]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"{rel}: field names collide after cutting to 10 bytes: {self.names}")
        self.geoms: list = []
        self.rows: list[tuple] = []
        self.count = 0
        epsg = (4488 + 38 if prefixed else WORKING_EPSG)
        files = [rel[:-4] + e for e in (".shp", ".shx", ".dbf")]
        if prj:
            files.append(rel[:-4] + ".prj")
        if keep_cpg:
            files.append(rel[:-4] + ".cpg")
        self.dataset = Dataset(
            rel, kind, "ESRI Shapefile", encoding, description, epsg=epsg, files=files,
            extra={"cpg": keep_cpg, "prj": prj, "ldid": f"0x{ldid:02X}",
                   "zone_prefix": prefixed, "fields": self.names, **(extra or {})})

    def add(self, geom, row: tuple) -> None:
        self.geoms.append(geom)
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self.flush()

    def extend(self, geoms: Sequence, rows: Sequence[tuple]) -> None:
        for g, r in zip(geoms, rows):
            self.add(g, r)

    def flush(self) -> None:
        if not self.rows:
            return
        geoms = np.asarray(self.geoms, dtype=object)
        if self.prefixed:
            geoms = shapely.transform(geoms, lambda c: np.round(np.add(c, (ZONE_OFFSET, 0.0)), 3))
        wkb = shapely.to_wkb(geoms)
        cols = list(zip(*self.rows))
        data = []
        for f, col in zip(self.fields, cols):
            if f.kind == "str":
                data.append(np.array(["" if v is None else v for v in col], dtype=f"U{f.width}"))
            elif f.kind == "float":
                data.append(np.array([np.nan if v is None else v for v in col], dtype=float))
            elif f.kind == "int":
                data.append(np.array(col, dtype=np.int32))
            else:
                data.append(np.array([np.datetime64(v) if v else np.datetime64("NaT") for v in col],
                                     dtype="datetime64[D]"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ogr_write(str(self.path), wkb, data, self.names, geometry_type="Polygon",
                      crs=f"EPSG:{WORKING_EPSG}" if self.prj else None,
                      encoding=self.encoding, append=self.count > 0)
        self.count += len(self.rows)
        self.geoms, self.rows = [], []

    def close(self) -> Dataset:
        self.flush()
        if self.count == 0:
            raise ValueError(f"{self.path}: no records")
        dbf = self.path.with_suffix(".dbf")
        with open(dbf, "r+b") as f:
            f.seek(1)
            d = self.dbf_date
            f.write(bytes([d.year - 1900, d.month, d.day]))
            f.seek(29)
            f.write(bytes([self.ldid]))
        if not self.keep_cpg:
            self.path.with_suffix(".cpg").unlink(missing_ok=True)
        if not self.prj:
            self.path.with_suffix(".prj").unlink(missing_ok=True)
        self.dataset.records = self.count
        self.dataset.extra["fields"] = dbf_field_names(dbf, self.codec)
        return self.dataset


def dbf_field_names(dbf: Path, codec: str) -> list[str]:
    """Field names as stored (a cut multibyte tail shown as \\xNN)."""
    with open(dbf, "rb") as f:
        head = f.read(32)
        size = int.from_bytes(head[8:10], "little")
        desc = f.read(size - 32)
    names = []
    for i in range(0, len(desc) - 1, 32):
        if desc[i] == 0x0D:
            break
        raw = desc[i:i + 11].split(b"\0", 1)[0]
        names.append(raw.decode(codec, errors="backslashreplace"))
    return names


# -- tables ----------------------------------------------------------------------------------

XLSX_TIME = (2026, 6, 30, 9, 0, 0)


def _normalise_xlsx(path: Path, stamp: datetime) -> None:
    """Fixed zip entry times and document properties, so the bytes depend on content only."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(path)
    entries = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    src.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + iso.encode(),
                              data)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    path.write_bytes(buf.getvalue())


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[Any]]
    caption: Optional[str] = None  # a merged title row above the header, as ledgers often have
    formats: dict[str, str] = field(default_factory=dict)  # column → number format


def write_xlsx(root: Path, rel: str, sheets: Sequence[Sheet], stamp: datetime) -> int:
    """Write a workbook; returns the number of data rows of the first sheet."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "示范县自然资源局"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    for sh in sheets:
        ws = wb.create_sheet(sh.title)
        r0 = 1
        if sh.caption:
            ws.cell(row=1, column=1, value=sh.caption).font = Font(bold=True, size=14)
            ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(sh.header))
            r0 = 2
        for j, h in enumerate(sh.header, start=1):
            c = ws.cell(row=r0, column=j, value=h)
            c.font = Font(bold=True)
            ws.column_dimensions[c.column_letter].width = max(10, min(40, 2 * len(h) + 2))
        fmts = {sh.header.index(k) + 1: v for k, v in sh.formats.items()}
        for i, row in enumerate(sh.rows, start=r0 + 1):
            for j, v in enumerate(row, start=1):
                if v is None or v == "":
                    continue
                c = ws.cell(row=i, column=j, value=v)
                if j in fmts:
                    c.number_format = fmts[j]
                elif isinstance(v, date):
                    c.number_format = "yyyy-mm-dd"
        ws.freeze_panes = ws.cell(row=r0 + 1, column=1)
    wb.save(path)
    _normalise_xlsx(path, stamp)
    return len(sheets[0].rows) if sheets else 0


class Ledger:
    """A tabular ledger: an Excel workbook (kept in memory) or, for the benchmark county, a
    GBK CSV written as it streams."""

    def __init__(self, root: Path, rel_stem: str, header: list[str], *, kind: str,
                 description: str, csv_mode: bool, sheet: str, caption: Optional[str] = None,
                 formats: Optional[dict[str, str]] = None, csv_dates=None) -> None:
        self.root, self.header, self.csv_mode = root, header, csv_mode
        self.rel = rel_stem + (".csv" if csv_mode else ".xlsx")
        self.sheet, self.caption, self.formats = sheet, caption, formats or {}
        self.csv_dates = csv_dates
        self.rows: list[list[Any]] = []
        self.count = 0
        self.dataset = Dataset(self.rel, kind, "CSV" if csv_mode else "XLSX",
                               "GBK" if csv_mode else "UTF-8 (xlsx)", description,
                               files=[self.rel], extra={"columns": header})
        path = root / self.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if csv_mode:
            self._fh = open(path, "w", encoding="gbk", newline="")
            self._csv = csv.writer(self._fh, lineterminator="\r\n")
            self._csv.writerow(header)

    def add(self, row: list[Any]) -> None:
        self.count += 1
        if self.csv_mode:
            self._csv.writerow(["" if v is None else self.csv_dates(v) if isinstance(v, date)
                                else v for v in row])
        else:
            self.rows.append(row)

    def close(self, stamp: datetime) -> Dataset:
        if self.csv_mode:
            self._fh.close()
        else:
            write_xlsx(self.root, self.rel, [Sheet(self.sheet, self.header, self.rows, self.caption,
                                                   self.formats)], stamp)
        self.dataset.records = self.count
        return self.dataset


# -- GeoJSON ---------------------------------------------------------------------------------


class GeoJsonWriter:
    """Polygons in lon/lat (EPSG:4490), written feature by feature."""

    def __init__(self, root: Path, rel: str, *, kind: str, description: str,
                 name: str) -> None:
        self.path = root / rel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.to_geo = Transformer.from_crs(WORKING_EPSG, GEOGRAPHIC_EPSG, always_xy=True)
        self._fh = open(self.path, "w", encoding="utf-8", newline="\n")
        head = {"type": "FeatureCollection", "name": name,
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}}
        self._fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ',\n"features": [\n')
        self.count = 0
        self.dataset = Dataset(rel, kind, "GeoJSON", "UTF-8", description, epsg=GEOGRAPHIC_EPSG,
                               files=[rel])

    def add(self, geom, props: dict[str, Any]) -> None:
        def proj(coords: np.ndarray) -> np.ndarray:
            x, y = self.to_geo.transform(coords[:, 0], coords[:, 1])
            return np.round(np.column_stack([x, y]), 8)

        g = shapely.transform(geom, proj)
        feat = {"type": "Feature", "properties": props,
                "geometry": json.loads(shapely.to_geojson(g))}
        sep = ",\n" if self.count else ""
        self._fh.write(sep + json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
        self.count += 1

    def close(self) -> Dataset:
        self._fh.write("\n]\n}\n")
        self._fh.close()
        self.dataset.records = self.count
        self.dataset.extra["fields"] = ["图斑编号", "监测批次", "变化类型", "前时相", "后时相",
                                        "判定结果", "图斑面积", "乡镇", "备注"]
        return self.dataset
