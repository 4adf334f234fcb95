"""Generated files for every class of issue #16: AVIF, HEIC, TIFF codecs, depths, orientations,
grey profiles; small (under 100 KB each), written by the tests, never stored."""

from __future__ import annotations

import io

import numpy as np
import pillow_heif
import tifffile
from PIL import Image

from tests.unit.icc_builder import build_profile, gamma_tag
from tests.unit.images import gradient_rgb

ORIENTATION = 0x0112
GREY_GAMMA_18 = build_profile(b"GRAY", "Grey gamma 1.8", [(b"kTRC", gamma_tag(1.8))])


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def avif(pixels: np.ndarray | None = None, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(64, 40) if pixels is None else pixels).save(
        buffer, "AVIF", **options
    )
    return buffer.getvalue()


def animated_avif() -> bytes:
    frames = [Image.fromarray(gradient_rgb(64, 40, seed=s)) for s in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "AVIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def animated(fmt: str) -> bytes:
    frames = [Image.fromarray(gradient_rgb(64, 40, seed=s)) for s in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], lossless=True)
    return buffer.getvalue()


def heic(
    pixels: np.ndarray | None = None,
    *,
    orientation: int | None = None,
    icc: bytes | None = None,
    ten_bit: bool = False,
) -> bytes:
    """A HEIC as a phone writes it: pillow-heif turns EXIF orientation into HEIF's irot/imir
    (the pixels are stored raw, libheif turns them on decode) and keeps the EXIF tag."""
    pixels = gradient_rgb(64, 40) if pixels is None else pixels
    if ten_bit:
        words = pixels.astype(np.uint16) * 257
        heif = pillow_heif.from_bytes(
            mode="RGB;16", size=(pixels.shape[1], pixels.shape[0]), data=words.tobytes()
        )
    else:
        heif = pillow_heif.from_pillow(Image.fromarray(pixels))
    options: dict[str, object] = {"quality": -1}
    if orientation is not None:
        options["exif"] = exif_with_orientation(orientation)
    if icc is not None:
        options["icc_profile"] = icc
    buffer = io.BytesIO()
    heif.save(buffer, format="HEIF", **options)
    return buffer.getvalue()


def tiff(
    pixels: np.ndarray,
    *,
    compression: str | None = None,
    pages: int = 1,
    orientation: int | None = None,
    icc: bytes | None = None,
    photometric: str = "rgb",
) -> bytes:
    extratags: list[tuple[int, int, int | None, object, bool]] = []
    if orientation is not None:
        extratags.append((274, 3, 1, orientation, False))
    if icc is not None:
        extratags.append((34675, 7, None, icc, False))
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for _ in range(pages):
            writer.write(
                pixels, compression=compression, photometric=photometric, extratags=extratags
            )
    return buffer.getvalue()


def one_bit_tiff() -> bytes:
    ink = (np.indices((40, 64)).sum(axis=0) % 7 == 0).astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(ink).convert("1").save(buffer, "TIFF", compression="group4")
    return buffer.getvalue()


def sixteen_bit_png(channels: int = 3) -> bytes:
    """A 16-bit RGB PNG, written by hand: Pillow writes no 16-bit RGB."""
    import struct
    import zlib

    words = gradient_rgb(64, 40).astype(np.uint16) * 257
    if channels == 1:
        words = words[..., 0]
    rows = words.astype(">u2").reshape(40, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    colour = 2 if channels == 3 else 0

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 64, 40, 16, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def grey_with_alpha(fmt: str, icc: bytes | None = GREY_GAMMA_18) -> bytes:
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (20, 1))
    image = Image.fromarray(np.dstack([ramp, np.full_like(ramp, 255)]), "LA")
    buffer = io.BytesIO()
    image.save(buffer, fmt, icc_profile=icc)
    return buffer.getvalue()
