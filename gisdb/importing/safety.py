r"""Refusing dangerous input before GDAL ever sees it.

A file handed to `gisdb import` (or `gisdb export`'s inputs, or `gisdb raster add`) is
checked here first: it must be a regular local file (no symlink, no device, no network
or GDAL virtual path such as `/vsicurl/` or `\\server\share`), of a format we open on
purpose (no VRT, which can point GDAL anywhere), whose content is what its name says
(magic bytes here, text formats in `content`), and not larger than the limit. A zip is
inspected entry by entry before anything is written: `..` or absolute names, symlinks,
too many entries, a total or a compression ratio typical of a zip bomb are refused, and
extraction stops if an entry inflates past the size it declared; a damaged archive (an
entry whose header lies about its size or checksum) is a clear error, not a traceback.
"""
from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ImportFailed, UnsafeInput
from ..settings import Settings
from .content import check_text_dataset

# Extensions of the formats we import. Everything else is refused before opening.
VECTOR_EXTENSIONS = (".shp", ".zip", ".geojson", ".json", ".gpkg", ".fgb", ".csv")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml")
# Magic bytes per extension: a file must be what its name says.
_MAGIC = {
    ".zip": (b"PK\x03\x04", b"PK\x05\x06"),
    ".gpkg": (b"SQLite format 3\x00",),
    ".fgb": (b"fgb\x03",),
    ".shp": (b"\x00\x00\x27\x0a",),
    ".tif": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ".tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
}
# GDAL virtual paths, UNC shares, URLs, and "DRIVER:..." connection strings (PG:, GeoJSON:,
# CSV:...); a Windows drive letter (C:/, C:\\) is a local path.
_NETWORK = re.compile(r"^(/vsi|\\\\|//|[a-z][a-z0-9+.-]*://)|^(?![a-z]:[\\/])[a-z][a-z0-9 _+.-]*:",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """Size limits for imported files and zip archives (overridable through
    `Settings.extra`: import_max_bytes, zip_max_total_bytes, zip_max_ratio, zip_max_entries)."""

    max_bytes: int = 4 * 1024 ** 3
    zip_max_total_bytes: int = 8 * 1024 ** 3
    zip_max_ratio: float = 200.0
    zip_max_entries: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings | None) -> "Limits":
        extra = settings.extra if settings is not None else {}
        return cls(max_bytes=int(extra.get("import_max_bytes", cls.max_bytes)),
                   zip_max_total_bytes=int(extra.get("zip_max_total_bytes", cls.zip_max_total_bytes)),
                   zip_max_ratio=float(extra.get("zip_max_ratio", cls.zip_max_ratio)),
                   zip_max_entries=int(extra.get("zip_max_entries", cls.zip_max_entries)))


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def safe_open_path(path: str | Path, settings: Settings | None = None,
                   extensions: tuple[str, ...] = VECTOR_EXTENSIONS) -> Path:
    """The resolved local path of a file that is safe to hand to GDAL, or UnsafeInput.

    Checks: not a network/virtual path, not a symlink, a regular file, an allowed
    extension whose content matches (magic bytes, or `content` for text formats), and
    within the size limit."""
    text = str(path)
    if _NETWORK.match(text) or "\x00" in text:
        raise UnsafeInput(f"{text!r} is not a local file path (network and GDAL virtual paths are refused)")
    candidate = Path(text)
    if candidate.is_symlink():
        raise UnsafeInput(f"{candidate.name}: symbolic links are refused; pass the real file")
    if not candidate.exists():
        raise UnsafeInput(f"{text}: no such file")
    mode = candidate.stat().st_mode
    if not stat.S_ISREG(mode):
        raise UnsafeInput(f"{candidate.name}: not a regular file")
    if _suffix(candidate) not in extensions:
        raise UnsafeInput(f"{candidate.name}: format not accepted (accepted: {', '.join(extensions)})")
    limits = Limits.from_settings(settings)
    size = candidate.stat().st_size
    if size > limits.max_bytes:
        raise UnsafeInput(f"{candidate.name}: {size} bytes is over the limit of {limits.max_bytes}")
    _check_magic(candidate)
    check_text_dataset(candidate)
    if _suffix(candidate) == ".shp":
        _check_shapefile_parts(candidate)
    resolved = candidate.resolve()
    if _NETWORK.match(str(resolved)):
        raise UnsafeInput(f"{text!r} is not a local file path (network and GDAL virtual paths are refused)")
    return resolved


def _check_magic(path: Path) -> None:
    expected = _MAGIC.get(_suffix(path))
    with path.open("rb") as fh:
        head = fh.read(64)
    if expected is not None and not any(head.startswith(m) for m in expected):
        raise UnsafeInput(f"{path.name}: the content is not a {_suffix(path)} file")


def _check_shapefile_parts(shp: Path) -> None:
    """The .dbf/.shx/.prj/.cpg beside a .shp are read by GDAL too: none may be a symlink."""
    for sibling in shp.parent.glob(shp.stem + ".*"):
        if sibling.is_symlink():
            raise UnsafeInput(f"{sibling.name}: symbolic links are refused")


def _entry_name(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeInput(f"zip entry {info.filename!r} has an absolute path")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise UnsafeInput(f"zip entry {info.filename!r} points outside the archive (..)")
    return PurePosixPath(*[p for p in parts if p not in ("", ".")]) if parts else PurePosixPath(".")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def inspect_zip(path: Path, limits: Limits) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every entry of the archive with its safe relative name; UnsafeInput on the first
    entry that could escape the target folder or on bomb-like sizes. Nothing is written."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnsafeInput(f"{path.name}: not a readable zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
    if len(infos) > limits.zip_max_entries:
        raise UnsafeInput(f"{path.name}: {len(infos)} entries is over the limit of {limits.zip_max_entries}")
    total = 0
    entries = []
    for info in infos:
        name = _entry_name(info)
        if _is_symlink(info):
            raise UnsafeInput(f"zip entry {info.filename!r} is a symbolic link")
        total += info.file_size
        if info.file_size > limits.max_bytes:
            raise UnsafeInput(f"zip entry {info.filename!r} is over the size limit")
        if info.file_size > 1_000_000 and info.file_size > limits.zip_max_ratio * max(info.compress_size, 1):
            raise UnsafeInput(f"zip entry {info.filename!r} inflates {info.file_size / max(info.compress_size, 1):.0f}"
                              " times: refused as a possible zip bomb")
        entries.append((info, name))
    if total > limits.zip_max_total_bytes:
        raise UnsafeInput(f"{path.name}: {total} bytes uncompressed is over the limit of "
                          f"{limits.zip_max_total_bytes}: refused as a possible zip bomb")
    return entries


def extract_zip_safely(path: str | Path, dest: str | Path, settings: Settings | None = None) -> list[Path]:
    """Check the file (`safe_open_path`), then extract it (`extract_checked_zip`)."""
    archive_path = safe_open_path(path, settings, extensions=(".zip",))
    return extract_checked_zip(archive_path, dest, settings)


def extract_checked_zip(archive_path: Path, dest: str | Path, settings: Settings | None = None) -> list[Path]:
    """Check every entry of an archive `safe_open_path` passed (see `inspect_zip`), then
    extract it into `dest`, never writing more bytes per entry than it declared. Returns
    the extracted files; a damaged archive is an ImportFailed naming the entry."""
    entries = inspect_zip(archive_path, Limits.from_settings(settings))
    dest_dir = Path(dest).resolve()
    dest_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(archive_path) as archive:
        for info, name in entries:
            target = (dest_dir / name).resolve()
            if dest_dir not in target.parents and target != dest_dir:
                raise UnsafeInput(f"zip entry {info.filename!r} points outside the archive")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                _copy_bounded(archive, info, target)
            except _DAMAGED as exc:
                raise ImportFailed(f"{archive_path.name}: zip entry {info.filename!r} is damaged "
                                   f"({exc}): refused") from None
            written.append(target)
    return written


# What zipfile and zlib raise on an entry whose header lies (size, CRC, method, encryption).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _copy_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    remaining = info.file_size
    with archive.open(info) as src, target.open("wb") as out:
        while True:
            block = src.read(1 << 20)
            if not block:
                break
            remaining -= len(block)
            if remaining < 0:
                raise UnsafeInput(f"zip entry {info.filename!r} inflates past its declared size")
            out.write(block)
