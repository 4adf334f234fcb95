"""The decoded scan, and what the decoders other than Pillow's give it: pillow-heif for HEIF,
tifffile + imagecodecs for TIFF codecs Pillow's libtiff lacks; no I/O."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from pipeline.core.decode_check import check_pixels, check_warnings
from pipeline.core.heif import decode_heif
from pipeline.core.icc import IccProfile, describe_icc, read_icc
from pipeline.core.sniff import SniffedFormat
from pipeline.core.tiff_codec import codec_name, decode_with_tifffile


@dataclass
class DecodedScan:
    """A fully decoded scan: facts about the file and the first page, ready for derivatives."""

    format: SniffedFormat
    # Of the stored master's first page as its header declares them, before any orientation.
    width: int
    height: int
    mode: str
    # Bits per sample of the stored master (its header), whatever the decoder widened it to.
    bit_depth: int
    pages: int
    icc_profile: bytes | None
    icc_description: str | None
    orientation: int | None
    image: Image.Image
    # The first page's samples read by tifffile (L or RGB, 8/16-bit or float), set when Pillow
    # would lose precision (it reads 16-bit RGB TIFF as 8-bit) or when an uncompressed page can
    # be viewed in `data` without a copy; then they, not `image`, feed the derivatives.
    samples: np.ndarray[Any, Any] | None = None
    # The orientation came from XMP (tiff:Orientation), which no decoder applies.
    orientation_from_xmp: bool = False
    warnings: list[str] = field(default_factory=list)
    # The embedded profile parsed once: the sRGB conversion and the metadata both use it.
    icc: IccProfile | None = None
    # The decoder applied the orientation already (libheif applies HEIF's irot/imir): the
    # pixels are upright and `orientation` is what the file declares, never applied again.
    decoder_oriented: bool = False
    # The full scale of 16-bit `samples` (65535, or 4095 for 12-bit data), found once.
    top_sample: float | None = field(default=None, repr=False, compare=False)


def from_heif(data: bytes, fmt: SniffedFormat, *, name: str, max_pixels: int) -> DecodedScan:
    def within_limit(size: tuple[int, int]) -> None:
        check_pixels(size, name=name, max_pixels=max_pixels)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        picture = decode_heif(data, name=name, check_pixels=within_limit)
    found = check_warnings(caught, name=name, is_tiff=False)
    shown_width, shown_height = picture.image.size
    turned = picture.orientation in (5, 6, 7, 8)
    return _from_picture(
        fmt,
        picture.image,
        picture.samples,
        size=(shown_height, shown_width) if turned else (shown_width, shown_height),
        bit_depth=picture.bit_depth,
        pages=picture.pages,
        icc=picture.icc_profile,
        orientation=picture.orientation,
        found_warnings=found,
        decoder_oriented=True,
    )


def from_tifffile(
    data: bytes, fmt: SniffedFormat, code: int, *, name: str, max_pixels: int
) -> DecodedScan:
    def within_limit(size: tuple[int, int]) -> None:
        check_pixels(size, name=name, max_pixels=max_pixels)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        picture = decode_with_tifffile(data, name=name, code=code, check_pixels=within_limit)
    found = check_warnings(caught, name=name, is_tiff=True)
    found.append(rare_codec_warning(code))
    height, width = picture.samples.shape[:2]
    return _from_picture(
        fmt,
        picture.image,
        picture.samples,
        size=(width, height),
        bit_depth=picture.bit_depth,
        pages=picture.pages,
        icc=picture.icc_profile,
        orientation=picture.orientation,
        found_warnings=found,
        decoder_oriented=False,
    )


def _from_picture(
    fmt: SniffedFormat,
    image: Image.Image,
    samples: np.ndarray[Any, Any] | None,
    *,
    size: tuple[int, int],
    bit_depth: int,
    pages: int,
    icc: bytes | None,
    orientation: int | None,
    found_warnings: list[str],
    decoder_oriented: bool,
) -> DecodedScan:
    parsed_icc = read_icc(icc)
    icc_description = describe_icc(parsed_icc, found_warnings)
    return DecodedScan(
        format=fmt,
        width=size[0],
        height=size[1],
        mode=image.mode,
        bit_depth=bit_depth,
        pages=pages,
        icc_profile=icc,
        icc_description=icc_description,
        orientation=orientation,
        image=image,
        samples=samples,
        warnings=found_warnings,
        icc=parsed_icc,
        decoder_oriented=decoder_oriented,
    )


def rare_codec_warning(code: int) -> str:
    return (
        f"The master is a TIFF compressed with {codec_name(code)}, which many TIFF readers "
        "cannot open: for preservation, keep an uncompressed or LZW TIFF of it as well."
    )
