"""Issue #16, told right: every quarantine path gives a stable message naming the file and a
remedy, with no repr, address or traceback, in the result and in `.reason.json`; and nothing a
library prints reaches the terminal."""

from __future__ import annotations

import io
import json
import logging
import re
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import numpy as np
import pytest
import tifffile
from PIL import Image

from pipeline.core.decode_check import capture_library_logs, plain_reason
from pipeline.core.profile import ProcessingProfile
from pipeline.library_output import capture_native_stderr
from pipeline.services import ingest
from pipeline.services.models import ProcessScanTask
from schemas import load_schema
from tests.unit import format_samples as make
from tests.unit.images import gradient_rgb, jpeg_bytes, png_bytes

# Words of a remedy: every message tells the archivist what to do.
REMEDY = re.compile(
    r"\b(export|copy it again|scan it again|rescan|raise|remove|save|flatten|develop|check|"
    r"report|drop it again|delete)",
    re.IGNORECASE,
)
NOT_FOR_PEOPLE = re.compile(
    r"0x[0-9a-fA-F]{4,}|<[^>]*object|Traceback|File \"|\bat 0x|_io\.|\bb'|\bb\""
)


def lzw_with_damaged_strip() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, gradient_rgb(64, 40), compression="lzw", photometric="rgb", rowsperstrip=8
    )
    data = bytearray(buffer.getvalue())
    offset = int(tifffile.TiffFile(io.BytesIO(bytes(data))).pages[0].dataoffsets[2])
    data[offset : offset + 24] = b"\xff" * 24
    return bytes(data)


def unknown_tiff_codec() -> bytes:
    data = bytearray(make.tiff(gradient_rgb(64, 40), compression="lzw"))
    at = data.find(b"\x03\x01\x03\x00\x01\x00\x00\x00\x05\x00")
    data[at + 8 : at + 10] = (64999).to_bytes(2, "little")
    return bytes(data)


def png_bad_crc() -> bytes:
    data = bytearray(png_bytes(64, 40))
    data[40] ^= 0xFF  # inside IDAT
    return bytes(data)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge image and holds a few bytes of it (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def fuzzed_jpeg() -> bytes:
    data = bytearray(jpeg_bytes(64, 40))
    rng = np.random.default_rng(7)
    for at in rng.integers(200, len(data) - 2, 60):
        data[at] = int(rng.integers(0, 256))
    return bytes(data[:200]) + bytes(data[200:])


BAD_FILES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "empty": (b"", ("EMPTY_FILE",)),
    "text": (b"hello, this is not a scan\n", ("NOT_AN_IMAGE",)),
    "pdf": (b"%PDF-1.7\n" + b"\0" * 64, ("UNSUPPORTED_FORMAT",)),
    "psd": (b"8BPS\0\x01" + b"\0" * 64, ("UNSUPPORTED_FORMAT",)),
    "gif": (b"GIF89a\x01\0\x01\0" + b"\0" * 64, ("UNSUPPORTED_FORMAT",)),
    "cr3": (b"\0\0\0\x10ftypcrx \0\0\0\x01" + b"\0" * 64, ("UNSUPPORTED_FORMAT",)),
    "tiff-codec": (unknown_tiff_codec(), ("UNSUPPORTED_FORMAT",)),
    "avif-sequence": (make.animated_avif(), ("ANIMATED",)),
    "webp-animated": (make.animated("WEBP"), ("ANIMATED",)),
    "jpeg-truncated": (jpeg_bytes(64, 40)[:300], ("TRUNCATED",)),
    "png-truncated": (png_bytes(64, 40)[:-20], ("TRUNCATED",)),
    "png-crc": (png_bad_crc(), ("CORRUPT",)),
    "tiff-multipage-truncated": (
        make.tiff(gradient_rgb(64, 40), pages=3)[:-4000],
        ("TRUNCATED",),
    ),
    "tiff-lzw-damaged": (lzw_with_damaged_strip(), ("CORRUPT",)),
    "tiff-header-only": (b"II*\0\x08\0\0\0" + b"\0" * 40, ("CORRUPT", "TRUNCATED")),
    "jpeg-fuzzed": (fuzzed_jpeg(), ("CORRUPT", "TRUNCATED")),
    "heic-truncated": (make.heic()[:900], ("TRUNCATED", "CORRUPT")),
    "heic-zeroed": (make.heic()[:200] + bytes(4000), ("CORRUPT", "TRUNCATED")),
    "jp2-garbage": (b"\0\0\0\x0cjP  \r\n\x87\n" + bytes(200), ("CORRUPT", "TRUNCATED")),
    "pixel-bomb": (png_header_only(100_000, 100_000), ("PIXEL_LIMIT",)),
}


class _NoBucket:
    """Storage for a file that never reaches it: reading finds nothing, writing is a bug."""

    def read_json(self, key: str) -> None:
        return None


def context(tmp_path: Path, store: object = None) -> SimpleNamespace:
    return SimpleNamespace(
        settings=SimpleNamespace(
            quarantine_path=tmp_path / "quarantine",
            decode_deadline=None,
            public_base_url="http://127.0.0.1:8000",
            worker_memory_mb=512,
        ),
        profile=ProcessingProfile(),
        store=store or _NoBucket(),
    )


def check_message(message: str | None, name: str) -> None:
    assert message, "no message"
    assert name in message, message
    assert REMEDY.search(message), f"no remedy: {message}"
    assert not NOT_FOR_PEOPLE.search(message), f"not for people: {message}"
    assert "\n" not in message


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_quarantine_path_is_told_the_same_way_twice(case, tmp_path, capfd):
    data, codes = BAD_FILES[case]
    name = f"BT.{case}_front_1.bin"
    path = tmp_path / name
    path.write_bytes(data)
    ctx = context(tmp_path)
    results = [
        ingest.process_scan(ctx, ProcessScanTask(path=str(path), batch_id=f"b{i}"))  # type: ignore[arg-type]
        for i in range(2)
    ]
    first, second = results
    assert first.status == "quarantined" and first.code in codes, first
    assert (second.code, second.message) == (first.code, first.message)  # same file, same bytes
    check_message(first.message, name)
    reason = json.loads(Path(f"{first.quarantine_path}.reason.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(load_schema("quarantine")).validate(reason)
    assert (reason["code"], reason["message"]) == (first.code, first.message)
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == "", printed  # no library spoke on the terminal


def test_the_paths_outside_decoding_are_told_right(tmp_path):
    path = tmp_path / "BT.1_front_1.jpg"
    path.write_bytes(jpeg_bytes(64, 40))
    ctx = context(tmp_path)
    task = ProcessScanTask(path=str(path))
    told = [
        ingest.quarantine_worker_lost(ctx, task, 3),  # type: ignore[arg-type]
        ingest.quarantine_timed_out(ctx, task, 300.0),  # type: ignore[arg-type]
    ]
    # A bug in Sohoa (here: storage that cannot store) is INTERNAL, and says no more than that.
    told.append(ingest.process_scan(ctx, task))  # type: ignore[arg-type]
    badly_named = tmp_path / "no pattern here.jpg"
    badly_named.write_bytes(jpeg_bytes(64, 40))
    told.append(ingest.process_scan(ctx, ProcessScanTask(path=str(badly_named))))  # type: ignore[arg-type]
    assert [r.code for r in told] == ["WORKER_LOST", "DECODE_TIMEOUT", "INTERNAL", "BAD_NAME"]
    for result in told:
        check_message(result.message, Path(result.path).name)


def test_a_library_exception_is_told_without_its_repr():
    from PIL import UnidentifiedImageError

    exc = UnidentifiedImageError(f"cannot identify image file {io.BytesIO()!r}")
    assert plain_reason(exc) == "no decoder recognises its data"
    assert plain_reason(OSError("decoder error -2")) == "its compressed data does not decode"
    assert "0x" not in plain_reason(ValueError(f"bad thing {object()!r} here"))


def test_what_libraries_log_or_print_becomes_warnings_once(capfd):
    import os

    with capture_library_logs() as logged, capture_native_stderr() as said:
        for _ in range(3):
            logging.getLogger("tifffile").warning("TiffPage 0: invalid tag")
            os.write(2, b"tempfile.tif: WEBP compression support is not configured.\n")
    assert logged == ["tifffile: TiffPage 0: invalid tag"] * 3  # deduplicated by the scan
    assert said == ["decoder said: WEBP compression support is not configured"]
    assert capfd.readouterr().err == ""


def test_a_libtiff_complaint_on_a_scan_that_decodes_is_a_warning(tmp_path, capfd):
    """libtiff's own voice, captured into a stored scan's warnings (and nothing printed)."""
    from pipeline.services.preview import preview_scan

    image = Image.fromarray(gradient_rgb(64, 40))
    buffer = io.BytesIO()
    # An unknown private tag makes libtiff warn while reading the directory.
    image.save(buffer, "TIFF", compression="tiff_lzw", tiffinfo={65000: 7})
    path = tmp_path / "BT.2_front_1.tif"
    path.write_bytes(buffer.getvalue())
    summary = preview_scan(
        path,
        tmp_path / "out",
        profile=ProcessingProfile(),
        public_base_url="http://127.0.0.1:8000",
    )
    assert len(summary["warnings"]) == len(set(summary["warnings"]))
    assert capfd.readouterr().err == ""
