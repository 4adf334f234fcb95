"""Input faults against real SeaweedFS, Redis and one worker process: a quarantine folder that
refuses the copy, links and other non-regular files in the drop folder, hostile names in the
watcher's lines, and different bytes under a name already stored."""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from pipeline.core.profile import NamingSettings
from pipeline.errors import NameConflictError
from pipeline.services import ingest
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask
from pipeline.services.views import claim_view
from pipeline.services.watch import HotFolder, WatchOptions
from tests.conftest import QUEUE_PREFIX, S3Server, Stack
from tests.support.stacks import running_stack
from tests.support.wait import wait_until
from tests.unit.images import encode, gradient_rgb
from workers.app import configure_app
from workers.client import ScanProducer

pytestmark = pytest.mark.integration

PASSWD = Path("/etc/passwd").read_bytes()


def jpeg(seed: int) -> bytes:
    return encode(gradient_rgb(96, 64, seed=seed), "JPEG", quality=90)


@pytest.fixture(scope="module")
def input_stack(
    s3_server: S3Server, redis_base: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One bucket and one worker for the module; each test uses objects of its own."""
    client = redis.Redis.from_url(redis_base)
    home = tmp_path_factory.mktemp("input")
    try:
        with running_stack(s3_server, redis_base, home) as built:
            yield built
    finally:
        for key in client.scan_iter(match=f"*{QUEUE_PREFIX}*"):
            client.delete(key)
        client.close()


@pytest.fixture()
def ctx(input_stack: Stack, tmp_path: Path) -> Context:
    """The services in this process, on the stack's bucket, quarantining under tmp_path."""
    settings = input_stack.settings.model_copy(update={"quarantine_dir": tmp_path / "q"})
    return Context.from_settings(settings)


def process(ctx: Context, path: Path, batch_id: str = "input") -> dict:
    return ingest.process_scan(ctx, ProcessScanTask(path=str(path), batch_id=batch_id)).model_dump()


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- the quarantine folder refuses the copy ---------------------------------------------------


@pytest.mark.parametrize("blocked", ["batch-folder-is-a-file", "reason-name-is-a-folder"])
def test_a_quarantine_folder_that_refuses_the_copy_ends_as_a_failed_outcome(
    ctx: Context, tmp_path: Path, blocked: str
) -> None:
    """Fault: a rejected file's quarantine copy fails: the batch's quarantine folder is a file
    (mkdir fails, as on a read-only or full disk), or its reason cannot be renamed into place
    after the copy was made.
    Outcome: a failed outcome, QUARANTINE_UNAVAILABLE, whose message names the file, its
    rejection, the folder and the remedy, never a raw OSError text; nothing half-written is
    left in the quarantine folder (no .part, no empty .reason.json, no copy without reason).
    """
    drop = tmp_path / "drop"
    drop.mkdir()
    bad = drop / "QUA.1_front_1.jpg"
    bad.write_bytes(b"not an image at all")
    quarantine = tmp_path / "q"
    quarantine.mkdir()
    if blocked == "batch-folder-is-a-file":
        (quarantine / "input").write_text("a file where the batch's folder should be")
    else:
        (quarantine / "input" / "QUA.1_front_1.jpg.reason.json").mkdir(parents=True)
    before = leftovers(quarantine)

    result = process(ctx, bad)
    assert result["status"] == "failed" and result["code"] == "QUARANTINE_UNAVAILABLE", result
    message = result["message"]
    assert "'QUA.1_front_1.jpg'" in message and "NOT_AN_IMAGE" in message
    assert str(quarantine) in message and "drop the file again" in message
    assert "Errno" not in message
    assert leftovers(quarantine) == before
    assert bad.read_bytes() == b"not an image at all"


def test_a_name_too_long_for_its_reason_is_quarantined_under_a_shorter_one(
    ctx: Context, tmp_path: Path
) -> None:
    """Fault: a rejected file whose name is 250 bytes (legal in the drop folder), too long
    for `NAME.reason.json` (ENAMETOOLONG).
    Outcome: quarantined all the same, under a name cut to fit (extension kept, ending in a
    hash of the whole name); its reason keeps the whole name and validates.
    """
    name = "QUA.2-" + "đ" * 116 + "_front_1.jpg"  # 250 bytes in UTF-8
    assert len(name.encode()) == 250
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / name).write_bytes(b"not an image")
    result = process(ctx, drop / name)
    assert result["status"] == "quarantined" and result["code"] == "NOT_AN_IMAGE", result
    copy = Path(result["quarantine_path"])
    assert copy.read_bytes() == b"not an image" and copy.suffix == ".jpg"
    assert len(copy.name.encode()) + len(".reason.json.part") <= 255
    reason = json.loads(Path(f"{copy}.reason.json").read_text("utf-8"))
    assert reason["name"] == name and reason["code"] == "NOT_AN_IMAGE"
    assert not list(copy.parent.glob("*.part"))


def test_the_batch_ends_and_names_the_file_when_the_worker_cannot_quarantine(
    input_stack: Stack, tmp_path: Path
) -> None:
    """Fault: through a real worker, a batch and an ingest each hold a bad file whose
    quarantine copy fails (the batch's quarantine folder is a file).
    Outcome: `sohoa batch` ends (exit 1) with QUARANTINE_UNAVAILABLE naming the file, the good
    scan stored; `sohoa status BATCH` counts it failed; `ingest --wait` names the file too.
    """
    quarantine = input_stack.settings.quarantine_path
    quarantine.mkdir(parents=True, exist_ok=True)
    folder = tmp_path / "night"
    folder.mkdir()
    (folder / "QUB.1_front_1.jpg").write_bytes(jpeg(1))
    (folder / "QUB.1_back_1.jpg").write_bytes(b"truncated nothing")
    for batch_id in ("qu-batch", "qu-ingest"):
        (quarantine / batch_id).write_text("not a folder")

    ran = input_stack.sohoa("batch", str(folder), "--batch-id", "qu-batch")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "QUARANTINE_UNAVAILABLE" in ran.stdout and "'QUB.1_back_1.jpg'" in ran.stdout
    assert "1 stored" in ran.stdout and "failed: 1" in ran.stdout
    status = json.loads(input_stack.sohoa("status", "qu-batch", "--json").stdout)
    assert (status["stored"], status["failed"], status["remaining"]) == (1, 1, 0)

    waited = input_stack.sohoa(
        "ingest", str(folder / "QUB.1_back_1.jpg"), "--wait", "--batch-id", "qu-ingest"
    )
    assert waited.returncode == 1
    assert "QUARANTINE_UNAVAILABLE" in waited.stdout and "'QUB.1_back_1.jpg'" in waited.stdout
    assert not list(quarantine.rglob("*.part"))


# --- nothing outside the drop folder ------------------------------------------------------------


def test_a_worker_handed_a_link_or_a_fifo_reads_nothing_and_copies_nothing(
    ctx: Context, tmp_path: Path
) -> None:
    """Fault: the worker is handed (a task names it directly) a link named like a scan to
    /etc/passwd, a link to an image outside the drop folder, a link to a folder, a FIFO.
    Outcome: each is quarantined as NOT_REGULAR_FILE with its reason alone: nothing is read
    through the link (no byte of /etc/passwd in the quarantine folder), nothing is stored in
    the bucket, and the FIFO never blocks the worker.
    """
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "LNK.9_front_1.jpg").write_bytes(jpeg(9))
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "LNK.1_front_1.tif").symlink_to("/etc/passwd")
    (drop / "LNK.2_front_1.jpg").symlink_to(outside / "LNK.9_front_1.jpg")
    (drop / "LNK.3_front_1.jpg").symlink_to(outside)
    os.mkfifo(drop / "LNK.4_front_1.jpg")
    for entry in sorted(drop.iterdir()):
        result = process(ctx, entry)
        assert result["status"] == "quarantined", result
        assert result["code"] == "NOT_REGULAR_FILE" and repr(entry.name) in result["message"]
        assert not Path(result["quarantine_path"]).exists()
        reason = Path(result["quarantine_path"] + ".reason.json")
        assert json.loads(reason.read_text("utf-8"))["code"] == "NOT_REGULAR_FILE"
    for path in (tmp_path / "q").rglob("*"):
        assert not path.is_file() or PASSWD not in path.read_bytes()
    for slug in ("lnk.1", "lnk.2", "lnk.3", "lnk.4"):
        assert list(ctx.store.list_keys(f"masters/{slug}/")) == []


def test_ingest_and_watch_skip_links_with_a_line_and_escape_hostile_names(
    input_stack: Stack, tmp_path: Path
) -> None:
    """Fault: a drop folder holding a link to /etc/passwd and one to another image, both named
    like scans, a dangling link, a real scan, and a file whose name holds a newline that
    would forge a 'stored' line.
    Outcome: `sohoa ingest` and the watcher skip every link with a line saying so, once, and
    send only the regular files; no watcher line holds a raw newline (the name is escaped).
    """
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "WAT.1_front_1.jpg").write_bytes(jpeg(21))
    forged = "WAT.5_front_1.jpg\nstored WAT.6_front_1.jpg → done"
    (drop / forged).write_bytes(jpeg(22))
    (drop / "WAT.2_front_1.tif").symlink_to("/etc/passwd")
    (drop / "WAT.3_front_1.jpg").symlink_to(drop / "WAT.1_front_1.jpg")
    (drop / "WAT.4_front_1.jpg").symlink_to(tmp_path / "gone.jpg")
    links = ("WAT.2_front_1.tif", "WAT.3_front_1.jpg", "WAT.4_front_1.jpg")

    ran = input_stack.sohoa("ingest", str(drop), "--wait")
    for name in links:
        assert f"skipped {name}: a symbolic link" in ran.stderr, ran.stderr
    assert "2 files queued" in ran.stdout and "1 stored" in ran.stdout, ran.stdout
    assert "BAD_NAME" in ran.stdout and "quarantined: 1" in ran.stdout  # the newline's name

    configure_app(input_stack.settings)
    lines: list[str] = []
    options = WatchOptions(folder=drop, stable_seconds=0, tick_seconds=0.1)
    hot = HotFolder(options, ScanProducer(interactive=True), say=lines.append)

    def settled() -> bool:
        hot.scan_once()
        return hot.counts.stored + hot.counts.quarantined == 2

    wait_until(settled, "the watcher to settle both files", timeout=60, interval=0.2)
    hot.scan_once()
    assert all("\n" not in line for line in lines), lines
    escaped = "WAT.5_front_1.jpg\\nstored WAT.6_front_1.jpg → done"
    assert f"took {escaped}" in lines
    assert any(line.startswith(f"quarantined {escaped}: BAD_NAME") for line in lines), lines
    assert "stored WAT.1_front_1.jpg → done/" in lines
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert sorted(skipped) == [
        f"skipped {name}: a symbolic link: links are never followed; copy the file itself "
        "into the folder"
        for name in links
    ]
    assert (drop / "WAT.2_front_1.tif").is_symlink() and hot.counts.taken == 2
    assert list(input_stack.store.list_keys("masters/wat.2/")) == []


# --- different bytes under one name ----------------------------------------------------------


def test_different_bytes_under_a_stored_name_are_a_name_conflict_naming_both(
    ctx: Context, tmp_path: Path
) -> None:
    """Fault: a view stored as 'Bình.1_front_1.jpg' (NFC), then other bytes under the same
    name in NFD (as macOS writes it), then other bytes under the very same name in a later
    batch.
    Outcome: each newcomer is quarantined as NAME_CONFLICT naming both files and the remedy;
    the artefact keeps one front #1 (one master); the first file dropped again is still
    'already there'.
    """
    nfc = unicodedata.normalize("NFC", "Bình.1_front_1.jpg")
    nfd = unicodedata.normalize("NFD", nfc)
    first, second, third = (tmp_path / d for d in ("a", "b", "c"))
    for folder, name, seed in ((first, nfc, 31), (second, nfd, 32), (third, nfc, 33)):
        folder.mkdir()
        (folder / name).write_bytes(jpeg(seed))
    stored = process(ctx, first / nfc, "day-1")
    assert stored["status"] == "stored", stored
    slug = stored["object"]

    for path, batch in ((second / nfd, "day-1"), (third / nfc, "day-2")):
        result = process(ctx, path, batch)
        assert result["status"] == "quarantined" and result["code"] == "NAME_CONFLICT", result
        assert repr(path.name) in result["message"] and repr(nfc) in result["message"]
        assert "rename this one to number 2" in result["message"]
    assert "another Unicode spelling" in process(ctx, second / nfd)["message"]
    assert len(list(ctx.store.list_keys(f"masters/{slug}/"))) == 1
    assert process(ctx, first / nfc)["already_stored"] is True

    # Scans stored before claims existed count too.
    ctx.store.delete(f"names/{slug}.json")
    assert process(ctx, third / nfc, "day-3")["code"] == "NAME_CONFLICT"


def test_a_claim_whose_scan_was_never_stored_frees_itself_after_the_time_limit(
    ctx: Context, tmp_path: Path
) -> None:
    """Fault: a worker claimed front #1 for other bytes and died before storing them (no scan
    record); a file under that name arrives later.
    Outcome: within the task's hard time limit the claim holds (NAME_CONFLICT: the claimant
    may still be storing); past it, the claim is stale and the newcomer is stored as #1.
    """
    path = tmp_path / "STALE.1_front_1.jpg"
    path.write_bytes(jpeg(51))
    ghost = {"scan_id": "0" * 64, "name": "STALE.1_front_1.jpg"}
    recent = datetime.now(UTC).isoformat(timespec="seconds")
    ctx.store.put_bytes(
        "names/stale.1.json",
        json.dumps({"front#1": {**ghost, "claimed_at": recent}}).encode(),
        content_type="application/json",
    )
    assert process(ctx, path)["code"] == "NAME_CONFLICT"
    old = (datetime.now(UTC) - timedelta(seconds=ctx.settings.task_time_limit + 5)).isoformat()
    ctx.store.put_bytes(
        "names/stale.1.json",
        json.dumps({"front#1": {**ghost, "claimed_at": old}}).encode(),
        content_type="application/json",
    )
    stored = process(ctx, path)
    assert stored["status"] == "stored", stored
    claims = ctx.store.read_json("names/stale.1.json")[0]
    assert claims["front#1"]["scan_id"] == stored["scan_id"]


def test_the_profile_may_number_a_conflicting_file_on_instead(ctx: Context, tmp_path: Path) -> None:
    """Fault: other bytes under a stored view's name, with the profile's
    naming.on_conflict = "next_seq".
    Outcome: stored as the next free number (front #2) with a warning on its scan naming the
    file that holds #1; never a second front #1.
    """
    ctx.profile = ctx.profile.model_copy(update={"naming": NamingSettings(on_conflict="next_seq")})
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, seed in ((one, 41), (two, 42)):
        folder.mkdir()
        (folder / "SEQ.1_front_1.jpg").write_bytes(jpeg(seed))
    first = process(ctx, one / "SEQ.1_front_1.jpg")
    second = process(ctx, two / "SEQ.1_front_1.jpg")
    assert first["status"] == second["status"] == "stored"
    scans = {
        r["scan_id"]: ctx.store.read_json(f"scans/seq.1/{r['scan_id']}.json")[0]
        for r in (first, second)
    }
    assert scans[first["scan_id"]]["seq"] == 1 and scans[second["scan_id"]]["seq"] == 2
    assert any("Stored as front #2" in w for w in scans[second["scan_id"]]["warnings"])


def test_two_workers_claiming_one_view_at_once_cannot_both_win(ctx: Context) -> None:
    """Fault: two workers store different bytes under one view and number at the same moment
    (NFC and NFD spellings side by side in one batch).
    Outcome: the claim is a compare-and-swap on one object in the bucket: exactly one wins,
    the other is NAME_CONFLICT.
    """
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def claim(n: int) -> None:
        start.wait()
        try:
            claim_view(ctx, "race.1", "front", 1, f"{n:064x}", f"RACE.1_front_1-{n}.jpg")
            outcomes.append("won")
        except NameConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
