"""Printing tables for people (aligned text) and for programs (JSON, CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

FORMATS = ("table", "json", "csv")


def _json_default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return float(o)
    if hasattr(o, "__fspath__"):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=_json_default, indent=2)


def _width(s: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=_json_default)
    return str(v)


def print_rows(rows: Sequence[dict], fmt: str = "table", out: TextIO | None = None,
               columns: Sequence[str] | None = None) -> None:
    """Print a list of records as an aligned table, JSON array or CSV."""
    out = out or sys.stdout
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        out.write(to_json([{c: r.get(c) for c in cols} for r in rows]) + "\n")
        return
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
        return
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(cols)]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(vals, widths)).rstrip()

    out.write(line(cols) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")


def print_mapping(data: dict, fmt: str = "table", labels: dict | None = None,
                  out: TextIO | None = None) -> None:
    """Print one record: 'label: value' lines for people, an object for programs."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(to_json(data) + "\n")
        return
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(["key", "value"])
        for k, v in data.items():
            w.writerow([k, _cell(v)])
        return
    labels = labels or {}
    names = {k: labels.get(k, k) for k in data}
    width = max((_width(n) for n in names.values()), default=0)
    for k, v in data.items():
        n = names[k]
        out.write(f"{n}{' ' * (width - _width(n))}  {_cell(v)}\n")
