"""Screenshots of the map for the tests and the docs: decode a PNG's pixels, count its
colours, and write a small 8-bit palette copy for the README and docs/."""
from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path


def decode_rgb(png: bytes):
    """(3, height, width) uint8 pixels of a PNG (GDAL's PNG driver through rasterio)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile(io.BytesIO(png)) as mem, mem.open() as src:
            if src.count >= 3:
                return src.read((1, 2, 3))
            import numpy as np  # a palette PNG: expand its colour map
            lut = np.zeros((256, 3), np.uint8)
            for i, colour in src.colormap(1).items():
                lut[i] = colour[:3]
            return lut[src.read(1)].transpose(2, 0, 1)


def distinct_colours(png: bytes) -> tuple[int, float]:
    """(number of distinct colours, share of pixels that differ from the most common)."""
    import numpy as np
    rgb = decode_rgb(png)
    packed = (rgb[0].astype(np.uint32) << 16) | (rgb[1].astype(np.uint32) << 8) | rgb[2]
    values, counts = np.unique(packed, return_counts=True)
    return len(values), 1.0 - counts.max() / packed.size


def write_palette_png(png: bytes, path: Path, colours: int = 256) -> None:
    """The screenshot as an 8-bit palette PNG (the README's copy stays small): the most
    common colours at 5 bits per channel, every pixel mapped to the nearest of them."""
    import numpy as np
    rgb = decode_rgb(png).transpose(1, 2, 0).astype(np.int32)
    height, width, _ = rgb.shape
    coarse = (rgb >> 3).reshape(-1, 3)
    keys = (coarse[:, 0] << 10) | (coarse[:, 1] << 5) | coarse[:, 2]
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    centres = np.stack([(uniq >> 10) & 31, (uniq >> 5) & 31, uniq & 31], axis=1) * 8 + 4
    palette = centres[np.argsort(counts)[::-1][:colours]]
    nearest = ((centres[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    index = nearest[inverse.ravel()].astype(np.uint8).reshape(height, width)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), index], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
                     + chunk(b"PLTE", palette.clip(0, 255).astype(np.uint8).tobytes())
                     + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
