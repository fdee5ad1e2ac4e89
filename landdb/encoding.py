"""Decide the text encoding of a vector file, per file (domain.md, "Coordinate reference systems").

Shapefiles from offices are often GBK with no ``.cpg``, and the DBF language-driver byte (offset
29) proves nothing (0x57 and 0x00 are common for GBK). The rule is:

1. a ``.cpg`` beside the DBF decides ("cpg");
2. else, if all text bytes of the DBF (field names and every 'C' field of every record, deleted
   records included) decode as strict UTF-8, it is UTF-8 ("utf8-strict");
3. else GB18030, the superset of GBK and GB2312 ("gb18030-fallback").

A user override always wins ("user"). GeoPackage and GeoJSON are UTF-8 by definition ("format").

DBF field names are cut at 10 bytes and can end in half a character; :func:`decode_field_name`
drops that broken tail. GDAL cuts UTF-8 names the same way, and pyogrio then fails to decode them:
for such files :attr:`EncodingChoice.read_encoding` is ``ISO-8859-1`` (lossless byte-for-byte)
and :func:`recode_latin1` turns each string read that way into the real text.
"""

from __future__ import annotations

import codecs
import os
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from landdb.errors import LanddbError

__all__ = [
    "DbfField",
    "DbfHeader",
    "EncodingChoice",
    "codec_names",
    "decode_field_name",
    "detect_encoding",
    "find_sidecar",
    "read_dbf_header",
    "recode_latin1",
    "utf8_decodes",
]

REASON_CPG = "cpg"
REASON_UTF8 = "utf8-strict"
REASON_GB18030 = "gb18030-fallback"
REASON_USER = "user"
REASON_FORMAT = "format"

#: Bytes read per chunk when scanning records (rounded down to whole records).
CHUNK_BYTES = 8 * 1024 * 1024

# Separator put between text cells when they are decoded together. An ASCII byte is never part
# of a UTF-8 multibyte sequence, so cells joined by it decode iff each cell decodes.
_SEP = 0x0A
_PADDING = b" \x00"

_UTF8_FORMATS = {".gpkg", ".geojson", ".json", ".geojsonl", ".geojsons", ".fgb", ".kml", ".gml"}


@dataclass(frozen=True)
class DbfField:
    """One DBF field descriptor."""

    name: str
    raw_name: bytes
    type: str
    length: int
    decimals: int
    offset: int  # byte offset inside a record (the deletion flag is byte 0)


@dataclass(frozen=True)
class DbfHeader:
    """What the DBF header says, plus the record count the file can really hold."""

    version: int
    record_count: int
    header_length: int
    record_length: int
    language_driver: int
    fields: tuple[DbfField, ...]
    declared_record_count: int

    @property
    def text_fields(self) -> tuple[DbfField, ...]:
        """The character ('C') fields: the only ones whose bytes depend on the encoding."""
        return tuple(f for f in self.fields if f.type == "C")


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding chosen for one file and why."""

    encoding: str  # Python codec name, e.g. "gb18030", "utf-8"
    gdal_encoding: str  # name for pyogrio/GDAL ``encoding=`` (SHAPE_ENCODING), e.g. "GB18030"
    reason: str  # "cpg", "utf8-strict", "gb18030-fallback", "user" or "format"
    field_names: tuple[str, ...] = ()
    detail: str = ""  # Chinese explanation, with English in brackets
    fields: tuple[DbfField, ...] = ()
    warnings: tuple[str, ...] = ()
    cpg_value: Optional[str] = None
    language_driver: Optional[int] = None
    lossy_names: tuple[str, ...] = field(default=())  # names whose cut tail was dropped

    @property
    def read_encoding(self) -> str:
        """The ``encoding=`` to give pyogrio.

        GDAL passes field names cut inside a UTF-8 character through unchanged, and pyogrio
        then raises UnicodeDecodeError; read such files as ISO-8859-1 and fix every string
        with :func:`recode_latin1`. Otherwise this is :attr:`gdal_encoding`.
        """
        if self.needs_recode:
            return "ISO-8859-1"
        return self.gdal_encoding

    @property
    def needs_recode(self) -> bool:
        """True when strings read with :attr:`read_encoding` must go through recode_latin1."""
        return self.encoding == "utf-8" and bool(self.lossy_names) and self.reason != "format"


# --- codec names -----------------------------------------------------------------------------

# .cpg / user spellings → (Python codec, GDAL/iconv name). The GB family is read as GB18030,
# the superset, so that a GB2312 label on GBK text (common) still decodes.
_GB = ("gb18030", "GB18030")
_UTF8 = ("utf-8", "UTF-8")
_CODEC_ALIASES: dict[str, tuple[str, str]] = {
    "gbk": _GB,
    "936": _GB,
    "cp936": _GB,
    "ms936": _GB,
    "windows936": _GB,
    "gb2312": _GB,
    "20936": _GB,
    "euccn": _GB,
    "gb18030": _GB,
    "54936": _GB,
    "utf8": _UTF8,
    "65001": _UTF8,
    "utf8bom": _UTF8,
    "utf8sig": _UTF8,
    "latin1": ("latin-1", "ISO-8859-1"),
    "iso88591": ("latin-1", "ISO-8859-1"),
    "88591": ("latin-1", "ISO-8859-1"),
    "28591": ("latin-1", "ISO-8859-1"),
    "1252": ("cp1252", "CP1252"),
    "cp1252": ("cp1252", "CP1252"),
    "windows1252": ("cp1252", "CP1252"),
    "big5": ("big5", "BIG5"),
    "950": ("cp950", "CP950"),
    "cp950": ("cp950", "CP950"),
    "932": ("cp932", "CP932"),
    "cp932": ("cp932", "CP932"),
    "shiftjis": ("cp932", "CP932"),
    "sjis": ("cp932", "CP932"),
    "949": ("cp949", "CP949"),
    "cp949": ("cp949", "CP949"),
    "437": ("cp437", "CP437"),
    "cp437": ("cp437", "CP437"),
    "866": ("cp866", "CP866"),
    "cp866": ("cp866", "CP866"),
}


def codec_names(label: str) -> tuple[str, str] | None:
    """Map an encoding label (.cpg content, user option) to (Python codec, GDAL name).

    Accepts "GBK", "936", "CP936", "ANSI 936", "GB2312", "GB18030", "UTF-8", "65001",
    "ISO-8859-1", "1252", "88591"…; any other label Python knows is passed through upper-cased.
    Returns None for an empty or unknown label.
    """
    text = label.strip().lstrip("\ufeff").strip()
    if not text:
        return None
    key = re.sub(r"[\s_\-.]", "", text.lower())
    if key.startswith("ansi") and key != "ansi":
        key = key[4:]
    if key in _CODEC_ALIASES:
        return _CODEC_ALIASES[key]
    m = re.fullmatch(r"(?:iso)?8859(\d{1,2})", key)
    if m:
        return (f"iso8859-{m.group(1)}", f"ISO-8859-{m.group(1)}")
    m = re.fullmatch(r"(?:cp|windows)?(125\d)", key)
    if m:
        return (f"cp{m.group(1)}", f"CP{m.group(1)}")
    try:
        info = codecs.lookup(text)
    except LookupError:
        return None
    if info.name in ("gbk", "gb2312", "gb18030"):
        return _GB
    if info.name.startswith("utf-8") or info.name == "utf_8":
        return _UTF8
    return (info.name, info.name.upper())


# --- DBF header ------------------------------------------------------------------------------


def read_dbf_header(path: str | os.PathLike[str], encoding: str = "latin-1") -> DbfHeader:
    """Read a DBF header with struct (field names decoded tolerantly with ``encoding``)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(32)
            if len(head) < 32:
                raise LanddbError(f"DBF 文件过短，不是有效的 DBF：{p} [not a DBF file]")
            version = head[0]
            n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
            ldid = head[29]
            if header_len < 33 or record_len < 1:
                raise LanddbError(f"DBF 文件头损坏：{p} [corrupt DBF header]")
            rest = fh.read(header_len - 32)
    except OSError as exc:
        raise LanddbError(f"无法读取 DBF 文件 {p}：{exc} [cannot read DBF]") from exc

    fields: list[DbfField] = []
    offset = 1
    pos = 0
    while pos + 32 <= len(rest) and rest[pos] != 0x0D:
        desc = rest[pos : pos + 32]
        raw = desc[:11].split(b"\x00", 1)[0]
        ftype = chr(desc[11])
        flen = desc[16]
        dec = desc[17]
        if ftype == "C":
            # Clipper/FoxPro store character lengths > 255 in the decimal byte.
            flen = desc[16] | (desc[17] << 8)
            dec = 0
        fields.append(
            DbfField(
                name=decode_field_name(raw, encoding),
                raw_name=raw,
                type=ftype,
                length=flen,
                decimals=dec,
                offset=offset,
            )
        )
        offset += flen
        pos += 32
    if not fields:
        raise LanddbError(f"DBF 文件没有字段定义：{p} [DBF has no fields]")
    if offset > record_len:
        raise LanddbError(
            f"DBF 字段总长 {offset} 超过记录长度 {record_len}：{p} "
            "[field lengths exceed record length]"
        )
    available = max(0, (size - header_len) // record_len)
    return DbfHeader(
        version=version,
        record_count=min(n_records, available),
        header_length=header_len,
        record_length=record_len,
        language_driver=ldid,
        fields=tuple(fields),
        declared_record_count=n_records,
    )


def decode_field_name(raw: bytes, encoding: str) -> str:
    """Decode raw DBF field-name bytes, dropping a multibyte character cut at the 10-byte limit.

    GBK names of 5 Chinese characters fill the 10 bytes exactly; a name mixing ASCII and Chinese
    (or a UTF-8 name: 3 characters and a stray byte) ends in half a character, which is dropped.
    """
    data = raw.split(b"\x00", 1)[0].rstrip(b" ")
    for cut in range(0, min(4, len(data)) + 1):
        try:
            return data[: len(data) - cut].decode(encoding).strip()
        except UnicodeDecodeError:
            continue
        except LookupError as exc:
            raise LanddbError(f"未知编码 '{encoding}' [unknown encoding]") from exc
    return data.decode(encoding, errors="replace").strip()


def _name_is_cut(raw: bytes, encoding: str) -> bool:
    data = raw.split(b"\x00", 1)[0].rstrip(b" ")
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return True
    return False


# --- UTF-8 test ------------------------------------------------------------------------------

_UTF8_LEAD_NEED = {**{b: 1 for b in range(0xC2, 0xE0)}, **{b: 2 for b in range(0xE0, 0xF0)},
                   **{b: 3 for b in range(0xF0, 0xF5)}}


def _is_cut_tail(obj: bytes, start: int, end: int) -> bool:
    """True when obj[start:end] is a truncated UTF-8 sequence followed only by padding."""
    bad = obj[start:end]
    need = _UTF8_LEAD_NEED.get(bad[0])
    if need is None or len(bad) > need or any(b & 0xC0 != 0x80 for b in bad[1:]):
        return False
    sep = obj.find(bytes([_SEP]), end)
    tail = obj[end:] if sep < 0 else obj[end:sep]
    return tail.strip(_PADDING) == b""


def _utf8_cell_tail_handler(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError) and _is_cut_tail(exc.object, exc.start, exc.end):
        return ("", exc.end)
    raise exc


codecs.register_error("landdb_utf8_cut_tail", _utf8_cell_tail_handler)


def utf8_decodes(data: bytes) -> bool:
    """Strict UTF-8 test of newline-separated cells; a cell may end in a cut character."""
    try:
        data.decode("utf-8", errors="landdb_utf8_cut_tail")
    except UnicodeDecodeError:
        return False
    return True


def _text_chunks(path: Path, header: DbfHeader) -> Iterator[bytes]:
    """Yield the bytes of all 'C' fields, record by record, cells separated by newlines.

    Reads ``CHUNK_BYTES`` at a time, aligned to record boundaries; only non-ASCII chunks are
    yielded (pure ASCII decodes under every candidate encoding).
    """
    text_fields = header.text_fields
    if not text_fields or header.record_count == 0:
        return
    cols = np.concatenate(
        [np.arange(f.offset, f.offset + f.length, dtype=np.intp) for f in text_fields]
    )
    # Positions after which a separator goes: the end of each cell.
    ends = np.cumsum([f.length for f in text_fields])
    per_chunk = max(1, CHUNK_BYTES // header.record_length)
    remaining = header.record_count
    with open(path, "rb") as fh:
        fh.seek(header.header_length)
        while remaining > 0:
            n = min(per_chunk, remaining)
            buf = fh.read(n * header.record_length)
            n = len(buf) // header.record_length
            if n == 0:
                break
            remaining -= n
            arr = np.frombuffer(buf, dtype=np.uint8, count=n * header.record_length)
            cells = arr.reshape(n, header.record_length)[:, cols]
            if not (cells >= 0x80).any():
                continue
            joined = np.insert(cells, ends, _SEP, axis=1)
            yield joined.tobytes()


# --- entry point -----------------------------------------------------------------------------


def find_sidecar(path: str | os.PathLike[str], ext: str) -> Path | None:
    """The file beside ``path`` with extension ``ext`` (".dbf", ".cpg"…), any letter case."""
    p = Path(path)
    exact = p.with_suffix(ext)
    if exact.exists():
        return exact
    want = (p.stem + ext).lower()
    try:
        for cand in p.parent.iterdir():
            if cand.name.lower() == want:
                return cand
    except OSError:
        return None
    return None


def _read_cpg(path: Path) -> str:
    try:
        raw = path.read_bytes()[:200]
    except OSError:
        return ""
    return raw.decode("latin-1").strip().strip("\ufeff\xef\xbb\xbf").strip()


def _format_choice(path: Path, override: str | None) -> EncodingChoice:
    names: tuple[str, ...] = ()
    try:
        import pyogrio

        info = pyogrio.read_info(str(path))
        names = tuple(str(n) for n in info["fields"])
    except Exception:  # the importer reports unreadable files itself
        names = ()
    warnings: tuple[str, ...] = ()
    if override and codec_names(override) != _UTF8:
        warnings = (
            f"{path.suffix} 文件总是 UTF-8，忽略指定编码 '{override}' "
            f"[{path.suffix} is always UTF-8; override ignored]",
        )
    return EncodingChoice(
        encoding="utf-8",
        gdal_encoding="UTF-8",
        reason=REASON_FORMAT,
        field_names=names,
        detail=f"{path.suffix} 格式规定为 UTF-8 [format is UTF-8 by definition]",
        warnings=warnings,
    )


def detect_encoding(
    path: str | os.PathLike[str], override: str | None = None
) -> EncodingChoice:
    """Decide the encoding of a shapefile's DBF (or a .dbf), or say UTF-8 for GPKG/GeoJSON.

    ``override`` (a label such as "GBK" or "UTF-8") wins over everything else.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _UTF8_FORMATS:
        return _format_choice(p, override)
    if suffix not in (".shp", ".dbf", ".shx", ".prj", ".cpg", ""):
        raise LanddbError(
            f"不支持判断编码的文件类型：{p.name} [unsupported file type for encoding detection]"
        )
    dbf = p if suffix == ".dbf" else find_sidecar(p, ".dbf")
    if dbf is None:
        raise LanddbError(f"找不到 {p.name} 的属性表 .dbf 文件 [missing .dbf]")
    raw_header = read_dbf_header(dbf)
    ldid = raw_header.language_driver

    def finish(codec: tuple[str, str], reason: str, detail: str,
               warnings: Sequence[str] = (), cpg_value: str | None = None) -> EncodingChoice:
        py, gdal = codec
        fields = tuple(
            DbfField(decode_field_name(f.raw_name, py), f.raw_name, f.type, f.length,
                     f.decimals, f.offset)
            for f in raw_header.fields
        )
        lossy = tuple(f.name for f in fields if _name_is_cut(f.raw_name, py))
        return EncodingChoice(
            encoding=py,
            gdal_encoding=gdal,
            reason=reason,
            field_names=tuple(f.name for f in fields),
            detail=detail,
            fields=fields,
            warnings=tuple(warnings),
            cpg_value=cpg_value,
            language_driver=ldid,
            lossy_names=lossy,
        )

    if override:
        codec = codec_names(override)
        if codec is None:
            raise LanddbError(f"无法识别指定的编码 '{override}' [unknown encoding]")
        return finish(codec, REASON_USER, f"按用户指定的编码 {codec[1]} 读取 [user override]")

    warnings: list[str] = []
    cpg = find_sidecar(dbf, ".cpg")
    if cpg is not None:
        label = _read_cpg(cpg)
        codec = codec_names(label)
        if codec is not None:
            if codec == _UTF8 and not _all_text_utf8(dbf, raw_header):
                warnings.append(
                    ".cpg 声明 UTF-8，但文本不是有效的 UTF-8，可能出现乱码；"
                    "可用编码选项指定 GBK [.cpg says UTF-8 but the text is not valid UTF-8]"
                )
            return finish(codec, REASON_CPG, f"按 .cpg 文件声明的 '{label}' 读取 [from .cpg]",
                          warnings, cpg_value=label)
        warnings.append(
            f"无法识别 .cpg 内容 '{label}'，改为自动判断 [unrecognised .cpg, detecting instead]"
        )

    if _all_text_utf8(dbf, raw_header):
        return finish(_UTF8, REASON_UTF8,
                      "全部文本均为有效 UTF-8，按 UTF-8 读取 [all text is valid UTF-8]", warnings)
    return finish(
        _GB,
        REASON_GB18030,
        f"无 .cpg 且文本不是有效 UTF-8，按 GB18030（GBK 的超集）读取；"
        f"语言驱动字节 0x{ldid:02X} 不作依据 [not UTF-8: read as GB18030]",
        warnings,
    )


def _all_text_utf8(dbf: Path, header: DbfHeader) -> bool:
    names = bytes([_SEP]).join(f.raw_name for f in header.fields)
    if not utf8_decodes(names):
        return False
    return all(utf8_decodes(chunk) for chunk in _text_chunks(dbf, header))


def recode_latin1(value: object, encoding: str) -> object:
    """Turn a string read with encoding="ISO-8859-1" back into real text (other values as-is).

    Latin-1 maps every byte to one character, so ``value.encode("latin-1")`` gives the file's
    bytes back; a cut character at the end is dropped.
    """
    if not isinstance(value, str):
        return value
    raw = value.encode("latin-1")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:  # a character cut at the field width
        return decode_field_name(raw, encoding)
