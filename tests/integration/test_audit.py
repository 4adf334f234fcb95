"""Fixity: `sohoa audit` re-hashes masters in a real bucket and reports every difference."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import SohoaSettings
from pipeline.services import ingest, publish
from pipeline.services.audit import run_audit
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask
from tests.conftest import S3Server, make_settings, settings_env
from tests.integration.test_backbone import write_jpeg
from tests.support.stacks import run_cli_in_process

pytestmark = pytest.mark.integration


@pytest.fixture()
def stored(s3_server: S3Server, tmp_path: Path) -> Iterator[tuple[Context, dict[str, str]]]:
    """Four scans of three artefacts stored through the real services (no worker needed)."""
    # The audit never touches Redis: any URL will do.
    settings = make_settings(s3_server, "redis://127.0.0.1:1/0", tmp_path / "var")
    ctx = Context.from_settings(settings)
    ctx.store.ensure_bucket(settings.bucket)
    drop = tmp_path / "drop"
    drop.mkdir()
    masters: dict[str, str] = {}
    for i, name in enumerate(
        ["AUD.1_front_1.jpg", "AUD.1_back_1.jpg", "AUD.2_front_1.jpg", "AUD.3_front_1.jpg"]
    ):
        write_jpeg(drop / name, seed=40 + i, size=(320, 240))
        result = ingest.process_scan(ctx, ProcessScanTask(path=str(drop / name), batch_id="aud"))
        assert result.status == "stored", result
        masters[name] = next(ctx.store.list_keys(f"masters/{result.object}/{result.scan_id}"))
    for slug in ("aud.1", "aud.2", "aud.3"):
        publish.publish_record(ctx, slug)
    yield ctx, masters


def audit_cli(settings: SohoaSettings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli_in_process(["audit", *args], settings_env(settings), cwd)


def test_a_changed_a_missing_and_a_stray_master_are_exactly_what_is_reported(
    stored: tuple[Context, dict[str, str]], tmp_path: Path
) -> None:
    """Fault: a stored master's byte is flipped in the bucket, another is deleted, a stray
    object appears under masters/.
    Outcome: `sohoa audit` reports exactly those three (changed, missing, untracked) in JSON and
    CSV with expected and found SHA-256, exits 1, and repairs nothing."""
    ctx, masters = stored
    store, settings = ctx.store, ctx.settings
    clean = audit_cli(settings, tmp_path, "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout)["checked"] == 4

    changed, missing = masters["AUD.1_back_1.jpg"], masters["AUD.2_front_1.jpg"]
    original, _ = store.get_bytes(changed)
    damaged = bytearray(original)
    damaged[len(damaged) // 3] ^= 0x01  # one bit of one byte: bit rot
    store.client.put_object(Bucket=store.masters_bucket, Key=changed, Body=bytes(damaged))
    store.client.delete_object(Bucket=store.masters_bucket, Key=missing)
    stray = "masters/aud.9/not-from-sohoa.tif"
    store.client.put_object(Bucket=store.masters_bucket, Key=stray, Body=b"II*\x00stray")
    before = {k: store.get_bytes(k, bucket=store.masters_bucket) for k in store.list_keys("")}

    done = audit_cli(settings, tmp_path, "--all", "--report", str(tmp_path / "audit"), "--json")

    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["checked"] == 3
    assert [f["key"] for f in report["changed"]] == [changed]
    assert report["changed"][0]["expected_sha256"] == hashlib.sha256(original).hexdigest()
    assert report["changed"][0]["found_sha256"] == hashlib.sha256(damaged).hexdigest()
    assert "has changed" in report["changed"][0]["message"]
    assert [f["key"] for f in report["missing"]] == [missing]
    assert [f["key"] for f in report["untracked"]] == [stray]
    assert report["unreadable"] == []
    written = sorted((tmp_path / "audit").iterdir())
    assert [p.suffix for p in written] == [".csv", ".json"]
    rows = list(csv.DictReader(io.StringIO(written[0].read_text("utf-8"))))
    assert sorted((r["kind"], r["key"]) for r in rows) == sorted(
        [("changed", changed), ("missing", missing), ("untracked", stray)]
    )
    assert json.loads(written[1].read_text("utf-8")) == report
    # Never repairs: the bucket is exactly as the audit found it.
    after = {k: store.get_bytes(k, bucket=store.masters_bucket) for k in store.list_keys("")}
    assert after == before

    text = audit_cli(settings, tmp_path)
    assert text.returncode == 1
    assert "1 changed, 1 missing, 1 untracked" in text.stdout
    assert "MISSING: Master of aud.2" in text.stdout


def test_a_sample_rehashes_only_some_masters_but_checks_presence_of_all(
    stored: tuple[Context, dict[str, str]],
) -> None:
    """Fault: a master is deleted; the audit re-hashes only a sample.
    Outcome: the missing master is still reported (presence comes from the listing)."""
    ctx, masters = stored
    ctx.store.delete(masters["AUD.3_front_1.jpg"], bucket=ctx.store.masters_bucket)
    report = run_audit(ctx, sample=1, seed=7)
    assert report.sampled and report.checked == 1 and report.tracked == 4
    assert [f.key for f in report.missing] == [masters["AUD.3_front_1.jpg"]]
    assert not report.ok
    assert run_audit(ctx, sample=1, seed=7).to_dict()["changed"] == report.to_dict()["changed"]
    everything = run_audit(ctx, sample=1, everything=True)
    assert everything.checked == 3 and not everything.sampled


def test_scans_without_a_record_are_reported_and_reindex_repair_publishes_them(
    stored: tuple[Context, dict[str, str]], tmp_path: Path
) -> None:
    """Fault: an artefact's scans are stored but its record is gone (its publish_record message
    was lost with Redis), and another artefact got a scan its record does not list.
    Outcome: `sohoa audit` reports both as scans without a record (UNPUBLISHED, exit 1) and
    changes nothing; `sohoa reindex --repair` publishes both records and indexes them; `sohoa
    show` and search then find every view, and the audit is clean."""
    ctx, _ = stored
    store = ctx.store
    # A scan whose record does not list it is counted once stored for this long (its publish
    # may still be on its way before): not long here.
    settings = ctx.settings.model_copy(update={"batch_stall_seconds": 0.01})
    store.delete("records/aud.1.json")
    extra = tmp_path / "drop" / "AUD.3_back_1.jpg"
    write_jpeg(extra, seed=49, size=(320, 240))
    added = ingest.process_scan(ctx, ProcessScanTask(path=str(extra), batch_id="aud"))
    assert added.status == "stored", added  # stored, never published

    found = audit_cli(settings, tmp_path, "--json")
    assert found.returncode == 1, found.stdout + found.stderr
    report = json.loads(found.stdout)
    assert [(f["object"], f["key"]) for f in report["unpublished"]] == [
        ("aud.1", "records/aud.1.json"),
        ("aud.3", "records/aud.3.json"),
    ]
    messages = [f["message"] for f in report["unpublished"]]
    assert "aud.1 has 2 stored scan(s) and no catalogue record" in messages[0]
    assert "lists 1 of its 2 stored scans" in messages[1]
    assert all("sohoa reindex --repair" in m for m in messages)
    assert report["changed"] == report["missing"] == report["untracked"] == []
    assert store.head("records/aud.1.json") is None  # the audit repairs nothing
    text = audit_cli(settings, tmp_path)
    assert "Catalogue: 2 artefact(s) with scans without a record" in text.stdout

    repaired = run_cli_in_process(["reindex", "--repair"], settings_env(settings), tmp_path)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "2 artefact(s) with scans without a record; 2 published" in repaired.stdout
    assert "Indexed 3 records" in repaired.stdout

    env = settings_env(settings)
    for accession, views in (("AUD.1", 2), ("AUD.3", 2)):
        shown = run_cli_in_process(["show", accession, "--json"], env, tmp_path)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert len(json.loads(shown.stdout)["views"]) == views
        hits = json.loads(run_cli_in_process(["search", accession, "--json"], env, tmp_path).stdout)
        assert [h["accession_number"] for h in hits["hits"]][:1] == [accession]
    clean = audit_cli(settings, tmp_path, "--json")
    assert clean.returncode == 0, clean.stdout
    assert json.loads(clean.stdout)["unpublished"] == []


def _flip_a_bit_keeping_metadata(ctx: Context, key: str) -> bytes:
    """Bit rot as storage would show it: other bytes, same size, same sha256 metadata."""
    store = ctx.store
    original, _ = store.get_bytes(key, bucket=store.masters_bucket)
    head = store.head(key, bucket=store.masters_bucket)
    assert head is not None
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0x10
    store.client.put_object(
        Bucket=store.masters_bucket,
        Key=key,
        Body=bytes(damaged),
        Metadata=head["Metadata"],
        ContentType=head["ContentType"],
    )
    return original


def test_a_changed_master_is_put_back_by_the_remedy_the_audit_prints(
    stored: tuple[Context, dict[str, str]], tmp_path: Path
) -> None:
    """Fault: one bit of two stored masters is flipped in the bucket, their size and metadata
    (the recorded SHA-256) kept, so a HEAD sees nothing wrong.
    Outcome: the audit reports both CHANGED and prints `sohoa audit --repair ORIGINAL_FILE`;
    run on one original, it puts the master back (proven before writing and read back);
    re-ingesting the other original re-hashes the stored master instead of answering
    "already there" and puts it back too; the audit is then clean and both masters are the
    originals' bytes. A file that is no stored scan's original writes nothing (exit 1)."""
    ctx, masters = stored
    store, settings = ctx.store, ctx.settings
    drop = tmp_path / "drop"
    by_cli, by_ingest = "AUD.1_front_1.jpg", "AUD.3_front_1.jpg"
    originals = {n: _flip_a_bit_keeping_metadata(ctx, masters[n]) for n in (by_cli, by_ingest)}

    found = audit_cli(settings, tmp_path)
    assert found.returncode == 1
    assert found.stdout.count("CHANGED: ") == 2, found.stdout
    assert "`sohoa audit --repair ORIGINAL_FILE`" in found.stdout

    stranger = tmp_path / "AUD.1_front_1.jpg"
    write_jpeg(stranger, seed=99, size=(320, 240))
    refused = audit_cli(settings, tmp_path, "--repair", str(stranger))
    assert refused.returncode == 1 and "UNKNOWN: No stored scan has the bytes" in refused.stdout
    repaired = audit_cli(settings, tmp_path, "--repair", str(drop / by_cli))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"RESTORED: Master of aud.1 in s3://{store.masters_bucket}/" in repaired.stdout

    again = ingest.process_scan(ctx, ProcessScanTask(path=str(drop / by_ingest), batch_id="fix"))
    assert again.status == "stored" and not again.already_stored, again
    assert again.master_created and again.message is None

    clean = audit_cli(settings, tmp_path, "--json")
    assert clean.returncode == 0, clean.stdout
    assert json.loads(clean.stdout)["checked"] == 4
    for name, original in originals.items():
        assert store.get_bytes(masters[name], bucket=store.masters_bucket)[0] == original
    # Intact now: a second repair and a second ingest write nothing.
    assert "INTACT:" in audit_cli(settings, tmp_path, "--repair", str(drop / by_cli)).stdout
    assert ingest.process_scan(ctx, ProcessScanTask(path=str(drop / by_ingest))).already_stored
