"""Writes the deterministic sample collection (scans + inventory); it must not read the clock.

The collection: 15 inventory rows of Nguyễn court antiquities, 14 of them photographed in 2-4
views (39 scans), and two of those objects photographed again beside a ColorChecker (`charts`):
the references of the two capture sessions, the Phase One's TIFFs (accurate light) and the
Canon's JPEGs of one morning (a warm lamp). One row, BTCVH.ĐS.0032 (a bronze bell), has no
scans: an object catalogued but not yet photographed, as any real inventory has. Files are
written flat into `out_dir`:

- most scans are 8-bit RGB TIFF (uncompressed or deflate) or JPEG, some untagged, some with an
  embedded sRGB profile;
- six are 16-bit RGB TIFF with an embedded Adobe RGB (1998) profile, their pixels encoded in
  Adobe RGB (the enamel vase HM.1998.45/PL in all three views, the burner's and the gold cup's
  front, the textile's front);
- three JPEGs carry EXIF Orientation 8, 6 and 3 (bowl front, burner left, lacquer box top) with
  their pixels stored as a camera held that way writes them;
- the vase BTCVH.GS.0012 is named with Vietnamese view words (trước, sau, chi-tiết, dấu) in
  Unicode NFD, as a Mac would write them; every other name is NFC.

Same seed and size give byte-identical files: no timestamps, fixed EXIF dates.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from pipeline.samples.icc import (
    encode_adobe_rgb16,
    make_adobe_rgb_profile,
    make_srgb_profile,
)
from pipeline.samples.objects import (
    ADOBE_RGB,
    ARTEFACTS,
    JPEG,
    SRGB,
    UNPHOTOGRAPHED,
    Artefact,
    Shot,
)
from pipeline.samples.render import frame_size, render_artefact
from schemas import inventory_columns

VIEW_WORDS_VI = {
    "front": "trước",
    "back": "sau",
    "left": "trái",
    "right": "phải",
    "top": "trên",
    "bottom": "dưới",
    "detail": "chi-tiết",
    "mark": "dấu",
}
# For np.rot90: how far to turn the upright picture so that applying the EXIF orientation
# (as a viewer does) shows it upright again.
_STORED_TURNS = {3: 2, 6: 1, 8: -1}


@dataclass(frozen=True)
class SampleScan:
    """One generated scan and what it is meant to be."""

    path: Path
    accession: str
    view: str
    format: str
    bit_depth: int
    icc: str | None
    exif_orientation: int | None


@dataclass(frozen=True)
class SampleCollection:
    """The generated files: scans in `root`, and the inventory sheet describing the objects.

    `charts` are the capture sessions' reference shots (an object beside a ColorChecker), in
    `root` too, listed apart: they are what the sessions are scored from, not plain scans.
    """

    root: Path
    scans: list[SampleScan]
    inventory_csv: Path
    charts: list[SampleScan] = field(default_factory=list)


@dataclass(frozen=True)
class _ChartShot:
    """An object photographed beside the colour chart: the first shot of a capture session."""

    artefact: int  # index in ARTEFACTS
    format: str
    cast: tuple[float, float, float]  # gains on linear Adobe RGB: the light's colour


# Two capture sessions: the TIFFs (Phase One, tethered: no DateTimeOriginal, so the batch folder
# is their session) under accurate light, and the Canon's JPEGs (one morning) under a warm lamp
# the white balance did not catch, which fails and which `session.correct = true` corrects.
_CHART_SHOTS: tuple[_ChartShot, ...] = (
    _ChartShot(2, "TIFF", (1.0, 1.0, 1.0)),
    _ChartShot(1, JPEG, (1.15, 1.0, 0.78)),
)


def generate_collection(
    out_dir: Path,
    *,
    seed: int = 20251127,
    size: int = 1600,
    only: Collection[str] | None = None,
) -> SampleCollection:
    """Write the sample scans and `inventory.csv` into `out_dir`; return what was written.

    `size` is the long edge of every image in pixels (images are 4:3). The same seed and size
    always give byte-identical files. `only` (accession numbers) renders just those objects'
    scans and chart shots, each byte-identical to its file in the whole collection; the
    inventory stays whole.
    """
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for index, artefact in enumerate(ARTEFACTS):
        if only is not None and artefact.accession not in only:
            continue
        seqs: dict[str, int] = {}
        for shot in artefact.shots:
            seqs[shot.view] = seqs.get(shot.view, 0) + 1
            jobs.append((index, artefact, shot, seqs[shot.view]))
    # Each scan draws from its own seeded generators, so the order threads finish in is moot.
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        scans = list(pool.map(lambda job: _write_scan(out_dir, seed, size, *job), jobs))
        shots = [c for c in _CHART_SHOTS if only is None or ARTEFACTS[c.artefact].accession in only]
        charts = list(pool.map(lambda chart: _write_chart(out_dir, seed, size, chart), shots))
    inventory = out_dir / "inventory.csv"
    _write_inventory(inventory)
    return SampleCollection(root=out_dir, scans=scans, inventory_csv=inventory, charts=charts)


def to_file_accession(accession: str) -> str:
    """The accession as file names spell it: "/" and spaces become "-"."""
    return accession.replace("/", "-").replace(" ", "-")


def _write_scan(
    out_dir: Path, seed: int, size: int, index: int, artefact: Artefact, shot: Shot, seq: int
) -> SampleScan:
    rng = np.random.default_rng([seed, index])
    image = render_artefact(
        artefact.kind,
        size=frame_size(artefact.kind, size),
        view=shot.view,
        rng=rng,
        palette=artefact.palette,
        shot=seq - 1,
    )
    view_word = VIEW_WORDS_VI[shot.view] if artefact.vietnamese_views else shot.view
    extension = "jpg" if shot.format == JPEG else "tif"
    name = f"{to_file_accession(artefact.accession)}_{view_word}_{seq}.{extension}"
    name = unicodedata.normalize("NFD" if artefact.vietnamese_views else "NFC", name)
    path = out_dir / name
    # The Canon's JPEGs were shot in one morning (one capture session, its chart at 08:00).
    minutes = 10 + 5 * index + seq
    taken = f"2024:03:12 {8 + minutes // 60:02d}:{minutes % 60:02d}:{(13 * seq) % 60:02d}"
    if shot.format == JPEG:
        _write_jpeg(path, image, shot, taken)
    else:
        _write_tiff(path, image, shot, taken)
    return SampleScan(
        path=path,
        accession=artefact.accession,
        view=shot.view,
        format=shot.format,
        bit_depth=shot.bit_depth,
        icc=shot.icc,
        exif_orientation=shot.orientation,
    )


def _write_chart(out_dir: Path, seed: int, size: int, chart: _ChartShot) -> SampleScan:
    # Here, not at the top: the chart renderer needs OpenCV, which nothing else here does.
    from pipeline.samples.render.chart import render_chart_shot

    artefact = ARTEFACTS[chart.artefact]
    width, height = frame_size(artefact.kind, size)
    image = render_artefact(
        artefact.kind,
        size=(width, height),
        view="front",
        rng=np.random.default_rng([seed, chart.artefact, 99]),
        palette=artefact.palette,
        shot=1,
    )
    rendered = render_chart_shot(
        (width, height),
        chart_width=0.26,
        centre=(0.83, 0.86),
        cast=chart.cast,
        noise=1.0,
        backdrop=image,
        seed=seed + chart.artefact,
    )
    seq = 1 + sum(shot.view == "front" for shot in artefact.shots)
    extension = "jpg" if chart.format == JPEG else "tif"
    path = out_dir / f"{to_file_accession(artefact.accession)}_front_{seq}.{extension}"
    if chart.format == JPEG:
        exif = _canon_exif("2024:03:12 08:00:00", None)
        Image.fromarray(rendered.pixels, "RGB").save(
            path, "JPEG", quality=92, exif=exif.tobytes(), icc_profile=rendered.icc
        )
    else:
        _write_phase_one_tiff(path, rendered.pixels, rendered.icc, "2024:03:11 08:00:00", False)
    return SampleScan(
        path=path,
        accession=artefact.accession,
        view="front",
        format=chart.format,
        bit_depth=8,
        icc=ADOBE_RGB,
        exif_orientation=None,
    )


def _canon_exif(taken: str, orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D Mark IV"
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x0131] = "sohoa sample generator"
    camera = exif.get_ifd(0x8769)
    camera[0x9003] = taken
    camera[0x9004] = taken
    return exif


def _write_jpeg(path: Path, image: np.ndarray, shot: Shot, taken: str) -> None:
    pixels = _to_uint8(image)
    if shot.orientation in _STORED_TURNS:
        pixels = np.ascontiguousarray(np.rot90(pixels, _STORED_TURNS[shot.orientation]))
    exif = _canon_exif(taken, shot.orientation)
    options: dict[str, object] = {"quality": 90, "exif": exif.tobytes()}
    if shot.icc == SRGB:
        options["icc_profile"] = make_srgb_profile()
    Image.fromarray(pixels, "RGB").save(path, "JPEG", **options)


def _write_tiff(path: Path, image: np.ndarray, shot: Shot, taken: str) -> None:
    if shot.bit_depth == 16:
        pixels = encode_adobe_rgb16(image)
        profile: bytes | None = make_adobe_rgb_profile()
    else:
        pixels = _to_uint8(image)
        profile = make_srgb_profile() if shot.icc == SRGB else None
    _write_phase_one_tiff(path, pixels, profile, taken, shot.deflate)


def _write_phase_one_tiff(
    path: Path, pixels: np.ndarray, profile: bytes | None, taken: str, deflate: bool
) -> None:
    tifffile.imwrite(
        path,
        pixels,
        photometric="rgb",
        compression="zlib" if deflate else None,
        predictor=deflate or None,
        iccprofile=profile,
        datetime=taken,
        software="sohoa sample generator",
        resolution=(300, 300),
        resolutionunit="INCH",
        metadata=None,
        extratags=[(271, "s", 0, "Phase One", True), (272, "s", 0, "IQ4 150MP", True)],
    )


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def inventory_rows() -> list[dict[str, str]]:
    """The inventory sheet's rows as column -> text, without writing a file or a scan (the
    search's relevance set is judged over them)."""
    columns = inventory_columns()
    return [dict(zip(columns, row, strict=True)) for row in _inventory_rows()]


def _inventory_rows() -> list[tuple[str, ...]]:
    return sorted([artefact.row for artefact in ARTEFACTS] + [UNPHOTOGRAPHED])


def _write_inventory(path: Path) -> None:
    rows = _inventory_rows()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(inventory_columns())
        writer.writerows(sorted(rows))
