"""Capture sessions: grouping by camera and time, the score members inherit, the chart's
figures as a session's reference, and the batch report's session section."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.api.dependency import to_filters
from pipeline.api.web.render import colour_row
from pipeline.core.catalogue import SearchQuery, to_index_document
from pipeline.core.chart import (
    PATCH_NAMES,
    ChartMeasurement,
    ChartReport,
    PatchMeasurement,
    delta_e_2000,
    lab_to_linear_srgb,
    linear_srgb_to_lab,
    reference_lab,
)
from pipeline.core.profile import SessionSettings
from pipeline.core.records import ViewEntry
from pipeline.core.report import render_html, render_json
from pipeline.core.session import (
    ReferenceScore,
    SessionColour,
    SessionMember,
    colour_basis,
    group_sessions,
    score_session,
    to_group,
    to_moment,
    to_reference_score,
)
from pipeline.core.session.swatch import render_sessions_html, to_srgb_hex
from pipeline.services.report import BatchInfo, build_report
from schemas import load_schema
from tests.unit.catalogue_sample import SHA, add, make_record, search

DAY = datetime(2026, 3, 4, 8, 0)
SETTINGS = SessionSettings()


def scan_id(n: int) -> str:
    return f"{n:064x}"


def member(
    n: int, minutes: float | None, *, group: str = "cA", reference: bool = False
) -> SessionMember:
    moment = DAY + timedelta(minutes=minutes) if minutes is not None else None
    return SessionMember(
        scan_id=scan_id(n), object=f"obj.{n}", group=group, moment=moment, reference=reference
    )


def score(level: int, mean: float, verdict: str = "pass") -> ReferenceScore:
    return ReferenceScore.model_validate(
        {"level": level, "verdict": verdict, "mean_delta_e": mean, "worst_patch": "cyan"}
    )


def test_a_camera_and_its_shot_time_make_the_group_else_the_batch_folder() -> None:
    moment = to_moment("2026-03-04T09:12:00+07:00")
    assert moment == datetime(2026, 3, 4, 2, 12)  # to UTC, naive
    assert to_moment("2026-03-04T09:12:00") == datetime(2026, 3, 4, 9, 12)
    assert to_moment("not a date") is None
    a = to_group(make="Nikon", model="Z7", serial="111", moment=moment, folder="/in/a")
    b = to_group(make="Nikon", model="Z7", serial="222", moment=moment, folder="/in/a")
    assert a[0] != b[0]  # two bodies of one model are two cameras
    assert a[0].startswith("c") and "111" not in a[0] and a[1] == moment
    # No camera data, or no time: the batch folder is the session, with no moment.
    folder = to_group(make=None, model=None, serial=None, moment=moment, folder="/in/a")
    assert folder[0].startswith("f") and folder[1] is None
    undated = to_group(make="Nikon", model="Z7", serial=None, moment=None, folder="/in/a")
    assert undated == folder


def test_a_gap_longer_than_the_window_starts_a_new_session_whatever_the_order() -> None:
    members = [member(1, 0), member(2, 30), member(3, 200), member(4, 200 + 4 * 60 + 1)]
    members.append(member(5, 10, group="cB"))
    shuffled = members[:]
    random.Random(3).shuffle(shuffled)
    sessions = group_sessions(members, window_hours=4)
    assert [[m.scan_id for m in s.members] for s in sessions] == [
        [scan_id(1), scan_id(2), scan_id(3)],
        [scan_id(4)],
        [scan_id(5)],
    ]
    again = group_sessions(shuffled, window_hours=4)
    assert [s.session_id for s in again] == [s.session_id for s in sessions]
    assert len({s.session_id for s in sessions}) == 3
    # A scan that bridges the gap merges the two sessions into one.
    assert len(group_sessions([*members, member(6, 200 + 120)], window_hours=4)) == 2


def test_members_inherit_the_nearest_chart_and_the_session_its_worst() -> None:
    members = [
        member(1, 0, reference=True),
        member(2, 20),
        member(3, 150),
        member(4, 170, reference=True),
    ]
    (session,) = group_sessions(members, window_hours=4)
    references = {scan_id(1): score(4, 1.2), scan_id(4): score(2, 4.6, "fail")}
    record, colours = score_session(session, references, SETTINGS, camera="Nikon Z7")
    assert record.level == 2 and record.verdict == "fail"
    assert record.reference_scan == scan_id(4)
    assert "the worst of 2 chart shots" in record.finding
    assert record.reference_scans == [scan_id(1), scan_id(4)]
    assert colours[scan_id(2)].reference_scan == scan_id(1)
    assert colours[scan_id(2)].level == 4 and colours[scan_id(2)].inherited
    assert "inherited from the chart shot of obj.1" in colours[scan_id(2)].finding
    assert colours[scan_id(3)].reference_scan == scan_id(4)
    assert colours[scan_id(1)].inherited is False and colours[scan_id(4)].inherited is False
    # Without `correct`, no matrix travels with the colour even when the chart has one.
    assert colours[scan_id(2)].corrected is False and colours[scan_id(2)].matrix is None


def test_a_session_without_a_chart_warns_or_fails_as_the_profile_says() -> None:
    (session,) = group_sessions([member(1, 0), member(2, 5)], window_hours=4)
    record, colours = score_session(session, {}, SETTINGS, camera="Nikon Z7")
    assert record.verdict == "warn" and record.level is None
    assert record.finding.startswith("No colour reference in this session (Nikon Z7, 2 scans")
    assert "shoot the colour chart" in record.finding
    assert colours[scan_id(2)].verdict == "warn" and colours[scan_id(2)].level is None
    strict = SessionSettings(require_reference=True)
    assert score_session(session, {}, strict)[0].verdict == "fail"
    # A target shot whose chart could not be measured says so.
    (targeted,) = group_sessions([member(1, 0, reference=True), member(2, 5)], window_hours=4)
    assert "could not be measured" in score_session(targeted, {}, SETTINGS)[0].finding


def test_a_member_keeps_its_colour_and_the_basis_stays_while_scans_join() -> None:
    """What makes a worker's scoring incremental: a scan joining a session changes its summary
    but no member's colour, and the basis says so; a new chart shot, a new first scan or other
    settings change the basis (then every member is scored again)."""
    references = {scan_id(1): score(3, 2.5)}
    for charted in (False, True):
        refs = references if charted else {}
        small = [member(1, 10, reference=charted), member(2, 20)]
        (before,) = group_sessions(small, window_hours=4)
        (after,) = group_sessions([*small, member(3, 60)], window_hours=4)
        summary, colours = score_session(before, refs, SETTINGS, camera="Nikon Z7")
        grown, grown_colours = score_session(after, refs, SETTINGS, camera="Nikon Z7")
        assert grown.scans == 3
        if not charted:
            assert grown.finding != summary.finding  # "2 scans" became "3 scans"
        assert {k: grown_colours[k] for k in colours} == colours
        basis = colour_basis(before, refs, SETTINGS, camera="Nikon Z7")
        assert colour_basis(after, refs, SETTINGS, camera="Nikon Z7") == basis
        (earlier,) = group_sessions([member(4, 0), *small], window_hours=4)
        assert colour_basis(earlier, refs, SETTINGS, camera="Nikon Z7") != basis
        strict = SessionSettings(require_reference=True, correct=True)
        assert colour_basis(before, refs, strict, camera="Nikon Z7") != basis
    (charted,) = group_sessions([member(1, 10, reference=True), member(2, 20)], window_hours=4)
    plain = colour_basis(charted, {}, SETTINGS)
    assert colour_basis(charted, references, SETTINGS) != plain
    assert colour_basis(charted, {scan_id(1): score(2, 4.5)}, SETTINGS) not in (
        plain,
        colour_basis(charted, references, SETTINGS),
    )


def chart_report(cast: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> ChartReport:
    """A measured chart: the reference through a gain on linear sRGB (1.1, 1, 0.85 is warm)."""
    reference = reference_lab("after_2014")
    measured = linear_srgb_to_lab(lab_to_linear_srgb(reference) * np.asarray(cast))
    delta = delta_e_2000(reference, measured)
    patches = [
        PatchMeasurement(
            index=i,
            name=PATCH_NAMES[i],
            reference=tuple(float(v) for v in reference[i]),
            measured=tuple(float(v) for v in measured[i]),
            delta_e=float(delta[i]),
        )
        for i in range(24)
    ]
    mean = float(delta.mean())
    measurement = ChartMeasurement(
        edition="after_2014",
        source="test",
        patches=patches,
        mean_delta_e=mean,
        max_delta_e=float(delta.max()),
        p90_delta_e=float(np.percentile(delta, 90)),
        worst_patch=PATCH_NAMES[int(delta.argmax())],
        neutral_l_error=0.0,
        neutral_a=float(measured[18:, 1].mean()),
        neutral_b=float(measured[18:, 2].mean()),
        greyscale=False,
    )
    level = 4 if mean <= 2 else 1
    return ChartReport(
        found=True,
        charts=1,
        measurement=measurement,
        level=level,
        status="pass" if level == 4 else "fail",
        message=f"mean ΔE2000 {mean:.1f}",
        pixels_per_mm=3.2,
    )


def test_a_warm_chart_scores_low_and_its_correction_lowers_the_mean() -> None:
    accurate = to_reference_score(chart_report())
    assert accurate is not None and accurate.level == 4 and accurate.mean_delta_e < 0.01
    warm = to_reference_score(chart_report((1.1, 1.0, 0.85)))
    assert warm is not None and warm.level == 1 and warm.verdict == "fail"
    assert warm.mean_delta_e > 3
    assert warm.matrix is not None and len(warm.matrix) == 3
    assert warm.mean_delta_e_corrected is not None
    assert warm.mean_delta_e_corrected < warm.mean_delta_e / 3
    assert len(warm.patches) == 24 and warm.pixels_per_mm == 3.2
    assert to_reference_score(ChartReport(found=False, charts=0, status="warn", message="")) is None
    # With `correct`, members carry the session's matrix and both means.
    (session,) = group_sessions([member(1, 0, reference=True), member(2, 5)], window_hours=4)
    _, colours = score_session(session, {scan_id(1): warm}, SessionSettings(correct=True))
    assert colours[scan_id(2)].corrected and colours[scan_id(2)].matrix == warm.matrix
    assert colours[scan_id(2)].mean_delta_e_corrected == warm.mean_delta_e_corrected


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fills: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "rect":
            self.fills.append(dict(attrs)["fill"] or "")


def test_the_report_shows_each_session_with_its_swatch_and_validates() -> None:
    assert to_srgb_hex((100.0, 0.0, 0.0)) == "#ffffff"
    assert to_srgb_hex((0.0, 0.0, 0.0)) == "#000000"
    warm = to_reference_score(chart_report((1.1, 1.0, 0.85)))
    (session,) = group_sessions([member(1, 0, reference=True), member(2, 5)], window_hours=4)
    record, _ = score_session(session, {scan_id(1): warm} if warm else {}, SETTINGS)
    (bare,) = group_sessions([member(7, 0, group="fX")], window_hours=4)
    lonely, _ = score_session(bare, {}, SETTINGS)
    html = render_sessions_html([record, lonely])
    parser = _Svg()
    parser.feed(html)
    # 24 patches, each a measured half and a reference half; the warm halves differ.
    assert len(parser.fills) == 48
    measured, reference = parser.fills[0::2], parser.fills[1::2]
    assert reference[18] == to_srgb_hex(tuple(reference_lab("after_2014")[18]))
    assert sum(m != r for m, r in zip(measured, reference, strict=True)) >= 20
    assert "1 star" in html and "no level" in html and "ΔE2000 per patch" in html
    started = datetime(2026, 3, 4, tzinfo=UTC)
    report = build_report([], BatchInfo("b1", started, started), [record, lonely])
    assert "Capture sessions (2)" in render_html(report).decode()
    data: dict[str, Any] = json.loads(render_json(report))
    jsonschema.Draft202012Validator(
        load_schema("report"), format_checker=jsonschema.FormatChecker()
    ).validate(data)
    assert data["sessions"][0]["reference"]["mean_delta_e_corrected"] is not None


def view_with(n: int, colour: SessionColour | None) -> ViewEntry:
    return ViewEntry.model_validate(
        {
            "scan_id": scan_id(n),
            "view": "front",
            "seq": n,
            "source_name": f"x_{n}.tif",
            "format": "TIFF",
            "width": 10,
            "height": 10,
            "bit_depth": 8,
            "pages": 1,
            "icc_profile": None,
            "master": {"bucket": "b", "key": "k", "sha256": SHA, "size": 1, "media_type": "x"},
            "derivatives": {},
            "session": colour.model_dump() if colour else None,
        }
    )


def colour(level: int | None, mean: float | None = None) -> SessionColour:
    return SessionColour(
        session_id="0" * 16,
        level=level,
        verdict="pass" if level == 4 else "warn",
        mean_delta_e=mean,
        inherited=True,
        finding="x",
    )


def test_the_catalogue_filters_by_the_lowest_colour_level_and_the_page_shows_it(
    tmp_path: Path,
) -> None:
    records = [
        make_record("L.1", name_vi="A", views=[view_with(1, colour(4, 1.1))]),
        make_record(
            "L.2", name_vi="B", views=[view_with(2, colour(4, 1.0)), view_with(3, colour(1, 6.2))]
        ),
        make_record("L.3", name_vi="C", views=[view_with(4, colour(None))]),
        make_record("L.4", name_vi="D", views=[view_with(5, None)]),
    ]
    index = SqliteIndex(tmp_path / "catalogue.sqlite3")
    try:
        add(index, *(to_index_document(r) for r in records))
        result = index.search(SearchQuery())
        assert {c.value: c.count for c in result.facets["colour_level"]} == {
            "4": 1, "1": 1, "none": 1,
        }  # fmt: skip
        assert search(index, filters={"colour_level": ["1", "none"]}) == ["L.2", "L.3"]
    finally:
        index.close()
    # The API's parameter is the facet's filter; the page's facts say the level in stars.
    assert to_filters(colour_level=["4"]) == {"colour_level": ["4"]}
    assert "★☆☆☆</span> 1/4 · ΔE2000 6.2" in colour_row(records[1])
    assert "no colour chart" in colour_row(records[2])
    assert colour_row(records[3]) == ""


def test_a_session_states_its_chart_figures_once_and_adds_the_charts_advice() -> None:
    (session,) = group_sessions([member(1, 0, reference=True), member(2, 10)], window_hours=4)
    graded = score(0, 8.0, "fail").model_copy(
        update={
            "finding": "Colour chart: mean ΔE2000 8.0 (0 stars); the neutral patches have a warm "
            "cast (a* +2, b* +9) and are 8 L* too dark: check the white balance and the exposure."
        }
    )
    record, colours = score_session(session, {scan_id(1): graded}, SETTINGS)
    assert record.finding.count("ΔE2000") == 1 and record.finding.count("check") == 1
    assert record.finding.startswith("below 1 star: mean ΔE2000 8.0, worst patch cyan")
    assert record.finding.endswith(
        "; the neutral patches have a warm cast (a* +2, b* +9) and "
        "are 8 L* too dark: check the white balance and the exposure."
    )
    assert colours[scan_id(1)].finding == graded.finding  # the chart shot keeps its own sentence
    # A chart that passed without a remark adds nothing.
    plain = score(4, 1.1).model_copy(update={"finding": "Colour chart: mean ΔE2000 1.1 (4 stars)."})
    alone = score_session(session, {scan_id(1): plain}, SETTINGS)[0]
    assert (
        alone.finding == "4 stars: mean ΔE2000 1.1, worst patch cyan, from the chart shot of obj.1."
    )
