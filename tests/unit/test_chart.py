"""The colour chart: found, measured through the scan's own profile, graded; on rendered shots."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from config.settings import SohoaSettings
from pipeline.cli.inspect import inspect_command
from pipeline.core.chart import (
    PATCH_NAMES,
    ChartReport,
    apply_correction,
    delta_e_2000,
    find_charts,
    fit_correction,
    lab_to_linear_srgb,
    linear_srgb_to_lab,
    read_chart,
    reference_lab,
)
from pipeline.core.imaging import decode_scan, to_upright_pixels
from pipeline.core.profile import ColourSettings, ProcessingProfile, QualityThresholds
from pipeline.core.quality import assess_quality
from pipeline.core.scan import read_scan_chart
from pipeline.samples.render import frame_size, render_artefact
from pipeline.samples.render.chart import ChartShot, encode_tiff, render_chart_shot

SETTINGS = ColourSettings()
SIZE = (960, 640)


@cache
def colour() -> Any:
    """colour-science, imported once (it warns about optional packages it does not need)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour as colour_science

    return colour_science


def through_pipeline(shot: ChartShot, name: str = "shot.tif") -> ChartReport:
    """The shot as a TIFF file, decoded and read as ingest reads a scan."""
    decoded = decode_scan(encode_tiff(shot), name=name, max_pixels=100_000_000)
    pixels, _ = to_upright_pixels(decoded)
    return read_scan_chart(decoded, pixels, ProcessingProfile())


# --- the reference and the arithmetic ---------------------------------------------------------


@pytest.mark.parametrize(
    ("edition", "key"),
    [
        ("after_2014", "ColorChecker24 - After November 2014"),
        ("before_2014", "ColorChecker24 - Before November 2014"),
    ],
)
def test_the_reference_values_are_colour_sciences(edition, key):
    cs = colour()
    chart = cs.CCS_COLOURCHECKERS[key]
    expected = cs.XYZ_to_Lab(cs.xyY_to_XYZ(np.array(list(chart.data.values()))), chart.illuminant)
    assert list(chart.data.keys()) == list(PATCH_NAMES)
    np.testing.assert_allclose(reference_lab(edition), expected, atol=1e-3)


def test_ciede2000_agrees_with_colour_science():
    rng = np.random.default_rng(7)
    a = np.column_stack([rng.uniform(0, 100, 500), rng.uniform(-90, 90, (500, 2))])
    b = a + rng.normal(0, 6, a.shape)
    b[:50, 1:] = 0  # achromatic pairs take the formula's special branch
    np.testing.assert_allclose(
        delta_e_2000(a, b), colour().delta_E(a, b, method="CIE 2000"), atol=1e-9
    )


def test_linear_srgb_and_lab_are_inverse():
    lab = reference_lab("after_2014")
    np.testing.assert_allclose(linear_srgb_to_lab(lab_to_linear_srgb(lab)), lab, atol=1e-9)


# --- measuring ---------------------------------------------------------------------------------


def test_reference_colours_through_adobe_rgb_decode_to_no_difference():
    report = through_pipeline(render_chart_shot(SIZE, bit_depth=16))
    assert report.measurement is not None
    assert report.measurement.mean_delta_e <= 0.05
    assert "16-bit" in report.measurement.source
    assert report.level == 4 and report.status == "pass"


def test_an_8_bit_noisy_shot_measures_within_half_a_delta_e():
    report = through_pipeline(render_chart_shot(SIZE, noise=2.0, angle=7))
    assert report.measurement is not None
    assert report.measurement.mean_delta_e <= 0.5
    assert "8-bit" in report.measurement.source


def test_a_known_cast_gives_the_delta_e_colour_science_computes():
    cast = (1.12, 1.0, 0.84)
    shot = render_chart_shot(SIZE, cast=cast, exposure=0.95, bit_depth=16)
    report = through_pipeline(shot)
    cs = colour()
    d50 = cs.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]
    xyz = cs.RGB_to_XYZ(
        shot.linear,
        cs.RGB_COLOURSPACES["Adobe RGB (1998)"],
        d50,
        chromatic_adaptation_transform="Bradford",
    )
    expected = cs.delta_E(reference_lab("after_2014"), cs.XYZ_to_Lab(xyz, d50), method="CIE 2000")
    assert report.measurement is not None
    measured = np.array([patch.delta_e for patch in report.measurement.patches])
    np.testing.assert_allclose(measured, expected, atol=0.3)
    assert abs(report.measurement.mean_delta_e - float(expected.mean())) <= 0.3
    assert report.measurement.mean_delta_e > 2  # the cast is there to be measured


def test_a_greyscale_scan_is_judged_on_lightness():
    report = through_pipeline(render_chart_shot(SIZE, grey=True, angle=-12, noise=1.0))
    assert report.measurement is not None and report.measurement.greyscale
    assert report.measurement.mean_delta_e <= 0.5
    assert report.status == "pass"


# --- finding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "width", "centre", "shadow"),
    [
        (0.0, 0.35, (0.5, 0.5), 0.0),
        (90.0, 0.3, (0.4, 0.5), 0.0),
        (180.0, 0.3, (0.6, 0.45), 0.0),
        (-37.0, 0.25, (0.3, 0.6), 0.0),
        (12.0, 0.06, (0.8, 0.2), 0.0),  # ~6% of the frame's width
        (23.0, 0.4, (0.5, 0.5), 0.5),  # a shadow across part of the chart
    ],
)
def test_charts_are_found_turned_scaled_and_shadowed(angle, width, centre, shadow):
    size = (1600, 1067) if width < 0.1 else SIZE
    shot = render_chart_shot(
        size, angle=angle, chart_width=width, centre=centre, shadow=shadow, noise=1.0
    )
    charts = find_charts(shot.pixels)
    assert len(charts) == 1
    located = np.array(charts[0].centres)
    assert np.abs(located - shot.centres).max() < 0.05 * shot.pitch_px + 1
    assert charts[0].complete
    assert abs((charts[0].angle - angle + 180) % 360 - 180) < 1.5


def test_a_chart_cut_by_the_frame_edge_is_a_finding_not_a_measurement():
    report = read_chart(render_chart_shot(SIZE, centre=(0.97, 0.5)).pixels, SETTINGS)
    assert report.found and report.problem == "cut_by_edge"
    assert report.measurement is None and report.status == "warn"
    assert "cut by the frame's edge" in report.message and "frame the whole chart" in report.message


def test_two_charts_are_counted_and_the_larger_measured():
    left = render_chart_shot((1600, 800), centre=(0.25, 0.5), chart_width=0.3)
    right = render_chart_shot((1600, 800), centre=(0.75, 0.5), chart_width=0.2)
    pixels = left.pixels.copy()
    pixels[:, 800:] = right.pixels[:, 800:]
    report = read_chart(pixels, SETTINGS, icc=left.icc)
    assert report.charts == 2 and report.problem == "several"
    assert report.location is not None and abs(report.location.pitch_px - left.pitch_px) < 1
    assert report.status == "warn" and "2 charts in the frame" in report.message


def test_a_chart_its_profile_cannot_decode_is_a_finding_not_an_error():
    shot = render_chart_shot(SIZE)
    report = read_chart(shot.pixels, SETTINGS, icc=b"not a profile" * 20)
    assert report.found and report.problem == "unreadable" and report.status == "warn"
    assert report.measurement is None and "colour profile embedded" in report.message


def test_a_frame_without_a_chart_has_no_colour_finding():
    report = read_chart(np.full((400, 600, 3), 128, np.uint8), SETTINGS)
    assert not report.found and report.problem == "none_found"
    quality = assess_quality(
        np.full((400, 600, 3), 128, np.uint8), QualityThresholds(), chart=report
    )
    assert "colour_chart" not in {finding.check for finding in quality.findings}


@pytest.mark.parametrize(
    ("kind", "palette", "view"),
    [
        ("lacquer_box", "lacquer", "top"),
        ("lacquer_box", "enamel", "front"),
        ("plate", "blue_white", "front"),
        ("textile", "silk", "front"),
    ],
)
def test_the_sample_collections_objects_are_not_charts(kind, palette, view):
    # Patterned and lacquered objects: tiles, bands, motifs. (195 scenes, every kind with five
    # palettes and three views, found no chart when the detector was tuned; these four stay.)
    rng = np.random.default_rng(13)
    photo = render_artefact(kind, size=frame_size(kind, 800), view=view, rng=rng, palette=palette)
    pixels = np.clip(photo * 255 + 0.5, 0, 255).astype(np.uint8)
    assert find_charts(pixels) == []


def test_a_grid_of_random_tiles_is_not_a_chart():
    rng = np.random.default_rng(3)
    pixels = np.full((640, 960, 3), 40, np.uint8)
    for row in range(4):
        for column in range(6):
            y, x = 150 + row * 90, 200 + column * 90
            pixels[y : y + 76, x : x + 76] = rng.integers(0, 256, 3)
    assert find_charts(pixels) == []


# --- grading and correcting --------------------------------------------------------------------


def test_a_warm_cast_is_graded_and_named_with_its_remedy():
    report = through_pipeline(render_chart_shot(SIZE, cast=(1.18, 1.0, 0.8), bit_depth=16))
    assert report.measurement is not None
    assert report.measurement.neutral_b > 3
    assert report.level is not None and report.level <= 2
    assert report.status in ("warn", "fail")
    assert "warm cast" in report.message and "check the white balance" in report.message
    assert f"mean ΔE2000 {report.measurement.mean_delta_e:.1f}" in report.message


def test_underexposure_is_named_on_the_neutral_patches():
    report = through_pipeline(render_chart_shot(SIZE, exposure=0.6, bit_depth=16))
    assert report.measurement is not None and report.measurement.neutral_l_error < -3
    assert "too dark" in report.message and "check the exposure" in report.message


def test_a_chart_both_warm_and_dark_is_one_finding_naming_both_remedies():
    """Two ways off (white balance and exposure) make one sentence, and the frame's rough
    backdrop-cast and luminance checks defer to the chart instead of saying it again."""
    shot = render_chart_shot(SIZE, cast=(1.15, 1.0, 0.8), exposure=0.55, noise=0.5)
    report = read_chart(shot.pixels, SETTINGS, icc=shot.icc)
    assert report.measurement is not None and report.status == "fail"
    assert report.measurement.neutral_b > 3 and report.measurement.neutral_l_error < -3
    message = report.message
    assert message.count("check ") == 1 and message.count("ΔE2000") == 1
    assert "warm cast" in message and "L* too dark" in message
    assert message.endswith("check the white balance and the exposure.")
    quality = assess_quality(shot.pixels, QualityThresholds(), chart=report)
    by_check = {f.check: f for f in quality.findings}
    about_light = [f for f in quality.findings if f.check in ("colour_cast", "exposure")]
    assert {f.status for f in about_light} == {"pass"}, about_light
    assert by_check["colour_chart"].status == "fail"
    assert by_check["colour_cast"].value is not None  # the backdrop's figure is still reported
    assert "colour_chart" in by_check["colour_cast"].message
    assert "colour_chart" in by_check["exposure"].message
    # Without a measured chart the backdrop judges the white balance, as before.
    alone = assess_quality(shot.pixels, QualityThresholds())
    assert {f.check: f for f in alone.findings}["colour_cast"].status != "pass"


def test_the_profile_levels_decide_the_stars():
    shot = render_chart_shot(SIZE, cast=(1.1, 1.0, 0.9), bit_depth=16)
    strict = ColourSettings(levels=(0.1, 0.2, 0.3, 0.4))
    report = read_chart(shot.pixels, strict, icc=shot.icc)
    assert report.level == 0 and report.status == "fail"


def test_the_correction_matrix_keeps_white_and_lowers_the_delta_e():
    report = through_pipeline(render_chart_shot(SIZE, cast=(1.15, 1.0, 0.82), bit_depth=16))
    assert report.measurement is not None
    correction = fit_correction(report.measurement)
    assert correction.mean_delta_e_after < correction.mean_delta_e_before / 3
    assert correction.mean_delta_e_after < 1.5
    measured = lab_to_linear_srgb(np.array([p.measured for p in report.measurement.patches]))
    wanted = lab_to_linear_srgb(reference_lab("after_2014"))
    anchor = slice(18, 22)
    np.testing.assert_allclose(
        np.asarray(correction.matrix) @ measured[anchor].mean(axis=0),
        wanted[anchor].mean(axis=0),
        atol=1e-5,
    )
    grey = np.full((2, 2, 3), 128, np.uint8)
    assert apply_correction(grey, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]).tolist() == grey.tolist()


def test_the_chart_gives_the_scale_in_pixels_per_millimetre():
    shot = render_chart_shot(SIZE, chart_width=0.4)
    report = read_chart(shot.pixels, SETTINGS, icc=shot.icc)
    assert report.pixels_per_mm == pytest.approx(shot.pitch_px / SETTINGS.patch_pitch_mm, rel=0.01)


def test_the_finding_joins_the_scans_quality_report():
    shot = render_chart_shot(SIZE, cast=(1.18, 1.0, 0.8))
    report = read_chart(shot.pixels, SETTINGS, icc=shot.icc)
    quality = assess_quality(shot.pixels, QualityThresholds(), chart=report)
    finding = next(f for f in quality.findings if f.check == "colour_chart")
    assert finding.status == report.status and finding.message == report.message
    assert report.measurement is not None and finding.value == report.measurement.mean_delta_e


# --- sohoa inspect -----------------------------------------------------------------------------


def test_inspect_prints_the_colour_report_and_json_has_the_figures(tmp_path: Path):
    path = tmp_path / "BTCVH.0001_front_1.tif"
    path.write_bytes(encode_tiff(render_chart_shot(SIZE, cast=(1.18, 1.0, 0.8), bit_depth=16)))
    settings = SohoaSettings(_env_file=None, var_dir=tmp_path / "var")
    shown = CliRunner().invoke(inspect_command, [str(path)], obj={"settings": settings})
    assert "Colour chart" in shown.output and "warm cast" in shown.output
    assert "dark skin" in shown.output
    as_json = CliRunner().invoke(inspect_command, [str(path), "--json"], obj={"settings": settings})
    colour_report = json.loads(as_json.output)["colour"]
    assert colour_report["found"] and colour_report["level"] <= 2
    assert len(colour_report["measurement"]["patches"]) == 24
    assert colour_report["measurement"]["mean_delta_e"] > 2
