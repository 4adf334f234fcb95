import io
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from pipeline.core.derivatives import make_derivatives
from pipeline.core.imaging import ICC_FIXED_DATE, SRGB_ICC, decode_scan, to_display_image
from pipeline.core.profile import DerivativeSettings
from pipeline.core.shrink import fit_long_edge
from tests.unit.images import encode, gradient_rgb


def display(data: bytes) -> Image.Image:
    return to_display_image(decode_scan(data, name="a_front_1.x", max_pixels=10**9))


def test_16_bit_rgb_tiff_is_scaled_not_truncated_to_the_high_byte():
    # Values chosen so that the high byte (x >> 8) and correct rounding (x * 255 / 65535) differ.
    samples = np.full((8, 8, 3), 0x01FF, np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, samples, photometric="rgb")
    scan = decode_scan(buffer.getvalue(), name="a_front_1.tif", max_pixels=10**9)
    assert scan.bit_depth == 16
    out = np.asarray(to_display_image(scan))
    assert out[0, 0, 0] == round(0x01FF * 255 / 65535) == 2  # the high byte alone gives 1


def test_16_bit_greyscale_is_scaled():
    samples = np.full((8, 8), 65535, np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, samples)
    image = display(buffer.getvalue())
    assert image.mode == "L"
    assert np.asarray(image)[0, 0] == 255


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (300, 200)), (6, (200, 300)), (8, (200, 300))]
)
def test_exif_orientation_is_applied_exactly_once(orientation, size):
    picture = Image.fromarray(gradient_rgb(300, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif.tobytes())
    scan = decode_scan(buffer.getvalue(), name="a_front_1.jpg", max_pixels=10**9)
    assert scan.orientation == orientation
    assert to_display_image(scan).size == size


def test_rotation_6_puts_the_left_column_on_top():
    array = np.zeros((200, 300, 3), np.uint8)
    array[:, :30] = 255  # a white band on the stored image's left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    upright = np.asarray(display(buffer.getvalue()))
    assert upright[:20].mean() > 200  # the band is now along the top
    assert upright[-20:].mean() < 50


def test_rgba_is_composited_on_a_neutral_backdrop():
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black
    image = display(encode(rgba, "PNG"))
    assert image.mode == "RGB"
    assert tuple(np.asarray(image)[0, 0]) == (128, 128, 128)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red ink
    buffer = io.BytesIO()
    cmyk.save(buffer, "JPEG")
    rgb = np.asarray(display(buffer.getvalue()))
    assert rgb[0, 0, 0] > 200 and rgb[0, 0, 1] < 60 and rgb[0, 0, 2] < 60


def test_a_broken_icc_profile_is_a_warning_not_a_rejection():
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb()).save(buffer, "JPEG", icc_profile=b"not really a profile" * 10)
    scan = decode_scan(buffer.getvalue(), name="a_front_1.jpg", max_pixels=10**9)
    assert any("ICC" in w for w in scan.warnings)
    assert to_display_image(scan).mode == "RGB"


# --- derivatives ---------------------------------------------------------------------------------


SETTINGS = DerivativeSettings(access=300, preview=120, thumb=40)
ROOT = Path(__file__).resolve().parents[2]


def test_fit_long_edge_keeps_aspect_and_never_enlarges():
    assert fit_long_edge(4000, 3000, 1200) == (1200, 900)
    assert fit_long_edge(3000, 4000, 1200) == (900, 1200)
    assert fit_long_edge(800, 600, 1200) == (800, 600)


def test_three_sizes_from_the_profile_decodable_srgb_jpegs_without_exif():
    source = Image.fromarray(gradient_rgb(640, 480))
    made = {d.name: d for d in make_derivatives(source, SETTINGS)}
    assert list(made) == ["access", "preview", "thumb"]
    for name, long_edge in SETTINGS.sizes().items():
        out = Image.open(io.BytesIO(made[name].data))
        out.load()
        assert out.format == "JPEG"
        assert max(out.size) == long_edge
        assert (made[name].width, made[name].height) == out.size
        assert out.info.get("icc_profile") == SRGB_ICC
        assert not out.getexif()
        assert out.info.get("progressive") == 1


def test_small_scans_are_not_enlarged():
    made = make_derivatives(Image.fromarray(gradient_rgb(100, 80)), SETTINGS)
    assert [(d.width, d.height) for d in made] == [(100, 80), (100, 80), (40, 32)]


def test_derivatives_are_deterministic():
    source = Image.fromarray(gradient_rgb(640, 480))
    first = [d.data for d in make_derivatives(source, SETTINGS)]
    second = [d.data for d in make_derivatives(source, SETTINGS)]
    assert first == second


_DIGEST_OF_DERIVATIVES = """
import hashlib, numpy as np
from PIL import Image
from pipeline.core.profile import DerivativeSettings
from pipeline.core.derivatives import make_derivatives
ramp = np.linspace(0, 255, 640 * 480 * 3).reshape(480, 640, 3).astype(np.uint8)
made = make_derivatives(Image.fromarray(ramp), DerivativeSettings())
print(hashlib.sha256(b"".join(d.data for d in made)).hexdigest())
"""


def test_derivatives_are_the_same_bytes_in_another_process_at_another_time():
    # The embedded sRGB profile once carried the second it was built, so two workers (or one
    # worker restarted) wrote different bytes for the same scan.
    def digest() -> str:
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST_OF_DERIVATIVES],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        return done.stdout.strip()

    first = digest()
    time.sleep(1.1)  # another second on the clock
    assert digest() == first
    assert SRGB_ICC[24:36] == struct.pack(">6H", *ICC_FIXED_DATE)


def test_the_downscale_averages_rather_than_samples():
    # A one-pixel checkerboard shrunk 4x must average to mid-grey, not alias to black or white.
    board = (np.indices((400, 400)).sum(axis=0) % 2 * 255).astype(np.uint8)
    made = make_derivatives(Image.fromarray(np.stack([board] * 3, -1)), SETTINGS)
    thumb = np.asarray(Image.open(io.BytesIO(made[2].data)))
    assert abs(float(thumb.mean()) - 127.5) < 6
    assert float(thumb.std()) < 6
