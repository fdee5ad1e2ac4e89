"""Arrow tables → PostgreSQL's binary COPY format, column by column with numpy and Arrow.

The server reads binary COPY without parsing text: no CSV scanning, no hex decoding of
geometries (PostGIS receives the EWKB itself), no number or date parsing. Every value still
goes through its type's receive function, so the checks are the server's own: geometry type
and SRID (typmod), numeric precision and scale, valid UTF-8. A row is a 2-byte field count,
then per field a 4-byte length (-1 for NULL) and the value's bytes. The fixed-width parts (lengths,
numbers, dates) of neighbouring columns are one numpy byte matrix, the values of variable width
(text, JSON, EWKB) stay Arrow arrays, and one ``binary_join_element_wise`` lays the rows out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
NULL = struct.pack(">i", -1)
TEXT_TYPES = {"text", "varchar", "bpchar", "json", "name"}
FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8", "date": ">i4",
         "bool": "u1"}
INT_RANGE = {"int2": 2**15, "int4": 2**31, "int8": 2**63}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # pg_type.typname: text, int4, numeric, geometry …
    typmod: int = -1


def columns_of(cur, table: str, names: list[str]) -> list[Column]:
    """The COPY target's columns (in ``names`` order) with their types, from the catalog."""
    cur.execute("SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a "
                "JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", (table,))
    found = {name: Column(name, typ, mod) for name, typ, mod in cur.fetchall()}
    return [found[n] for n in names]


def encode(table: pa.Table, columns: list[Column]) -> list[pa.Buffer]:
    """One COPY … (FORMAT binary) body for the rows of ``table``: header, rows, trailer."""
    n = table.num_rows
    if not n:
        return [pa.py_buffer(HEADER + TRAILER)]
    pieces: list[pa.Array] = []
    run: list[tuple[np.ndarray, np.ndarray]] = [(np.tile(np.frombuffer(struct.pack(">h", len(columns)), np.uint8),
                                                         (n, 1)), np.full(n, 2))]
    for col, arr in zip(columns, table.columns):
        for seg in _field(col, arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr):
            if isinstance(seg, pa.Array):  # a payload between runs of fixed-width bytes
                pieces += [_rows(run), seg]
                run = []
            else:
                run.append(seg)
    if run:
        pieces.append(_rows(run))
    rows = pc.binary_join_element_wise(*pieces, b"") if len(pieces) > 1 else pieces[0]
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=rows.offset * 4)
    body = rows.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    return [pa.py_buffer(HEADER), body, pa.py_buffer(TRAILER)]


def _field(col: Column, arr: pa.Array) -> list:
    """A column as segments whose row-wise concatenation is each row's field: Arrow binary arrays
    (the values of variable width) and (byte matrix, bytes to keep per row) pairs."""
    n = len(arr)
    valid = _valid(arr)
    if not valid.any():
        return [(np.tile(np.frombuffer(NULL, np.uint8), (n, 1)), np.full(n, 4))]
    t = col.type
    if t in TEXT_TYPES or t in ("jsonb", "bytea", "geometry", "geography"):
        payload = arr
        if t in TEXT_TYPES or t == "jsonb":
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                payload = pc.cast(arr, pa.string())
        elif not pa.types.is_binary(arr.type):
            raise TypeError(f"{col.name}: binary COPY of {t} needs Arrow binary, got {arr.type}")
        payload = pc.cast(payload, pa.binary()).fill_null(b"")
        lengths = pc.binary_length(payload).to_numpy(zero_copy_only=False).astype(np.int64)
        prefix = b"\x01" if t == "jsonb" else b""  # jsonb's binary form: a version byte, then the text
        head = np.zeros((n, 4 + len(prefix)), dtype=np.uint8)
        head[:, :4] = _be4(np.where(valid, lengths + len(prefix), -1))
        if prefix:
            head[:, 4:] = np.frombuffer(prefix, dtype=np.uint8)
        return [(head, np.where(valid, head.shape[1], 4)), payload]
    if t in FIXED:
        mat = _fixed(col, arr, valid)
        return [(mat, np.where(valid, mat.shape[1], 4))]
    if t == "numeric":
        return [_numeric(col, arr, valid)]
    raise TypeError(f"{col.name}: no binary COPY for type {t}")


def _valid(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    if pa.types.is_null(arr.type):
        return np.zeros(len(arr), dtype=bool)
    return pc.is_valid(arr).to_numpy(zero_copy_only=False)


def _be4(values: np.ndarray) -> np.ndarray:
    """int32 lengths as big-endian bytes, one row of 4 per value."""
    return np.asarray(values).astype(">i4").view(np.uint8).reshape(-1, 4)


def _rows(run: list[tuple[np.ndarray, np.ndarray]]) -> pa.Array:
    """Byte matrices side by side (one row per record) as one binary array, keeping the first
    ``widths[i]`` bytes of each matrix's row i (a NULL keeps only its -1 length)."""
    mat = np.hstack([m for m, _ in run]) if len(run) > 1 else run[0][0]
    n = mat.shape[0]
    widths = sum(w for _, w in run)
    if (widths == mat.shape[1]).all():
        data = mat.reshape(-1)
    else:
        keep = np.hstack([np.arange(m.shape[1])[None, :] < w[:, None] for m, w in run])
        data = mat[keep]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(np.ascontiguousarray(data))])


def _fixed(col: Column, arr: pa.Array, valid: np.ndarray) -> np.ndarray:
    """Length + big-endian value for the fixed-width types."""
    t = col.type
    n = len(arr)
    if t == "date":
        days = pc.cast(arr, pa.date32()) if not pa.types.is_date32(arr.type) else arr
        vals = days.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) - PG_EPOCH_DAYS
    elif t == "bool":
        vals = pc.cast(arr, pa.bool_()).fill_null(False).to_numpy(zero_copy_only=False)
    elif t.startswith("float"):
        vals = pc.cast(arr, pa.float64()).fill_null(0).to_numpy(zero_copy_only=False)
    else:
        vals = pc.cast(arr, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        bound = INT_RANGE[t]
        if ((vals < -bound) | (vals >= bound)).any():
            raise ValueError(f"{col.name}: value out of range for {t}")
    be = np.asarray(vals).astype(FIXED[t])
    w = be.dtype.itemsize
    mat = np.empty((n, 4 + w), dtype=np.uint8)
    mat[:, :4] = _be4(np.where(valid, w, -1))
    mat[:, 4:] = be.view(np.uint8).reshape(n, w)
    return mat


def _decimals(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each finite float as the shortest decimal that reads back as it, k × 10^-d with d ≤ 15 and
    |k| < 2^52 (where that decimal is the only one of d places that does, so it is the one a text
    COPY of the shortest representation gives); ``done`` is False for the rest."""
    n = len(v)
    k = np.zeros(n, dtype=np.int64)
    d = np.zeros(n, dtype=np.int64)
    todo = np.isfinite(v)
    for dd in range(16):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        p = 10.0 ** dd
        x = np.rint(v[idx] * p)
        for cand in (x, x - 1, x + 1):  # v·10^d may be one unit off in the last place
            ok = (np.abs(cand) < 2.0**52) & (cand / p == v[idx]) & todo[idx]
            hit = idx[ok]
            k[hit], d[hit] = cand[ok].astype(np.int64), dd
            todo[hit] = False
    return k, d, ~todo & np.isfinite(v)


def _numeric(col: Column, arr: pa.Array, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numeric's binary form: ndigits, weight, sign, dscale (int16 each), then base-10000 digits.
    The value is the float's shortest decimal, as in a text COPY; every row of the chunk gets
    the same digit layout, and the server strips the zero digits and applies the column's
    precision and scale as it does for text."""
    n = len(arr)
    v = pc.cast(arr, pa.float64()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.float64)
    v = np.where(valid, v, 0.0)
    if col.typmod >= 4:  # numeric(p, s): the value rounded to s places is all the server keeps
        places = (col.typmod - 4) & 0xFFFF
        x = v * 10.0 ** places
        r = np.rint(x)
        # a value on (or next to) a half can round either way: those go the exact way below
        sure = np.isfinite(x) & (np.abs(r) < 2.0**52) & (np.abs(np.abs(x - np.trunc(x)) - 0.5) > 1e-6)
        k, d, done = np.where(sure, r, 0).astype(np.int64), np.full(n, places), sure.copy()
        if not sure.all():
            k2, d2, done2 = _decimals(np.where(sure, 0.0, v))
            k, d, done = np.where(sure, k, k2), np.where(sure, d, d2), np.where(sure, True, done2)
    else:
        k, d, done = _decimals(v)
    finite = np.isfinite(v)
    odd = np.flatnonzero(finite & ~done)  # beyond 15 places or 2^52: exact, one by one
    exact = {}
    for i in odd:
        dec = Decimal(repr(float(v[i]))).normalize()  # "9007199254740992.0" has no decimals
        places = max(0, -dec.as_tuple().exponent)
        d[i], k[i] = places, 0
        exact[i] = abs(int(dec.scaleb(places)))
    scale = 10 ** np.minimum(d, 18)
    ip, fp = np.abs(k) // scale, np.abs(k) % scale
    n_frac = int(-(-d.max() // 4))
    top = max([int(ip.max())] + [exact[i] // 10 ** int(d[i]) for i in odd])
    n_int = 1
    while 10_000 ** n_int <= top:
        n_int += 1
    nd = n_int + n_frac
    digits = np.zeros((n, nd), dtype=np.int64)
    for j in range(n_int):
        digits[:, j] = (ip // 10_000 ** (n_int - 1 - j)) % 10_000
    for j in range(n_frac):  # places 4j+1 … 4j+4 of the fraction
        hi = 4 * (j + 1)
        up = np.where(4 * j < d, 10 ** np.clip(hi - d, 0, 18), 0)
        digits[:, n_int + j] = np.where(d > hi, fp // 10 ** np.clip(d - hi, 0, 18), fp * up) % 10_000
    for i in odd:
        big = exact[i] * 10 ** (4 * n_frac - int(d[i]))
        for j in range(nd):
            digits[i, nd - 1 - j] = (big // 10_000 ** j) % 10_000
    special = ~finite  # NaN and ±Infinity: a sign word and no digits
    sign = np.select([np.isnan(v), np.isposinf(v), np.isneginf(v), v < 0], [0xC000, 0xD000, 0xF000, 0x4000], 0)
    width = 12 + 2 * nd
    mat = np.zeros((n, width), dtype=np.uint8)
    mat[:, :4] = _be4(np.where(valid, np.where(special, 8, width - 4), -1))
    head = np.stack([np.where(special, 0, nd), np.where(special, 0, n_int - 1), sign,
                     np.where(special, 0, d)], axis=1)
    mat[:, 4:12] = head.astype(">u2").view(np.uint8).reshape(n, 8)
    mat[:, 12:] = digits.astype(">i2").view(np.uint8).reshape(n, 2 * nd)
    return mat, np.where(valid, np.where(special, 12, width), 4)
