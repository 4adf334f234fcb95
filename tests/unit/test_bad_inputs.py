"""The generated bad-input suite: every file is written by the test, then decoded as a worker would.

`CASES` is shared with tests/integration/test_bad_inputs_worker.py, which sends the same files
through a real worker in one batch.
"""

from __future__ import annotations

import io
import struct
import subprocess
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import tifffile
from PIL import Image

from config.profile import load_profile
from config.settings import DEFAULT_PROFILE
from pipeline.core.imaging import decode_scan, to_display_image
from pipeline.core.scan import prepare_scan
from pipeline.errors import PermanentError
from tests.unit.images import gradient_rgb
from tests.unit.metadata_writer import exif_block, iptc_segment, with_segments, xmp_segment

LIMIT = 300_000_000

# The remedy each code's message must give (a phrase an archivist can act on).
REMEDY = {
    "EMPTY_FILE": "copy it again",
    "NOT_AN_IMAGE": "check that the right file was copied",
    "UNSUPPORTED_FORMAT": "Sohoa does not accept",
    "TRUNCATED": "copy it again",
    "CORRUPT": "again",
    "PIXEL_LIMIT": "limits.max_pixels",
}


@dataclass(frozen=True)
class Case:
    """One generated file, and what must become of it."""

    id: str
    name: str
    make: Callable[[], bytes]
    codes: tuple[str, ...] = ()  # the permanent codes allowed; empty: the file is accepted
    warning: str | None = None  # accepted with a warning containing this text
    remedy: str | None = None  # a more specific remedy than REMEDY[code]
    format: str | None = None  # accepted, with this format read from the bytes


# --- writers ---------------------------------------------------------------------------------


def _encode(array: np.ndarray, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg() -> bytes:
    return _encode(gradient_rgb(400, 300, seed=1), "JPEG", quality=90)


def png() -> bytes:
    return _encode(gradient_rgb(400, 300, seed=2), "PNG")


def tiff(**options: object) -> bytes:
    return _encode(gradient_rgb(400, 300, seed=3), "TIFF", **options)


def tiled_tiff() -> bytes:
    """Uncompressed 64 px tiles (tifffile's layout): Pillow decodes it cut short without a word."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, gradient_rgb(400, 300, seed=3), photometric="rgb", tile=(64, 64))
    return buffer.getvalue()


def cut(make: Callable[[], bytes], fraction: float) -> Callable[[], bytes]:
    return lambda: make()[: int(len(make()) * fraction)]


def chunk(kind: bytes, body: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + body))
    return struct.pack(">I", len(body)) + kind + body + crc


def png_with_chunks(*extra: bytes, size: tuple[int, int] = (64, 48)) -> bytes:
    """A valid small PNG with `extra` chunks placed before its image data."""
    data = _encode(gradient_rgb(*size, seed=5), "PNG")
    idat = data.index(b"IDAT") - 4
    return data[:idat] + b"".join(extra) + data[idat:]


def png_crc_broken() -> bytes:
    data = bytearray(png())
    data[data.index(b"IDAT") + 20] ^= 0xFF
    return bytes(data)


def png_huge() -> bytes:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def jpeg_huge() -> bytes:
    """A small JPEG whose frame header claims 65,000 × 65,000 pixels."""
    data = bytearray(_encode(gradient_rgb(64, 48), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 65_000, 65_000)
    return bytes(data)


def tiff_huge() -> bytes:
    """A TIFF of a few hundred bytes declaring 100,000 × 100,000 grey pixels."""
    entries = [
        (256, 4, 1, 100_000),  # width
        (257, 4, 1, 100_000),  # height
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),  # one strip at byte 8 (the IFD itself: garbage pixels)
        (277, 3, 1, 1),
        (278, 4, 1, 100_000),
        (279, 4, 1, 64),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + b"\0" * 64


def text_bomb(kind: bytes) -> Callable[[], bytes]:
    """A PNG text chunk of 200 KB that inflates to 200 MB."""

    def make() -> bytes:
        squeeze = zlib.compressobj(9)
        block = b"A" * (1 << 20)
        body = b"".join(squeeze.compress(block) for _ in range(200)) + squeeze.flush()
        if kind == b"zTXt":
            payload = b"Comment\0\0" + body
        else:  # iTXt: keyword, compression flag and method, language, translated keyword
            payload = b"XML:com.adobe.xmp\0\x01\0\0\0" + body
        return png_with_chunks(chunk(kind, payload))

    return make


def tiff_pages(second: Callable[[bytes, int, int], bytes] | None = None) -> bytes:
    """Two deflate-compressed pages; `second` may damage the second page's strip."""
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tif:
        tif.write(gradient_rgb(320, 240, seed=6), photometric="rgb", compression="zlib")
        tif.write(gradient_rgb(320, 240, seed=7), photometric="rgb", compression="zlib")
    data = buffer.getvalue()
    if second is None:
        return data
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[1]
        offset, count = page.dataoffsets[0], page.databytecounts[0]
    return second(data, offset, count)


def garble(data: bytes, offset: int, count: int) -> bytes:
    noise = np.random.default_rng(8).integers(0, 256, count, dtype=np.uint8).tobytes()
    return data[:offset] + noise + data[offset + count :]


def eps() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        b"/Helvetica findfont 12 scalefont setfont 0 0 moveto (x) show showpage\n%%EOF\n"
    )


def pdf() -> bytes:
    return _encode(gradient_rgb(64, 48), "PDF")


def psd() -> bytes:
    """A minimal flat RGB Photoshop file (which Pillow would open)."""
    width, height = 8, 4
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    pixels = b"\x80" * (width * height * 3)
    return header + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + pixels


def _cmyk(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(200, 150, seed=9)).convert("CMYK").save(buffer, fmt)
    return buffer.getvalue()


def grey16_png() -> bytes:
    ramp = (np.linspace(0, 65535, 200 * 150).reshape(150, 200)).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, "PNG")
    return buffer.getvalue()


def rgb16_tiff() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, gradient_rgb(200, 150).astype(np.uint16) * 257, photometric="rgb")
    return buffer.getvalue()


def float_tiff() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.linspace(0, 1, 200 * 150, dtype=np.float32).reshape(150, 200))
    return buffer.getvalue()


def broken_exif() -> bytes:
    body = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 40) + b"\x0f\x01\x02\x00" * 3
    return with_segments(jpeg(), exif_block(body))


def broken_xmp() -> bytes:
    return with_segments(jpeg(), xmp_segment(b"<x:xmpmeta><rdf:RDF><unclosed>"))


def broken_iptc() -> bytes:
    # A dataset whose declared length runs far past the end of the block.
    return with_segments(jpeg(), iptc_segment(b"\x1c\x02\x78\x7f\xf0short"))


def broken_icc() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(400, 300)).save(buffer, "JPEG", icc_profile=b"not a profile" * 40)
    return buffer.getvalue()


CASES: list[Case] = [
    Case("zero-byte", "BAD.1_front_1.jpg", lambda: b"", ("EMPTY_FILE",)),
    Case("text", "BAD.2_front_1.jpg", lambda: b"Inventory notes\n" * 20, ("NOT_AN_IMAGE",)),
    Case("random", "BAD.3_front_1.tif", lambda: np.random.default_rng(1).bytes(4096),
         ("NOT_AN_IMAGE",)),
    Case("png-named-jpg", "OK.0_front_1.jpg", png, format="PNG"),
    *[Case(f"jpeg-cut-{f}", f"BAD.5_front_{i}.jpg", cut(jpeg, f), ("TRUNCATED", "CORRUPT"))
      for i, f in enumerate((0.01, 0.3, 0.6, 0.95), 1)],
    *[Case(f"png-cut-{f}", f"BAD.6_front_{i}.png", cut(png, f), ("TRUNCATED", "CORRUPT"))
      for i, f in enumerate((0.002, 0.05, 0.5, 0.999), 1)],
    *[Case(f"tiff-cut-{f}", f"BAD.7_front_{i}.tif", cut(tiff, f), ("TRUNCATED", "CORRUPT"))
      for i, f in enumerate((0.001, 0.5, 0.9, 0.999), 1)],
    # Pillow decodes this one without an exception: only the extent check catches it.
    Case("tiff-tiled-cut-silent", "BAD.7_front_6.tif", cut(tiled_tiff, 0.999), ("TRUNCATED",)),
    Case("tiff-lzw-cut", "BAD.7_front_5.tif", cut(lambda: tiff(compression="tiff_lzw"), 0.7),
         ("TRUNCATED", "CORRUPT")),
    Case("png-crc", "BAD.8_front_1.png", png_crc_broken, ("CORRUPT",)),
    Case("png-bomb", "BAD.9_front_1.png", png_huge, ("PIXEL_LIMIT",)),
    Case("jpeg-bomb", "BAD.9_front_2.jpg", jpeg_huge, ("PIXEL_LIMIT",)),
    Case("tiff-bomb", "BAD.9_front_3.tif", tiff_huge, ("PIXEL_LIMIT",)),
    Case("ztxt-bomb", "BAD.10_front_1.png", text_bomb(b"zTXt"), ("CORRUPT",)),
    Case("itxt-bomb", "BAD.10_front_2.png", text_bomb(b"iTXt"), ("CORRUPT",)),
    Case("tiff-page-2-garbled", "BAD.11_front_1.tif", lambda: tiff_pages(garble),
         ("CORRUPT", "TRUNCATED")),
    Case("eps", "BAD.12_front_1.eps", eps, ("UNSUPPORTED_FORMAT",), remedy="export the image"),
    Case("eps-named-tif", "BAD.12_front_2.tif", eps, ("UNSUPPORTED_FORMAT",),
         remedy="export the image"),
    Case("pdf", "BAD.12_front_3.pdf", pdf, ("UNSUPPORTED_FORMAT",), remedy="export the page"),
    Case("psd", "BAD.12_front_4.psd", psd, ("UNSUPPORTED_FORMAT",), remedy="flatten"),
    Case("cmyk-jpeg", "OK.1_front_1.jpg", lambda: _cmyk("JPEG"), format="JPEG"),
    Case("cmyk-tiff", "OK.1_front_2.tif", lambda: _cmyk("TIFF"), format="TIFF"),
    Case("grey16-png", "OK.2_front_1.png", grey16_png, format="PNG"),
    Case("rgb16-tiff", "OK.2_front_2.tif", rgb16_tiff, format="TIFF"),
    Case("float-tiff", "OK.2_front_3.tif", float_tiff, format="TIFF"),
    Case("two-pages", "OK.3_front_1.tif", tiff_pages, format="TIFF"),
    Case("broken-exif", "OK.4_front_1.jpg", broken_exif, warning="EXIF"),
    Case("broken-xmp", "OK.4_front_2.jpg", broken_xmp, warning="XMP"),
    Case("broken-iptc", "OK.4_front_3.jpg", broken_iptc, warning="IPTC"),
    Case("broken-icc", "OK.4_front_4.jpg", broken_icc, warning="ICC"),
]  # fmt: skip

REJECTED = [case for case in CASES if case.codes]
ACCEPTED = [case for case in CASES if not case.codes]


def expected_remedy(case: Case, code: str) -> str:
    return case.remedy or REMEDY[code]


# --- the pure decode -------------------------------------------------------------------------

PROFILE = load_profile(DEFAULT_PROFILE)


@pytest.fixture()
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Fail the test if anything tries to start a program (Ghostscript for EPS and PDF)."""
    started: list[object] = []

    def refuse(self: subprocess.Popen[bytes], args: object, *rest: object, **kw: object) -> None:
        started.append(args)
        raise AssertionError(f"a subprocess was started: {args!r}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    yield started


@pytest.mark.parametrize("case", REJECTED, ids=[c.id for c in REJECTED])
def test_bad_file_is_refused_with_its_code_name_and_remedy(
    case: Case, no_subprocess: list[object]
) -> None:
    with pytest.raises(PermanentError) as info:
        prepare_scan(case.make(), name=case.name, view="front", profile=PROFILE, iiif_id=None)
    assert info.value.code in case.codes, info.value.message
    assert case.name in info.value.message
    assert expected_remedy(case, info.value.code) in info.value.message
    assert info.value.file == case.name
    assert no_subprocess == []


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_unusual_but_sound_file_is_accepted(case: Case, no_subprocess: list[object]) -> None:
    prepared = prepare_scan(
        case.make(), name=case.name, view="front", profile=PROFILE, iiif_id=None
    )
    if case.format:
        assert prepared.decoded.format.pillow_format == case.format
    assert prepared.derivatives and prepared.upright_width > 0
    warnings = prepared.warnings + prepared.metadata.warnings
    if case.warning:
        assert any(case.warning in w for w in warnings), warnings
    else:
        assert not [w for w in warnings if "could not be read" in w], warnings


def test_a_truncated_tiff_that_pillow_decodes_without_error_is_still_refused() -> None:
    """Fault: a tiled TIFF missing its last bytes, which Pillow decodes without an exception.
    Outcome: TRUNCATED: every strip and tile must lie inside the file.
    """
    data = cut(tiled_tiff, 0.999)()
    # Pillow alone: no exception, a picture whose last tile is missing.
    image = Image.open(io.BytesIO(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image.load()
    assert image.size == (400, 300)
    with pytest.raises(PermanentError) as info:
        decode_scan(data, name="BAD.7_front_6.tif", max_pixels=LIMIT)
    assert info.value.code == "TRUNCATED"
    assert "copy it again" in info.value.message


@pytest.mark.parametrize("case", [c for c in REJECTED if c.id in ("eps", "pdf", "psd")],
                         ids=["eps", "pdf", "psd"])  # fmt: skip
def test_refused_formats_never_reach_a_decoder(
    case: Case, monkeypatch: pytest.MonkeyPatch, no_subprocess: list[object]
) -> None:
    opened: list[object] = []
    real_open = Image.open

    def spy(*args: object, **kwargs: object) -> Image.Image:
        opened.append(kwargs.get("formats"))
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", spy)
    with pytest.raises(PermanentError) as info:
        decode_scan(case.make(), name=case.name, max_pixels=LIMIT)
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert opened == [] and no_subprocess == []


def test_pillow_itself_would_have_opened_the_psd() -> None:
    # Proves the PSD above is a real one: refused by policy, not because it is broken.
    image = Image.open(io.BytesIO(psd()))
    assert image.format == "PSD"


def test_float_and_16_bit_images_become_8_bit_derivatives() -> None:
    for make in (grey16_png, rgb16_tiff, float_tiff):
        decoded = decode_scan(make(), name="OK.2_front_1.tif", max_pixels=LIMIT)
        assert decoded.bit_depth in (16, 32)
        assert to_display_image(decoded).mode in ("L", "RGB")


def test_broken_icc_is_treated_as_srgb_with_a_warning() -> None:
    decoded = decode_scan(broken_icc(), name="OK.4_front_4.jpg", max_pixels=LIMIT)
    assert decoded.icc_description is None
    assert any("ICC profile is unreadable" in w for w in decoded.warnings)
    assert to_display_image(decoded).mode == "RGB"


# --- the deadline that turns a hang into DECODE_TIMEOUT --------------------------------------


def test_a_deadline_ends_a_long_decode_with_decode_timeout() -> None:
    from pipeline.sandbox import deadline

    with pytest.raises(PermanentError) as info, deadline(0.05, name="SLOW.1_front_1.tif"):
        while True:  # a decoder stuck in a loop
            pass
    assert info.value.code == "DECODE_TIMEOUT"
    assert "SLOW.1_front_1.tif" in info.value.message
    assert "SOHOA_DECODE_TIMEOUT" in info.value.message


def test_a_deadline_swallowed_by_the_code_inside_still_ends_the_attempt() -> None:
    """Fault: the decode deadline fires inside code that swallows every exception.
    Outcome: DECODE_TIMEOUT all the same, raised as the block ends.
    """
    from pipeline.sandbox import deadline

    with pytest.raises(PermanentError) as info, deadline(0.05, name="SLOW.2_front_1.tif"):
        try:
            while True:
                pass
        except Exception:  # what a careless `except Exception` in a parser would do
            pass
    assert info.value.code == "DECODE_TIMEOUT"


def test_a_deadline_not_reached_changes_nothing() -> None:
    import signal

    from pipeline.sandbox import deadline

    before = signal.getsignal(signal.SIGALRM)
    with deadline(30, name="FAST.1_front_1.tif"):
        decode_scan(jpeg(), name="FAST.1_front_1.jpg", max_pixels=LIMIT)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
