"""Normalisation traps (issue #3), orientation from EXIF, XMP or the TIFF tag, applied once."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from pipeline.core.imaging import to_display_array
from tests.unit.images import encode, gradient_rgb
from tests.unit.normalisation_input import banded, decode, display, tiff

# --- orientation -----------------------------------------------------------------------------

XMP_ATTRIBUTE = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="{o}"/></rdf:RDF></x:xmpmeta>'
)
XMP_ELEMENT = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/"><tiff:Orientation>{o}</tiff:Orientation>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize("template", [XMP_ATTRIBUTE, XMP_ELEMENT])
def test_xmp_only_orientation_in_a_jpeg_is_applied_once_and_recorded(template):
    xmp = template.replace(b"{o}", b"6")
    data = encode(banded(), "JPEG", quality=95, xmp=xmp)
    scan = decode(data, "x_front_1.jpg")
    assert b"Exif\0\0" not in data  # no EXIF at all: the orientation is only in XMP
    assert scan.orientation == 6
    upright = to_display_array(scan)
    assert upright.shape[:2] == (90, 60)  # turned a quarter, not a half or not at all
    assert upright[:8].mean() > 200  # 6 = rotate 90° clockwise: the left band is on top


def test_xmp_only_orientation_in_a_tiff_is_applied():
    xmp = XMP_ATTRIBUTE.replace(b"{o}", b"8")
    data = tiff(banded(), photometric="rgb", extratags=[(700, 1, len(xmp), xmp, True)])
    scan = decode(data)
    assert scan.orientation == 8
    upright = to_display_array(scan)
    assert upright.shape[:2] == (90, 60)
    assert upright[-8:].mean() > 200  # 8 = rotate 90° counter-clockwise: left goes to bottom


@pytest.mark.parametrize("compression", ["zlib", "lzw"])
@pytest.mark.parametrize("where", ["tag", "xmp"])
def test_compressed_tiff_orientation_is_applied_exactly_once(compression, where):
    # Pillow decodes these with libtiff, which applies (and drops) the TIFF tag by itself.
    if where == "tag":
        extratags = [(274, "H", 1, 6, True)]
    else:
        xmp = XMP_ATTRIBUTE.replace(b"{o}", b"6")
        extratags = [(700, 1, len(xmp), xmp, True)]
    data = tiff(banded(), photometric="rgb", compression=compression, extratags=extratags)
    scan = decode(data)
    assert scan.orientation == 6
    upright = to_display_array(scan)
    assert upright.shape[:2] == (90, 60)
    assert upright[:8].mean() > 200


def test_exif_wins_over_xmp_and_rotation_happens_once():
    exif = Image.Exif()
    exif[0x0112] = 3
    data = encode(
        banded(), "JPEG", quality=95, exif=exif.tobytes(), xmp=XMP_ATTRIBUTE.replace(b"{o}", b"6")
    )
    scan = decode(data, "x_front_1.jpg")
    assert scan.orientation == 3
    upright = to_display_array(scan)
    assert upright.shape[:2] == (60, 90)
    assert upright[:, -8:].mean() > 200  # 180°: the band is on the right


@pytest.mark.parametrize("value", [0, 9, 255])
def test_invalid_exif_orientation_is_ignored(value):
    exif = Image.Exif()
    exif[0x0112] = value
    scan = decode(encode(banded(), "JPEG", exif=exif.tobytes()), "x_front_1.jpg")
    assert scan.orientation is None
    assert to_display_array(scan).shape[:2] == (60, 90)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_the_standard(orientation):
    # PNG (lossless) with EXIF, compared with Pillow's reference implementation pixel for pixel.
    source = gradient_rgb(48, 30)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(source, "PNG", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert np.array_equal(display(data, "x_front_1.png"), expected)


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_tiff_orientation_tag_on_the_uncompressed_fast_path(orientation):
    source = gradient_rgb(48, 30)
    data = tiff(source, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    scan = decode(data)
    assert scan.samples is not None  # viewed in the file's bytes, Pillow did not decode it
    exif = Image.Exif()
    exif[0x0112] = orientation
    reference = encode(source, "PNG", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(reference))))
    assert np.array_equal(to_display_array(scan), expected)


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_pixels_copied_out_of_pillow_in_bands_are_turned_like_the_standard(
    orientation, mode, monkeypatch
):
    # Bands of 7 rows over 53 (the last one short), each turned as it is placed.
    import pipeline.core.imaging as imaging

    source = Image.fromarray(gradient_rgb(41, 53)).convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(np.asarray(source), "PNG", exif=exif.tobytes())
    monkeypatch.setattr(imaging, "_COPY_BAND_BYTES", 7 * 41 * len(mode))
    pixels, _ = imaging.to_upright_pixels(decode(data, "x_front_1.png"))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert pixels.flags.owndata and pixels.flags.writeable
    assert np.array_equal(pixels, expected)
