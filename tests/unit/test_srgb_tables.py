"""The sRGB tables (issue #14): matrix/TRC profiles converted by tables and a matrix agree with
LittleCMS within CIEDE2000 0.5 (max) and 0.1 (mean), for 8- and 16-bit input; others stay with
LittleCMS."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.icc import read_icc, read_shaper
from pipeline.core.imaging import to_display_array
from pipeline.core.srgb import MatrixConverter, srgb_converter
from pipeline.samples.icc import make_adobe_rgb_profile
from tests.bench.captures import profiles, quantise, render_scene
from tests.unit.icc_builder import (
    D50_XY,
    DISPLAY_P3,
    ECI_RGB_V2,
    PROPHOTO,
    build_profile,
    gamma_tag,
    lstar_decode,
    para_tag,
    rgb_profile,
    srgb_decode,
    table_tag,
)
from tests.unit.lcms_oracle import delta_e_2000, lcms_to_srgb, srgb8_to_lab
from tests.unit.normalisation_input import decode, tiff

D65_XY = (0.3127, 0.3290)
# sRGB's own curve as ICC parametric function 3: Display P3 profiles carry it so.
SRGB_PARA = para_tag(2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
PROFILES = {
    "Adobe RGB (1998)": make_adobe_rgb_profile(),
    "eciRGB v2": rgb_profile("eciRGB v2", ECI_RGB_V2, D50_XY, table_tag(lstar_decode)),
    "ProPhoto RGB": rgb_profile("ProPhoto RGB", PROPHOTO, D50_XY, gamma_tag(1.8)),
    "Display P3": rgb_profile("Display P3", DISPLAY_P3, D65_XY, SRGB_PARA),
    "Display P3 (table)": rgb_profile("Display P3 t", DISPLAY_P3, D65_XY, table_tag(srgb_decode)),
}
MAX_DE, MEAN_DE = 0.5, 0.1


def cube(levels: np.ndarray) -> np.ndarray:
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    return np.ascontiguousarray(grid.reshape(-1, len(levels), 3))


def tables_for(profile: bytes) -> MatrixConverter:
    convert = srgb_converter(read_icc(profile), grey=False, warnings_out=[])
    assert isinstance(convert, MatrixConverter)  # the fast path, not LittleCMS
    return convert


def lab(rgb: np.ndarray) -> np.ndarray:
    """Lab of sRGB at 8 bits (uint8) or at 16 bits (uint16), on the 8-bit scale."""
    return srgb8_to_lab(rgb.astype(np.float64) / (257 if rgb.dtype == np.uint16 else 1))


def assert_same_colours(ours16: np.ndarray, reference16: np.ndarray) -> None:
    """The conversion itself, before the rounding to 8 bits: CIEDE2000 within the targets."""
    de = delta_e_2000(lab(ours16), lab(reference16))
    assert float(de.max()) <= MAX_DE and float(de.mean()) <= MEAN_DE, (de.max(), de.mean())


def assert_same_8_bit_output(ours: np.ndarray, reference: np.ndarray) -> None:
    """The 8-bit output: a code apart at most (where the exact value lies within a few
    thousandths of a code of a rounding boundary, LittleCMS's own 16-bit steps and ours
    round to either side), and CIEDE2000 within the mean target."""
    assert int(np.abs(ours.astype(np.int16) - reference).max()) <= 1
    differ = np.any(ours != reference, axis=-1)  # the others are 0
    de = delta_e_2000(lab(ours[differ]), lab(reference[differ]))
    assert float(de.sum()) / differ.size <= MEAN_DE, float(de.sum()) / differ.size
    # Such boundary pairs are rare: LittleCMS's optimised 8-bit path and its full-precision
    # one disagree by more than 0.5 on 0.05-0.25% of this cube; ours, on 0.02-0.25%.
    assert float((de > MAX_DE).sum()) / differ.size < 0.005


def to_8bit(samples16: np.ndarray) -> np.ndarray:
    return (samples16.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("name", list(PROFILES))
def test_8_bit_cube_agrees_with_littlecms(name):
    profile = PROFILES[name]
    pixels = cube(np.arange(0, 256, 4, dtype=np.uint8))  # every 4th code: 262,144 colours
    tables = tables_for(profile)
    assert_same_colours(
        tables(pixels, depth=16), lcms_to_srgb(pixels.astype(np.uint16) * 257, profile)
    )
    ours = tables(pixels)
    # LittleCMS as the pipeline ran it before (Pillow, 8-bit, optimised) and at full precision.
    reference = srgb_converter(read_icc(profile), grey=False, warnings_out=[], fast=False)
    assert reference is not None and not isinstance(reference, MatrixConverter)
    assert_same_8_bit_output(ours, reference(pixels))
    assert_same_8_bit_output(ours, lcms_to_srgb(pixels, profile))
    # The test can fail: without the matrix (the curves alone) the colours are far off.
    assert float(delta_e_2000(lab(pixels), lab(ours)).max()) > 5


@pytest.mark.parametrize("name", ["Adobe RGB (1998)", "eciRGB v2"])
def test_16_bit_cube_agrees_with_littlecms(name):
    levels = np.append(np.arange(0, 65536, 1024), 65535).astype(np.uint16)  # 65 a channel
    pixels = cube(levels)
    tables = tables_for(PROFILES[name])
    reference = lcms_to_srgb(pixels, PROFILES[name])
    assert_same_colours(tables(pixels, depth=16), reference)
    assert_same_8_bit_output(tables(pixels), to_8bit(reference))


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("kind", ["adobe", "eci"])
def test_realistic_capture_agrees_with_littlecms_through_the_pipeline(kind, bits):
    # The bench's scene (chart, noise, glint, texture) at 0.1 MP, decoded as ingest does.
    icc = profiles()[kind]
    assert icc is not None
    samples = quantise(render_scene(384, 256, seed=5), bits)
    scan = decode(tiff(samples, photometric="rgb", iccprofile=icc))
    ours = to_display_array(scan)
    deep = samples if bits == 16 else samples.astype(np.uint16) * 257
    reference = lcms_to_srgb(deep, icc)
    assert_same_colours(tables_for(icc)(samples, depth=16), reference)
    assert_same_8_bit_output(ours, to_8bit(reference))


def test_12_bit_data_in_16_bit_words_is_scaled_inside_the_table():
    icc = PROFILES["Adobe RGB (1998)"]
    full = quantise(render_scene(96, 64, seed=9), 16)
    twelve = (full >> 4).astype(np.uint16)  # peaks in 2049..4095: 12-bit data
    scan = decode(tiff(twelve, photometric="rgb", iccprofile=icc))
    # LittleCMS sees the same data scaled to 16 bits (4095 is full scale).
    reference = lcms_to_srgb(np.round(twelve * (65535 / 4095)).astype(np.uint16), icc)
    assert_same_8_bit_output(to_display_array(scan), to_8bit(reference))


def test_big_endian_16_bit_samples_convert_alike():
    icc = PROFILES["eciRGB v2"]
    samples = quantise(render_scene(96, 64, seed=3), 16)
    little = to_display_array(decode(tiff(samples, photometric="rgb", iccprofile=icc)))
    big = to_display_array(decode(tiff(samples, photometric="rgb", iccprofile=icc, byteorder=">")))
    assert np.array_equal(little, big)


_DIGEST_OF_TABLES = """
import hashlib, numpy as np
from pipeline.core.icc import read_icc
from pipeline.core.srgb import srgb_converter
from pipeline.samples.icc import make_adobe_rgb_profile
levels = np.arange(0, 256, 8, dtype=np.uint8)
cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 32, 3)
convert = srgb_converter(read_icc(make_adobe_rgb_profile()), grey=False, warnings_out=[])
print(hashlib.sha256(convert(np.ascontiguousarray(cube)).tobytes()).hexdigest())
"""


def test_the_same_pixels_give_the_same_bytes_in_another_process():
    pixels = cube(np.arange(0, 256, 8, dtype=np.uint8))
    here = hashlib.sha256(tables_for(PROFILES["Adobe RGB (1998)"])(pixels).tobytes()).hexdigest()
    done = subprocess.run(
        [sys.executable, "-c", _DIGEST_OF_TABLES],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.stdout.strip() == here


@pytest.mark.parametrize(
    "profile",
    [
        # A LUT-based profile: LittleCMS would take the A2B0 table, not the matrix.
        rgb_profile("with A2B0", DISPLAY_P3, D65_XY, gamma_tag(2.2))[:0]
        or build_profile(
            b"RGB ",
            "with A2B0",
            [
                *[(sig, b"XYZ \0\0\0\0" + b"\0\1\0\0" * 3) for sig in (b"rXYZ", b"gXYZ", b"bXYZ")],
                *[(sig, gamma_tag(2.2)) for sig in (b"rTRC", b"gTRC", b"bTRC")],
                (b"A2B0", b"mft2" + b"\0" * 60),
            ],
        ),
        # A black above zero: LittleCMS's black-point compensation would change the result.
        rgb_profile("raised black", DISPLAY_P3, D65_XY, para_tag(2.2, 0.9, 0.0, 0.05)),
    ],
)
def test_profiles_the_tables_cannot_match_stay_with_littlecms(profile):
    assert read_shaper(read_icc(profile)) is None


def test_grey_profiles_are_one_table_filled_by_littlecms():
    profile = build_profile(b"GRAY", "Grey gamma 1.8", [(b"kTRC", gamma_tag(1.8))])
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    fast = srgb_converter(read_icc(profile), grey=True, warnings_out=[])
    slow = srgb_converter(read_icc(profile), grey=True, warnings_out=[], fast=False)
    assert fast is not None and slow is not None
    assert np.array_equal(fast(grey), slow(grey))


def test_three_different_curves_take_a_table_a_channel():
    colorants = rgb_profile("x", DISPLAY_P3, D65_XY, gamma_tag(2.2))
    shaper = read_shaper(read_icc(colorants))
    assert shaper is not None
    xyz = [
        (sig, b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in column)))
        for sig, column in zip((b"rXYZ", b"gXYZ", b"bXYZ"), shaper.matrix.T, strict=True)
    ]
    curves = [(b"rTRC", gamma_tag(1.8)), (b"gTRC", SRGB_PARA), (b"bTRC", table_tag(lstar_decode))]
    profile = build_profile(b"RGB ", "Mixed curves", [*xyz, *curves])
    tables = tables_for(profile)
    assert tables.input_table(256, 255).shape == (256, 1, 3)
    pixels = cube(np.arange(0, 256, 8, dtype=np.uint8))
    assert_same_8_bit_output(tables(pixels), lcms_to_srgb(pixels, profile))
    deep = pixels.astype(np.uint16) * 257
    assert_same_colours(tables(deep, depth=16), lcms_to_srgb(deep, profile))
