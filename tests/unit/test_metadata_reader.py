"""The metadata reader as a whole: technical facts, files without metadata, random damage."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from pipeline.core.metadata import ScanMetadata, extract_metadata
from tests.unit.images import gradient_rgb
from tests.unit.metadata_writer import extract, full_file, jpeg_file, make_exif, tiff_file

# Pillow itself warns about the damage when the test opens the file; that is not under test.
pytestmark = pytest.mark.filterwarnings("ignore:.*(EXIF|Truncated|Tag data).*:UserWarning")


# --- technical facts ---------------------------------------------------------------------------


def test_technical_facts_of_a_jpeg():
    technical = extract(jpeg_file(exif=make_exif())).technical
    assert technical.format == "JPEG"
    assert technical.compression == "JPEG baseline" and technical.progressive is False
    assert (technical.width, technical.height, technical.bit_depth) == (96, 64, 8)
    assert (technical.pages, technical.tiled, technical.colour_mode) == (1, False, "RGB")
    assert (technical.dpi_x, technical.dpi_y, technical.resolution_unit) == (300, 300, "inch")


def test_technical_facts_of_a_tiled_multipage_lzw_tiff():
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for seed in range(3):
            writer.write(
                gradient_rgb(256, 160, seed=seed),
                photometric="rgb",
                compression="lzw",
                tile=(64, 64),
                resolution=(600, 600),
                resolutionunit="inch",
            )
    technical = extract(buffer.getvalue()).technical
    assert (technical.format, technical.pages, technical.tiled) == ("TIFF", 3, True)
    assert (technical.compression, technical.compression_code) == ("LZW", 5)
    assert (technical.width, technical.height, technical.samples_per_pixel) == (256, 160, 3)
    assert technical.photometric == "RGB"
    assert technical.x_resolution == pytest.approx(600)
    assert technical.resolution_unit == "inch"


def test_icc_description_and_centimetre_resolution():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    technical = extract(tiff_file(icc_profile=icc)).technical
    assert technical.icc_description and "sRGB" in technical.icc_description
    assert technical.resolution_unit == "cm"
    assert technical.dpi_x == pytest.approx(400 * 2.54)


def test_a_file_without_metadata_gives_empty_parts_and_no_warnings():
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(64, 48)).save(buffer, "JPEG")
    meta = extract(buffer.getvalue())
    assert meta.exif.make is None and meta.xmp.title is None and meta.iptc.keywords == []
    assert meta.restricted.gps is None and meta.warnings == []


# --- hostile and broken input ------------------------------------------------------------------


def test_random_damage_never_raises():
    good = full_file("jpeg")
    image = Image.open(io.BytesIO(good))
    image.load()
    rng = np.random.default_rng(7)
    header_end = good.find(b"\xff\xda")
    for _ in range(300):
        damaged = bytearray(good)
        for position in rng.integers(2, header_end, size=int(rng.integers(1, 12))):
            damaged[position] = int(rng.integers(0, 256))
        meta = extract_metadata(bytes(damaged), image)
        ScanMetadata.model_validate(meta.model_dump())
    for cut in range(0, header_end, 97):
        extract_metadata(good[:cut], image)


def test_random_damage_in_a_tiff_never_raises():
    good = full_file("tiff")
    image = Image.open(io.BytesIO(good))
    image.load()
    rng = np.random.default_rng(11)
    for _ in range(300):
        damaged = bytearray(good)
        for position in rng.integers(0, 1024, size=int(rng.integers(1, 12))):
            damaged[position] = int(rng.integers(0, 256))
        extract_metadata(bytes(damaged), image)
    extract_metadata(os.urandom(4096), image)
