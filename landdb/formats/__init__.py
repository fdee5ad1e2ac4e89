"""Readers and writers of the file formats that land offices exchange (部标 TXT, …)."""

from __future__ import annotations

from .bubiao import (
    BubiaoError,
    BubiaoFile,
    BubiaoParcel,
    detect_encoding,
    dumps_bubiao,
    parse_bubiao,
    read_bubiao,
    write_bubiao,
)

__all__ = [
    "BubiaoError",
    "BubiaoFile",
    "BubiaoParcel",
    "detect_encoding",
    "dumps_bubiao",
    "parse_bubiao",
    "read_bubiao",
    "write_bubiao",
]
