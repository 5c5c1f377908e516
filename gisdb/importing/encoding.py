"""Which text encoding a Shapefile's DBF or a CSV really uses.

Vietnamese files arrive as UTF-8 or as Windows-1258, and `.cpg` files lie. We look at
the bytes: text that decodes as UTF-8 is UTF-8 whatever the `.cpg` says; text that does
not is a legacy code page (the one staff named with `--encoding`, else the `.cpg`'s, else
Windows-1258), and we say so. GDAL recodes CP1258 through iconv, which drops the last
letter of a field (iconv holds back a base letter waiting for a combining accent), so
legacy text is read byte-for-byte as Latin-1 and decoded here, then NFC-normalised
(Windows-1258 spells "ườ" with combining accents)."""
from __future__ import annotations

import codecs
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidParameter

SAMPLE_BYTES = 8 * 1024 * 1024
DEFAULT_LEGACY = "cp1258"


@dataclass(frozen=True)
class EncodingChoice:
    """`name` is the file's real encoding; `gdal` what GDAL is told to read it as;
    `codec` the Python codec that turns GDAL's Latin-1 strings into real text (None
    when GDAL's strings are already right)."""

    name: str
    gdal: str | None = None
    codec: str | None = None
    declared: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def normalise_codec(name: str | None) -> str | None:
    """'UTF-8', '65001', '1258', 'CP1258', 'ANSI 1258', '88591' -> a Python codec name."""
    if not name:
        return None
    text = name.strip().upper().replace("ANSI", "").replace("WINDOWS-", "CP").strip(" _-")
    if text in ("65001", "UTF8", "UTF-8"):
        return "utf-8"
    if text.startswith("8859") and text[4:].isdigit():
        text = "ISO-8859-" + text[4:]
    elif text.isdigit():
        text = "CP" + text
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise InvalidParameter(f"unknown text encoding {name!r}") from None


def _utf8_verdict(records: list[bytes]) -> bool | None:
    """True if the non-ASCII records are UTF-8, False if not, None if all ASCII."""
    non_ascii = [r for r in records if not r.isascii()]
    if not non_ascii:
        return None
    good = 0
    for rec in non_ascii:
        try:
            rec.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            pass
    return good >= 0.9 * len(non_ascii)


def _dbf_records(dbf: Path) -> list[bytes]:
    with dbf.open("rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            return []
        count, header_len, record_len = struct.unpack("<IHH", header[4:12])
        if record_len <= 0:
            return []
        fh.seek(header_len)
        data = fh.read(min(SAMPLE_BYTES, count * record_len))
    return [data[i:i + record_len] for i in range(0, len(data) - record_len + 1, record_len)]


def _choose(verdict: bool | None, declared: str | None, requested: str | None,
            what: str) -> EncodingChoice:
    warnings = []
    if verdict is None:
        return EncodingChoice("ascii", gdal="UTF-8", declared=declared)
    if verdict:
        if requested and requested != "utf-8":
            warnings.append(f"--encoding {requested} ignored: the {what} text is valid UTF-8")
        elif declared and declared != "utf-8":
            warnings.append(f"the .cpg says {declared} but the {what} text is UTF-8: read as UTF-8")
        return EncodingChoice("utf-8", gdal="UTF-8", declared=declared, warnings=tuple(warnings))
    legacy = requested if requested and requested != "utf-8" else None
    if requested == "utf-8":
        warnings.append(f"--encoding utf-8 ignored: the {what} text is not valid UTF-8")
    if legacy is None and declared and declared != "utf-8":
        legacy = declared
    if legacy is None:
        legacy = DEFAULT_LEGACY
        said = f"the .cpg says {declared}" if declared else "no encoding is declared"
        warnings.append(f"{said} but the {what} text is not UTF-8: read as {legacy} (Vietnamese Windows);"
                        " pass --encoding to choose another")
    return EncodingChoice(legacy, gdal="ISO-8859-1", codec=legacy, declared=declared,
                          warnings=tuple(warnings))


def detect_dbf(shp: Path, requested: str | None = None) -> EncodingChoice:
    """Encoding of the DBF beside `shp`, from its bytes, the `.cpg` and `--encoding`."""
    requested = normalise_codec(requested)
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = shp.with_suffix(".CPG")
    declared = None
    if cpg.exists():
        try:
            declared = normalise_codec(cpg.read_text(encoding="ascii", errors="ignore").strip())
        except InvalidParameter:
            declared = None
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    verdict = _utf8_verdict(_dbf_records(dbf)) if dbf else None
    return _choose(verdict, declared, requested, "DBF")


def detect_text_file(path: Path, requested: str | None = None) -> EncodingChoice:
    """Encoding of a CSV (a UTF-8 byte-order mark is UTF-8)."""
    requested = normalise_codec(requested)
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        sample = sample[3:]
    lines = sample.split(b"\n")
    if len(sample) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]           # the last line may be cut in the middle of a letter
    return _choose(_utf8_verdict(lines), None, requested, "CSV")


def transcode_to_utf8(src: Path, dest: Path, codec: str) -> Path:
    """Write a UTF-8 (NFC) copy of a legacy-encoded text file, streaming."""
    decoder = codecs.getincrementaldecoder(codec)()
    with src.open("rb") as fin, dest.open("w", encoding="utf-8", newline="") as fout:
        while True:
            block = fin.read(1 << 20)
            text = decoder.decode(block, final=not block)
            fout.write(unicodedata.normalize("NFC", text))
            if not block:
                break
    return dest


def redecode(values: list, codec: str) -> list:
    """Strings GDAL read as Latin-1 -> the real text in `codec`, NFC-normalised."""
    out = []
    for value in values:
        if isinstance(value, str) and not value.isascii():
            value = unicodedata.normalize("NFC", value.encode("latin-1").decode(codec, errors="replace"))
        out.append(value)
    return out
