"""Capture sessions in the bucket: scans stored in process (no worker: the service is the
subject) against the real SeaweedFS, then scored; the result does not depend on the order."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline.adapters.s3_store import S3Store
from pipeline.core.fixity import digest_bytes
from pipeline.core.layout import SESSION_INDEX_PREFIX, SESSIONS_PREFIX, scan_record_key
from pipeline.core.profile import IiifSettings, ProcessingProfile, SessionSettings
from pipeline.core.records import ScanRecord
from pipeline.samples.render.chart import encode_tiff, render_chart_shot
from pipeline.services.context import Context
from pipeline.services.correction import check_correction, remake_access
from pipeline.services.ingest import process_scan
from pipeline.services.models import ProcessScanTask
from pipeline.services.publish import publish_record, read_record
from pipeline.services.session import settle_sessions
from pipeline.services.session_scoring import open_session_marks, settle_groups, settle_scan
from tests.conftest import S3Server
from tests.support.stacks import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ctx(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    home = tmp_path_factory.mktemp("sessions")
    settings = make_settings(s3_server, "redis://127.0.0.1:1/0", home / "var")
    store = S3Store.from_settings(settings)
    store.ensure_bucket(settings.bucket)
    profile = ProcessingProfile(
        iiif=IiifSettings(enabled=False), session=SessionSettings(window_hours=4)
    )
    yield Context(settings=settings, profile=profile, store=store)


def shot(path: Path, *, camera: str | None, when: str | None, seed: int) -> Path:
    """A small JPEG, with the camera's make, model, serial and DateTimeOriginal if given."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(60, 200, (48, 64, 3), dtype=np.uint8)
    exif = Image.Exif()
    if camera is not None:
        exif[0x010F], exif[0x0110] = "Phase One", camera
        sub = exif.get_ifd(0x8769)
        sub[0xA431] = f"SN-{camera}"
        if when is not None:
            sub[0x9003] = when
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85, exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def test_sessions_group_score_and_republish_in_any_order(ctx: Context, tmp_path: Path) -> None:
    morning = tmp_path / "morning"
    morning.mkdir()
    bare = tmp_path / "bare"
    bare.mkdir()
    files = [
        shot(morning / "S.1_target_1.jpg", camera="IQ4", when="2026:03:04 08:00:00", seed=1),
        shot(morning / "S.1_front_1.jpg", camera="IQ4", when="2026:03:04 08:10:00", seed=2),
        shot(morning / "S.2_front_1.jpg", camera="IQ4", when="2026:03:04 09:30:00", seed=3),
        # Five hours later: a new session of the same camera, with no chart.
        shot(morning / "S.2_back_1.jpg", camera="IQ4", when="2026:03:04 14:31:00", seed=4),
        # No camera data: the batch folder is the session.
        shot(bare / "S.3_front_1.jpg", camera=None, when=None, seed=5),
        shot(bare / "S.3_back_1.jpg", camera=None, when=None, seed=6),
    ]
    results = [process_scan(ctx, ProcessScanTask(path=str(f))) for f in reversed(files)]
    assert {r.status for r in results} == {"stored"}, results
    groups = [r.session_group for r in results]
    assert len(set(groups)) == 2  # the camera, the folder
    keys = list(ctx.store.list_keys(SESSION_INDEX_PREFIX))
    assert len(keys) == 6 and sum(k.endswith(".r") for k in keys) == 1

    republished: list[str] = []
    outcome = settle_sessions(ctx, groups, republish=lambda objs: republished.extend(objs))
    assert len(outcome.sessions) == 3
    assert sorted(s.scans for s in outcome.sessions) == [1, 2, 3]
    # The target shot could not be measured (no chart in it): every session says what to do.
    assert all(s.verdict == "warn" and s.level is None for s in outcome.sessions)
    first = next(s for s in outcome.sessions if s.scans == 3)
    assert first.camera == "Phase One IQ4" and "could not be measured" in first.finding
    assert "SN-IQ4" not in str(outcome.sessions)  # never the serial number
    assert sorted(republished) == ["s.1", "s.2", "s.3"]
    summaries = [k for k in ctx.store.list_keys(SESSIONS_PREFIX) if "/index/" not in k]
    assert len(summaries) == 3

    by_id = {r.scan_id: r for r in results}
    front = next(r for r in results if r.name == "S.1_front_1.jpg")
    found = ctx.store.read_json(scan_record_key("s.1", str(front.scan_id)))
    assert found is not None
    colour = ScanRecord.model_validate(found[0]).session
    assert colour is not None and colour.session_id == first.session_id
    for slug in republished:
        publish_record(ctx, slug)
    record = read_record(ctx, "s.2")
    assert record is not None
    assert {v.session.session_id for v in record.views if v.session} == {
        s.session_id for s in outcome.sessions if s.objects == ["s.2"] or "s.2" in s.objects
    }
    # Scored again with nothing new: the same sessions, nothing rewritten, nothing republished.
    again = settle_sessions(ctx, groups)
    assert [s.session_id for s in again.sessions] == [s.session_id for s in outcome.sessions]
    assert again.changed_objects == []
    assert len(by_id) == 6


def test_a_correction_remakes_the_access_images_and_never_the_master(
    ctx: Context, tmp_path: Path
) -> None:
    path = shot(tmp_path / "C.1_front_1.jpg", camera="IQ4", when="2026:03:05 08:00:00", seed=9)
    result = process_scan(ctx, ProcessScanTask(path=str(path)))
    assert result.status == "stored"
    key = scan_record_key("c.1", str(result.scan_id))
    found = ctx.store.read_json(key)
    assert found is not None
    record = ScanRecord.model_validate(found[0])
    master_before = ctx.store.get_bytes(record.master.key)
    warm_fix = [[0.87, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.28]]
    remade = remake_access(ctx, record, warm_fix)
    assert remade is not None
    for name, ref in remade.derivatives.items():
        assert ref.sha256 != record.derivatives[name].sha256, name
        stored = ctx.store.get_bytes(ref.key)
        assert stored is not None and digest_bytes(stored[0]).sha256 == ref.sha256
    assert ctx.store.get_bytes(record.master.key) == master_before
    # Without the matrix, the images are as first made (deterministic encoding).
    undone = remake_access(ctx, record, None)
    assert undone is not None
    assert {n: r.sha256 for n, r in undone.derivatives.items()} == {
        n: r.sha256 for n, r in record.derivatives.items()
    }


def test_a_warm_chart_fails_its_session_and_its_correction_reaches_every_member(
    ctx: Context, tmp_path: Path
) -> None:
    """A folder session: a warm chart-only shot (`target`) and two objects shot under it."""
    correcting = Context(
        settings=ctx.settings,
        profile=ctx.profile.model_copy(update={"session": SessionSettings(correct=True)}),
        store=ctx.store,
    )
    warm = tmp_path / "warm"
    warm.mkdir()
    chart = render_chart_shot((640, 480), chart_width=0.6, cast=(1.15, 1.0, 0.78), noise=0.5)
    (warm / "W.1_target_1.tif").write_bytes(encode_tiff(chart))
    shot(warm / "W.2_front_1.jpg", camera=None, when=None, seed=11)
    shot(warm / "W.2_back_1.jpg", camera=None, when=None, seed=12)
    results = [
        process_scan(correcting, ProcessScanTask(path=str(p))) for p in sorted(warm.iterdir())
    ]
    assert {r.status for r in results} == {"stored"}, results
    before = {r.scan_id: _record(ctx, r.object, r.scan_id) for r in results}
    outcome = settle_sessions(correcting, [r.session_group for r in results])
    (session,) = outcome.sessions
    assert session.verdict == "fail" and session.level is not None and session.level <= 1
    ref = session.reference
    assert ref is not None and ref.mean_delta_e > 3 and len(ref.patches) == 24
    assert ref.mean_delta_e_corrected is not None
    assert ref.mean_delta_e_corrected < ref.mean_delta_e / 2  # the correction works on its chart
    chart_id = next(r.scan_id for r in results if r.name == "W.1_target_1.tif")
    assert session.reference_scan == chart_id
    for r in results:
        after = _record(ctx, r.object, r.scan_id)
        colour = after.session
        assert colour is not None and colour.corrected and colour.matrix == ref.matrix
        assert colour.inherited == (r.scan_id != chart_id)
        assert colour.reference_scan == chart_id and colour.level == session.level
        old = before[r.scan_id]
        assert after.derivatives["access"].sha256 != old.derivatives["access"].sha256
        assert after.master == old.master  # never the master
    assert sorted(outcome.changed_objects) == ["w.1", "w.2"]
    # What the demo prints: the chart measured again in its corrected access image.
    check = check_correction(ctx, session)
    assert check is not None and check.scan_id == chart_id
    assert check.before == ref.mean_delta_e and check.before_level == session.level
    assert check.after is not None and check.after < check.before / 2
    assert check.after_level is not None and check.after_level > session.level
    assert _record(ctx, "w.1", chart_id).master == before[chart_id].master  # nothing stored


def _record(ctx: Context, slug: str | None, scan_id: str | None) -> ScanRecord:
    found = ctx.store.read_json(scan_record_key(str(slug), str(scan_id)))
    assert found is not None
    return ScanRecord.model_validate(found[0])


def on_redis(ctx: Context, redis_url: str) -> Context:
    """The same store and profile, with the session marks in a Redis of the test's own."""
    return Context(
        settings=ctx.settings.model_copy(update={"redis_url": redis_url}),
        profile=ctx.profile,
        store=ctx.store,
    )


def test_a_scan_finding_its_group_busy_leaves_it_marked_for_the_scorer(
    ctx: Context, clean_redis: str, tmp_path: Path
) -> None:
    """The worker's path (services/session_scoring.py) against the real Redis: one scorer per
    group; a scan that finds the group taken is scored by whoever scores it next."""
    scored_ctx = on_redis(ctx, clean_redis)
    folder = tmp_path / "busy"
    folder.mkdir()
    chart = render_chart_shot((640, 480), chart_width=0.6, noise=0.5)
    (folder / "B.1_target_1.tif").write_bytes(encode_tiff(chart))
    shot(folder / "B.2_front_1.jpg", camera=None, when=None, seed=21)
    target, front = (
        process_scan(scored_ctx, ProcessScanTask(path=str(p))) for p in sorted(folder.iterdir())
    )
    group = str(target.session_group)
    assert front.session_group == group
    marks = open_session_marks(scored_ctx)
    republished: list[str] = []
    try:
        assert marks.acquire(group, "another scorer", 30)
        left = settle_scan(
            scored_ctx, marks, group, str(target.scan_id), owner="me", republish=republished.extend
        )
        assert left is None and marks.is_marked(group)
        assert _record(ctx, front.object, front.scan_id).session is None
        marks.release(group, "another scorer")
        # The next scan's scorer takes every mark: the chart shot's session is scored too.
        outcome = settle_scan(
            scored_ctx, marks, group, str(front.scan_id), owner="me", republish=republished.extend
        )
        assert outcome is not None and not marks.is_marked(group)
        (session,) = outcome.sessions
        assert session.reference_scan == target.scan_id and session.scans == 2
        colour = _record(ctx, front.object, front.scan_id).session
        assert colour is not None and colour.inherited and colour.reference_scan == target.scan_id
        assert sorted(republished) == ["b.1", "b.2"]
        # A report's scoring afterwards finds nothing to change.
        again = settle_groups(scored_ctx, marks, [group], owner="report", republish=print)
        assert again.changed_objects == [] and [s.session_id for s in again.sessions] == [
            session.session_id
        ]
    finally:
        marks.close()


def test_a_scan_joining_a_session_is_scored_alone_not_with_every_member(
    ctx: Context, clean_redis: str, tmp_path: Path
) -> None:
    """The worker's scoring after each stored scan costs the same few requests however large
    the session: reading every member's record (and, in a session without a chart, rewriting
    and republishing every one) made a session of n scans cost n²/2. Counted on the boto3
    client of the real store, not timed."""
    scored_ctx = on_redis(ctx, clean_redis)
    requests: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        requests[model.name] += 1

    ctx.store.client.meta.events.register("before-call.s3", count)
    marks = open_session_marks(scored_ctx)
    try:
        for charted in (True, False):
            folder = tmp_path / ("charted" if charted else "plain")
            folder.mkdir()
            if charted:
                chart = render_chart_shot((640, 480), chart_width=0.6, noise=0.5)
                (folder / "J.0_target_1.tif").write_bytes(encode_tiff(chart))
            for n in range(1, 9):
                shot(folder / f"J.{n}_front_{int(charted)}.jpg", camera=None, when=None, seed=n)
            reads, writes, republished_each = [], [], []
            stored = []
            for path in sorted(folder.iterdir()):
                result = process_scan(scored_ctx, ProcessScanTask(path=str(path)))
                assert result.status == "stored", result
                stored.append(result)
                republished: list[str] = []
                before = Counter(requests)
                settle_scan(
                    scored_ctx,
                    marks,
                    str(result.session_group),
                    str(result.scan_id),
                    owner="me",
                    republish=republished.extend,
                )
                used = requests - before
                reads.append(used["GetObject"])
                writes.append(used["PutObject"])
                republished_each.append(republished)
            # The same requests for the 9th scan as for the 3rd: none per member.
            assert reads[2:] == [reads[2]] * len(reads[2:]), reads
            assert writes[2:] == [writes[2]] * len(writes[2:]), writes
            assert max(reads) <= 6 and max(writes) <= 3, (reads, writes)
            # Only the scan that joined changed: its own object is republished, no other.
            assert [len(r) for r in republished_each[1:]] == [1] * (len(stored) - 1)
            # Every member holds its colour: a report's full scoring changes nothing.
            group = str(stored[0].session_group)
            again = settle_groups(scored_ctx, marks, [group], owner="report", republish=print)
            assert again.changed_objects == []
            (session,) = again.sessions
            assert session.scans == len(stored)
            for result in stored:
                colour = _record(ctx, result.object, result.scan_id).session
                assert colour is not None and colour.session_id == session.session_id
                assert colour.reference_scan == (stored[0].scan_id if charted else None)
    finally:
        ctx.store.client.meta.events.unregister("before-call.s3", count)
        marks.close()


def test_a_scan_bridging_two_sessions_gives_every_member_the_merged_session(
    ctx: Context, clean_redis: str, tmp_path: Path
) -> None:
    """Incremental scoring meets a merge: a scan shot between two sessions of one camera (each
    gap within the window) makes them one, whose id is the earlier one's; the later session's
    members must be scored again although the merged session's basis is the one known."""
    scored_ctx = on_redis(ctx, clean_redis)
    folder = tmp_path / "bridge"
    folder.mkdir()
    marks = open_session_marks(scored_ctx)
    try:
        stored = {}
        for name, when in (
            ("M.1_front_1.jpg", "2026:03:06 08:00:00"),
            ("M.2_front_1.jpg", "2026:03:06 08:30:00"),
            ("M.3_front_1.jpg", "2026:03:06 14:00:00"),  # 5.5 h later: a session of its own
            ("M.4_front_1.jpg", "2026:03:06 11:15:00"),  # within 4 h of both: one session
        ):
            path = shot(folder / name, camera="XF", when=when, seed=len(stored) + 31)
            result = process_scan(scored_ctx, ProcessScanTask(path=str(path)))
            assert result.status == "stored", result
            stored[name] = result
            outcome = settle_scan(
                scored_ctx,
                marks,
                str(result.session_group),
                str(result.scan_id),
                owner="me",
                republish=print,
            )
            assert outcome is not None
            if name == "M.3_front_1.jpg":
                assert len(outcome.sessions) == 1 and outcome.sessions[0].scans == 1
        (merged,) = outcome.sessions
        assert merged.scans == 4
        for result in stored.values():
            colour = _record(ctx, result.object, result.scan_id).session
            assert colour is not None and colour.session_id == merged.session_id, result.name
        summaries = list(ctx.store.list_keys(f"{SESSIONS_PREFIX}{merged.group}/"))
        assert summaries == [f"{SESSIONS_PREFIX}{merged.group}/{merged.session_id}.json"]
    finally:
        marks.close()
