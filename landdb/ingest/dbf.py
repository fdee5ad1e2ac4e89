"""A shapefile's attributes (.dbf) read straight into Arrow columns.

GDAL reads a DBF field by field, record by record (about 15 s for a million 17-field records);
a plain dBase III file is fixed-width records, so whole columns can be cut out of a block of
records with numpy and each distinct text decoded once. The values are GDAL's own, by the rules
of its shapefile driver: text trimmed of spaces and cut at a NUL byte, empty text, blank or
``*``-filled numbers and blank, ``0`` or ``00000000`` dates are null; numbers typed as GDAL types
them (``pyogrio.read_info``). A block holding anything else (a deleted record, a number or date
GDAL would read only in part, text that does not decode) is read by GDAL instead, so the result
is always what GDAL gives, only faster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import encoding as E

# GDAL's type of a DBF field (pyogrio dtype) → how its bytes are read here
_DTYPES = {"C": {"object"}, "N": {"int32", "int64", "float64"}, "F": {"int32", "int64", "float64"},
           "D": {"datetime64[D]"}}


DELETED = "deleted"  # what read() says of a block holding a deleted record


class DbfColumns:
    """Reads blocks of records of one .dbf as Arrow arrays named as GDAL names the fields."""

    def __init__(self, path: Path, header: E.DbfHeader, names: list[str], dtypes: list[str],
                 codec: str) -> None:
        self.path, self.header, self.names, self.dtypes, self.codec = path, header, names, dtypes, codec

    @classmethod
    def open(cls, shp: Path, info: dict, codec: str) -> DbfColumns | None:
        """The reader for a shapefile's .dbf, or None when GDAL must read it (another dBase
        flavour, a field type or record count this reader does not take)."""
        dbf = E.find_sidecar(shp, ".dbf")
        if dbf is None:
            return None
        try:
            header = E.read_dbf_header(dbf)
        except Exception:
            return None
        names = [str(n) for n in info.get("fields", ())]
        dtypes = [str(t) for t in info.get("dtypes", ())]
        if (header.version != 0x03 or len(names) != len(header.fields) or len(dtypes) != len(names)
                or header.record_count != header.declared_record_count
                or header.record_count != int(info.get("features") or -1)):
            return None
        for f, t in zip(header.fields, dtypes):
            if t not in _DTYPES.get(f.type, ()):
                return None
        return cls(dbf, header, names, dtypes, codec)

    def read(self, start: int, n: int) -> dict[str, object] | str | None:
        """Records start … start+n-1 (0-based) as {field name: Arrow array}; None when GDAL must
        read this block, :data:`DELETED` when GDAL must read the rest of the file (a deleted
        record: the records from here on are no longer the features GDAL numbers)."""
        import pyarrow as pa

        h = self.header
        with open(self.path, "rb") as f:
            f.seek(h.header_length + start * h.record_length)
            buf = f.read(n * h.record_length)
        if len(buf) != n * h.record_length:
            return None
        rec = np.frombuffer(buf, dtype=np.uint8).reshape(n, h.record_length)
        if (rec[:, 0] != 0x20).any():  # deleted records: GDAL skips them, records ≠ features from here
            return DELETED
        out: dict[str, object] = {}
        for fld, name, dtype in zip(h.fields, self.names, self.dtypes):
            raw = np.ascontiguousarray(rec[:, fld.offset:fld.offset + fld.length])
            cells = pa.FixedSizeBinaryArray.from_buffers(pa.binary(fld.length), n, [None, pa.py_buffer(raw)])
            if fld.type == "C":
                col = self._text(cells)
            elif fld.type == "D":
                col = self._date(cells)
            else:
                col = self._number(cells, dtype)
            if col is None:
                return None
            out[name] = col
        return out

    def _text(self, cells):
        """Text as a dictionary array: each distinct value cut at NUL, trimmed and decoded once
        (all of them in one decode call, joined by newlines)."""
        import pyarrow as pa

        enc = cells.dictionary_encode()
        d = enc.dictionary
        k, w = len(d), d.type.byte_width
        data = np.frombuffer(d.buffers()[1], dtype=np.uint8, count=k * w).reshape(k, w)
        if (data == 0x0A).any():
            return None  # a newline inside a value: the join below would split it
        keep = data != 0x20
        nul = data == 0
        if nul.any():
            cut = np.where(nul.any(axis=1), nul.argmax(axis=1), w)
            keep &= np.arange(w) < cut[:, None]
        present = keep.any(axis=1)
        first = keep.argmax(axis=1)
        last = w - keep[:, ::-1].argmax(axis=1)
        col = np.arange(w)
        keep = (col >= first[:, None]) & (col < last[:, None]) & present[:, None]
        joined = np.concatenate([data, np.full((k, 1), 0x0A, dtype=np.uint8)], axis=1)
        keep = np.concatenate([keep, np.ones((k, 1), dtype=bool)], axis=1)
        try:
            values = joined[keep].tobytes().decode(self.codec).split("\n")[:-1]
        except UnicodeDecodeError:
            return None  # GDAL's replacement rules apply: let GDAL read the block
        if len(values) != k:
            return None
        indices = enc.indices.to_numpy()
        return pa.DictionaryArray.from_arrays(
            pa.array(indices, pa.int32(), mask=~present[indices]),
            pa.array(values, pa.string(), mask=~present))

    @staticmethod
    def _trimmed(cells):
        """Cells as trimmed strings (None when a cell holds a NUL byte or non-ASCII bytes)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        data = np.frombuffer(cells.buffers()[1], dtype=np.uint8)
        if (data == 0).any() or (data >= 0x80).any():
            return None
        return pc.utf8_trim(cells.cast(pa.binary()).cast(pa.string()), " ")

    def _number(self, cells, dtype: str):
        import pyarrow as pa
        import pyarrow.compute as pc

        t = self._trimmed(cells)
        if t is None:
            return None
        null = pc.or_(pc.equal(t, ""), pc.starts_with(t, "*"))
        t = pc.if_else(null, pa.scalar(None, pa.string()), t)
        try:
            return pc.cast(t, {"int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64()}[dtype])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # "1.5" in an integer field, "12abc"…: GDAL reads a prefix

    def _date(self, cells):
        import pyarrow as pa
        import pyarrow.compute as pc

        t = self._trimmed(cells)
        if t is None:
            return None
        null = pc.or_(pc.is_in(t, value_set=pa.array(["", "0"])), pc.starts_with(t, "00000000"))
        t = pc.if_else(null, pa.scalar(None, pa.string()), t)
        if pc.all(pc.match_substring_regex(t, r"^\d{8}$")).as_py() not in (True, None):
            return None
        try:
            return pc.cast(pc.strptime(t, format="%Y%m%d", unit="s"), pa.date32())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # 20190230: GDAL rolls it over to 2 March
