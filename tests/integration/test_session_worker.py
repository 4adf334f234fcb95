"""Sessions scored by the workers themselves, whatever path a scan took in (the hot folder here,
`sohoa ingest` without --wait): a real worker process, Redis and SeaweedFS. The chart shot is
dropped last, so the scans already stored must inherit its score afterwards."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline.core.layout import SESSIONS_PREFIX
from pipeline.samples.render.chart import render_chart_shot
from tests.conftest import Stack
from tests.integration.test_watch import options, watching
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

CAMERA = ("Phase One", "IQ4 150MP", "SN-HOT-1")
WARM = (1.12, 1.0, 0.82)


def exif_of(when: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = CAMERA[0], CAMERA[1]
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = CAMERA[2]
    sub[0x9003] = when
    return exif


def object_shot(when: str, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(60, 200, (480, 640, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85, exif=exif_of(when))
    return buffer.getvalue()


def chart_shot(when: str) -> bytes:
    shot = render_chart_shot((1200, 900), chart_width=0.55, cast=WARM, noise=0.5)
    buffer = io.BytesIO()
    Image.fromarray(shot.pixels).save(
        buffer, "JPEG", quality=95, exif=exif_of(when), icc_profile=shot.icc
    )
    return buffer.getvalue()


def scan_colour(stack: Stack, slug: str) -> dict[str, Any] | None:
    """The colour in the (only) scan record of `slug`, once there is one."""
    keys = list(stack.store.list_keys(f"scans/{slug}/"))
    if len(keys) != 1:
        return None
    found = stack.store.read_json(keys[0])
    return found[0].get("session") if found else None


def view_colours(stack: Stack, slug: str) -> list[dict[str, Any] | None]:
    found = stack.store.read_json(f"records/{slug}.json")
    return [view.get("session") for view in found[0]["views"]] if found else []


def test_the_hot_folder_scores_sessions_and_a_late_chart_reaches_every_scan(
    stack: Stack, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    lines: list[str] = []
    objects = {"HS.1": "08:10", "HS.2": "08:20", "HS.3": "08:30"}
    with watching(stack, options(drop, poll=False), lines) as hot:
        for seed, (accession, at) in enumerate(objects.items()):
            (drop / f"{accession}_front_1.jpg").write_bytes(
                object_shot(f"2026:05:06 {at}:00", seed)
            )
        wait_until(lambda: hot.counts.stored == 3, "three object shots stored", timeout=90)
        # Scored without anyone waiting: no chart yet, so each says so.
        slugs = [a.lower() for a in objects]
        for slug in slugs:
            colour = wait_until(
                lambda s=slug: scan_colour(stack, s), f"{slug}'s colour", timeout=60
            )
            assert colour["level"] is None and colour["verdict"] == "warn"
            assert "No colour reference in this session" in colour["finding"]

        # The chart shot of the same camera, an hour later: the same session, shot last.
        (drop / "HS.9_target_1.jpg").write_bytes(chart_shot("2026:05:06 09:10:00"))
        wait_until(lambda: hot.counts.stored == 4, "the chart shot stored", timeout=90)

    chart = wait_until(lambda: scan_colour(stack, "hs.9"), "the chart's colour", timeout=60)
    chart_id = next(iter(stack.store.list_keys("scans/hs.9/"))).rsplit("/", 1)[1][:64]
    assert chart["reference_scan"] == chart_id and chart["inherited"] is False
    assert chart["level"] is not None and chart["level"] < 4 and chart["mean_delta_e"] > 2

    def inherited(slug: str) -> dict[str, Any] | None:
        colour = scan_colour(stack, slug)
        return colour if colour and colour.get("reference_scan") == chart_id else None

    for slug in slugs:
        colour = wait_until(lambda s=slug: inherited(s), f"{slug} to inherit the chart", timeout=60)
        assert colour["inherited"] is True and colour["level"] == chart["level"]
        assert colour["mean_delta_e"] == chart["mean_delta_e"]
        assert colour["session_id"] == chart["session_id"]
        assert chart_id[:12] in colour["finding"] and "hs.9" in colour["finding"]
        # ...and the public record, republished through the workers, says the same.
        published = wait_until(
            lambda s=slug: [c for c in view_colours(stack, s) if c and c["reference_scan"]],
            f"records/{slug}.json to show the chart's score",
            timeout=60,
        )
        assert published[0]["reference_scan"] == chart_id
        assert published[0]["level"] == chart["level"]

    summaries = [k for k in stack.store.list_keys(SESSIONS_PREFIX) if "/index/" not in k]
    assert len(summaries) == 1  # one camera, one session: the chart joined it
    summary = stack.store.read_json(summaries[0])
    assert summary is not None
    assert summary[0]["scans"] == 4 and summary[0]["reference_scan"] == chart_id
    assert CAMERA[2] not in str(summary[0])


def test_an_ingest_without_wait_is_scored_by_the_workers(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "shoot"
    folder.mkdir()
    (folder / "IW.1_front_1.jpg").write_bytes(object_shot("2026:05:07 10:00:00", 7))
    (folder / "IW.1_target_1.jpg").write_bytes(chart_shot("2026:05:07 10:05:00"))
    done = stack.sohoa("ingest", str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    keys = wait_until(
        lambda: (found := list(stack.store.list_keys("scans/iw.1/"))) and len(found) == 2 and found,
        "both scans stored",
        timeout=90,
    )
    ids = {k.rsplit("/", 1)[1][:64] for k in keys}

    def colours() -> list[dict[str, Any]] | None:
        got = [stack.store.read_json(k) for k in keys]
        found = [g[0].get("session") for g in got if g]
        return found if len(found) == 2 and all(c and c["reference_scan"] for c in found) else None

    both = wait_until(colours, "the ingest's scans scored", timeout=60)
    assert {c["reference_scan"] for c in both} <= ids
    assert sorted(c["inherited"] for c in both) == [False, True]
