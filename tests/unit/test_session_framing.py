"""Framing and scale from a located chart: the object's box without the chart, the access crop,
the size in millimetres against the inventory's dimensions, and the corrected access pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pipeline.core.chart import (
    ChartLocation,
    ChartMeasurement,
    ChartReport,
    apply_correction,
)
from pipeline.core.profile import (
    IiifSettings,
    ProcessingProfile,
    QualityThresholds,
    SessionSettings,
)
from pipeline.core.quality import assess_quality, assess_quality_with_chart
from pipeline.core.quality.model import Box
from pipeline.core.scan import prepare_scan
from pipeline.core.session.access import make_access
from pipeline.core.session.framing import (
    check_dimensions,
    crop_without_chart,
    frame_with_box,
    frame_with_chart,
    measure_object,
    object_box_without_chart,
    parse_dimensions,
)
from pipeline.samples.render import frame_size, render_artefact
from pipeline.samples.render.chart import encode_tiff, render_chart_shot


def located(centres: np.ndarray, pitch: float) -> ChartLocation:
    """A location as the detector gives it, from the renderer's known patch centres."""
    grid = centres.reshape(4, 6, 2)
    corner_centres = [grid[0, 0], grid[0, 5], grid[3, 5], grid[3, 0]]
    middle = grid.reshape(-1, 2).mean(axis=0)
    corners = [
        tuple(c + (c - middle) / np.linalg.norm(c - middle) * pitch * 0.7) for c in corner_centres
    ]
    return ChartLocation(
        centres=[tuple(map(float, c)) for c in centres],
        corners=[tuple(map(float, c)) for c in corners],
        pitch_px=pitch,
        angle=0.0,
        sample_px=4,
        in_frame=24,
        match=1.0,
    )


@pytest.fixture(scope="module")
def bowl() -> tuple[tuple[int, int], np.ndarray]:
    size = frame_size("bowl", 480)
    return size, render_artefact("bowl", size=size, view="front", rng=np.random.default_rng(5))


@pytest.fixture(scope="module")
def bowl_with_chart(bowl) -> tuple[np.ndarray, ChartLocation]:
    size, image = bowl
    shot = render_chart_shot(size, chart_width=0.26, centre=(0.83, 0.86), backdrop=image)
    return shot.pixels, located(shot.centres, shot.pitch_px)


def test_the_objects_box_leaves_the_chart_out_and_so_does_the_crop(bowl_with_chart) -> None:
    pixels, location = bowl_with_chart
    height, width = pixels.shape[:2]
    box = object_box_without_chart(pixels, location, QualityThresholds())
    assert box is not None
    xs = [c[0] for c in location.centres]
    ys = [c[1] for c in location.centres]
    # The bowl sits in the middle; the chart's patches are not inside its box.
    assert box.x + box.width < max(xs) or box.y + box.height < max(ys)
    assert box.width > width * 0.4
    crop = crop_without_chart(box, location, 0.05, (width, height))
    inside = [
        crop.x <= x < crop.x + crop.width and crop.y <= y < crop.y + crop.height
        for x, y in location.centres
    ]
    assert not any(inside)
    assert crop.x <= box.x and crop.y <= box.y  # the object is whole


def test_size_in_millimetres_and_the_inventorys_dimensions() -> None:
    assert parse_dimensions("Cao 42 cm; ĐK miệng 11 cm; ĐK đáy 14 cm") == (420.0, 140.0)
    assert parse_dimensions("Dài 120 mm, rộng 8,5 cm") == (None, 120.0)
    assert parse_dimensions("không rõ") == (None, None)
    measured = measure_object(Box(x=0, y=0, width=700, height=2100), pixels_per_mm=5.0)
    assert (measured.width_mm, measured.height_mm) == (140.0, 420.0)
    assert check_dimensions(measured, "Cao 42 cm; ĐK đáy 14 cm", 0.10) is None
    assert check_dimensions(measured, "Cao 45 cm", 0.10) is None  # within 10%
    warning = check_dimensions(measured, "Cao 50 cm; ĐK 14 cm", 0.10)
    assert warning is not None and "height 42.0 cm measured, 50.0 cm listed" in warning
    assert check_dimensions(measured, "", 0.10) is None


def test_access_images_get_the_matrix_and_the_crop_the_master_nothing() -> None:
    ys, xs = np.mgrid[0:120, 0:160]
    pixels = np.stack([60 + xs, 200 - ys, 90 + (xs + ys) // 4], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    data = buffer.getvalue()
    warm_fix = [[0.87, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.28]]
    profile = ProcessingProfile(iiif=IiifSettings(enabled=True, tile_size=128))
    derivatives, tiles = make_access(
        data, name="x.png", profile=profile, iiif_id="https://x/iiif/1", matrix=warm_fix,
        crop=Box(x=10, y=20, width=100, height=60),
    )  # fmt: skip
    access = next(d for d in derivatives if d.name == "access")
    assert (access.width, access.height) == (100, 60)
    decoded = np.asarray(Image.open(io.BytesIO(access.data)).convert("RGB"), dtype=float)
    expected = apply_correction(pixels, warm_fix)[20:80, 10:110].astype(float)
    assert np.abs(decoded - expected).mean() < 3  # JPEG's loss only
    assert np.abs(decoded - pixels[20:80, 10:110]).mean() > 5  # and the matrix did act
    assert tiles is not None and any(path == "info.json" for path, _ in tiles.files)
    plain, _ = make_access(
        data, name="x.png", profile=profile, iiif_id=None, matrix=None, crop=None
    )
    assert next(d for d in plain if d.name == "access").width == 160


def test_a_located_chart_frames_the_access_crop_and_measures_the_object(bowl_with_chart) -> None:
    pixels, location = bowl_with_chart
    thresholds = QualityThresholds()
    size, crop = frame_with_chart(
        pixels, location, 2.0, thresholds, exclude_chart=True, margin=0.05
    )
    box = object_box_without_chart(pixels, location, thresholds)
    assert size is not None and box is not None and crop is not None
    assert size.width_mm == round(box.width / 2.0, 1)
    # Without the option, no crop; without a chart, nothing.
    assert (
        frame_with_chart(pixels, location, 2.0, thresholds, exclude_chart=False, margin=0.05)[1]
        is None
    )
    assert frame_with_chart(pixels, None, None, thresholds, exclude_chart=True, margin=0.05) == (
        None,
        None,
    )


def test_the_quality_checks_find_the_same_box_without_the_chart_in_the_same_look(
    bowl_with_chart,
) -> None:
    """prepare_scan frames from the box the quality checks found (no second analysis copy):
    it is the box framing finds on its own, and the checks' own box still holds the chart."""
    pixels, location = bowl_with_chart
    thresholds = QualityThresholds()
    # Only the measurement's presence matters here (and the figure the finding shows).
    measurement = ChartMeasurement.model_construct(mean_delta_e=1.0)
    chart = ChartReport(
        found=True, charts=1, location=location, measurement=measurement, status="pass", message="."
    )
    report, box = assess_quality_with_chart(pixels, thresholds, chart=chart)
    assert box is not None and box == object_box_without_chart(pixels, location, thresholds)
    assert report.object_bbox is not None and report.object_bbox != box
    assert report == assess_quality(pixels, thresholds, chart=chart)
    height, width = pixels.shape[:2]
    assert frame_with_box(
        box, location, 2.0, (width, height), exclude_chart=True, margin=0.05
    ) == frame_with_chart(pixels, location, 2.0, thresholds, exclude_chart=True, margin=0.05)
    # No measured chart, no box.
    unmeasured = chart.model_copy(update={"measurement": None})
    assert assess_quality_with_chart(pixels, thresholds, chart=unmeasured)[1] is None


def test_a_scan_measures_its_chart_at_16_bits_and_its_access_image_leaves_it_out(bowl) -> None:
    size, image = bowl
    shot = render_chart_shot(
        size, chart_width=0.26, centre=(0.83, 0.86), backdrop=image, bit_depth=16
    )
    profile = ProcessingProfile(
        iiif=IiifSettings(enabled=False), session=SessionSettings(exclude_chart=True)
    )
    prepared = prepare_scan(
        encode_tiff(shot), name="A_front_1.tif", view="front", profile=profile, iiif_id=None
    )
    chart = prepared.chart
    assert chart is not None and chart.measurement is not None and chart.level == 4
    assert "16-bit" in chart.measurement.source
    access = next(d for d in prepared.derivatives if d.name == "access")
    assert (access.width, access.height) != size  # cropped: the chart left out
    assert (prepared.upright_width, prepared.upright_height) == size  # the scan itself is whole
    assert prepared.measured_size is not None
