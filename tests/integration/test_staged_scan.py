"""The worker's side of the stage hand-off, called in process against the real SeaweedFS: a
staged file stored by a server-side copy and released, its twin under another name, a damaged
staged copy, and a rejected file quarantined from its staged bytes."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from pipeline.core.layout import INCOMING_PREFIX, staged_key
from pipeline.errors import IntegrityError
from pipeline.services import ingest
from pipeline.services.context import Context
from pipeline.services.handoff import stage_file
from pipeline.services.models import ProcessScanTask
from tests.conftest import S3Server, make_settings
from tests.unit.images import jpeg_bytes

pytestmark = pytest.mark.integration


@pytest.fixture()
def ctx(s3_server: S3Server, tmp_path: Path) -> Context:
    settings = make_settings(s3_server, "redis://127.0.0.1:1/0", tmp_path / "var", handoff="stage")
    context = Context.from_settings(settings)
    context.store.ensure_bucket(settings.bucket)
    return context


def staged_task(ctx: Context, path: Path) -> ProcessScanTask:
    key = stage_file(ctx, path)
    assert key is not None
    path.unlink()  # the worker never sees the drop folder
    return ProcessScanTask(path=str(path), batch_id="s1", staged=key)


def test_a_staged_scan_is_copied_proven_and_released_and_its_twin_is_already_there(
    ctx: Context, tmp_path: Path
) -> None:
    data = jpeg_bytes(320, 240)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "ST.1_front_1.jpg").write_bytes(data)
    (tmp_path / "ST.1_Front_1.jpg").write_bytes(data)  # the same view, spelt otherwise
    first = staged_task(ctx, tmp_path / "ST.1_front_1.jpg")
    twin = staged_task(ctx, tmp_path / "ST.1_Front_1.jpg")
    assert first.staged == twin.staged == staged_key(sha)
    head = ctx.store.head(staged_key(sha))
    assert head is not None and head["ContentLength"] == len(data)

    stored = ingest.process_scan(ctx, first)
    assert (stored.status, stored.scan_id, stored.master_created) == ("stored", sha, True)
    master = next(iter(ctx.store.list_keys("masters/")))
    found = ctx.store.get_bytes(master)
    assert found is not None and found[0] == data
    proof = ctx.store.client.head_object(
        Bucket=ctx.store.masters_bucket, Key=master, ChecksumMode="ENABLED"
    )
    assert base64.b64decode(proof["ChecksumSHA256"]).hex() == sha
    assert proof["Metadata"]["sha256"] == sha and proof["ContentType"] == "image/jpeg"
    assert list(ctx.store.list_keys(INCOMING_PREFIX)) == []

    # Its twin's staged copy went with the first (one key per content): the record says stored.
    again = ingest.process_scan(ctx, twin)
    assert again.status == "stored", again.message
    assert (again.status, again.already_stored, again.scan_id) == ("stored", True, sha)
    record = ctx.store.read_json(f"scans/st.1/{sha}.json")
    assert record is not None
    assert record[0]["source_names"] == ["ST.1_front_1.jpg", "ST.1_Front_1.jpg"]

    # A copy whose name does not parse is BAD_NAME, named with the remedy, its bytes gone or not.
    (tmp_path / "ST.1_front_1 copy.jpg").write_bytes(data)
    bad = ingest.process_scan(ctx, staged_task(ctx, tmp_path / "ST.1_front_1 copy.jpg"))
    assert (bad.status, bad.code, bad.scan_id) == ("quarantined", "BAD_NAME", sha)
    assert bad.quarantine_path and Path(bad.quarantine_path).read_bytes() == data
    assert list(ctx.store.list_keys(INCOMING_PREFIX)) == []


def test_a_damaged_staged_copy_is_never_stored(ctx: Context, tmp_path: Path) -> None:
    data = jpeg_bytes(320, 240, comment=b"damaged")
    sha = hashlib.sha256(data).hexdigest()
    other = jpeg_bytes(200, 100)
    # Other bytes under this content's key: what damage at rest would leave.
    ctx.store.put_bytes(staged_key(sha), other, content_type="application/octet-stream")
    task = ProcessScanTask(path=str(tmp_path / "ST.2_front_1.jpg"), staged=staged_key(sha))
    with pytest.raises(IntegrityError) as raised:
        ingest.process_scan(ctx, task)
    assert raised.value.code == "INTEGRITY"
    assert "ST.2_front_1.jpg" in raised.value.message and "drop the file" in raised.value.message
    assert list(ctx.store.list_keys("masters/")) == []
    # Removed: sending the file again stages it afresh rather than finding the damaged copy.
    assert list(ctx.store.list_keys(INCOMING_PREFIX)) == []


def test_a_rejected_staged_file_is_quarantined_from_its_staged_bytes(
    ctx: Context, tmp_path: Path
) -> None:
    junk = b"not an image, only words " * 50
    (tmp_path / "ST.3_front_1.jpg").write_bytes(junk)
    task = staged_task(ctx, tmp_path / "ST.3_front_1.jpg")
    result = ingest.process_scan(ctx, task)
    assert (result.status, result.code) == ("quarantined", "NOT_AN_IMAGE")
    assert "ST.3_front_1.jpg" in (result.message or "")
    assert result.quarantine_path is not None
    copy = Path(result.quarantine_path)
    assert copy.is_relative_to(ctx.settings.quarantine_path) and copy.read_bytes() == junk
    assert Path(result.quarantine_path + ".reason.json").exists()
    assert list(ctx.store.list_keys(INCOMING_PREFIX)) == []


def test_a_staged_copy_removed_after_its_retention_is_source_missing(
    ctx: Context, tmp_path: Path
) -> None:
    task = ProcessScanTask(
        path=str(tmp_path / "ST.4_front_1.jpg"), staged=staged_key(hashlib.sha256(b"x").hexdigest())
    )
    result = ingest.process_scan(ctx, task)
    assert (result.status, result.code) == ("failed", "SOURCE_MISSING")
    assert "ST.4_front_1.jpg" in (result.message or "")
    assert "SOHOA_STAGE_RETENTION_DAYS" in (result.message or "")


def test_a_staged_file_that_killed_its_workers_is_set_aside_from_storage(
    ctx: Context, tmp_path: Path
) -> None:
    """The file never reached memory in the process that quarantines it (its decoders died):
    the quarantine copy is fetched from storage, never decoded, and the staged object goes."""
    data = jpeg_bytes(320, 240, comment=b"killer")
    (tmp_path / "ST.5_front_1.jpg").write_bytes(data)
    task = staged_task(ctx, tmp_path / "ST.5_front_1.jpg")
    result = ingest.quarantine_worker_lost(ctx, task, 3)
    assert (result.status, result.code) == ("quarantined", "WORKER_LOST")
    assert result.quarantine_path and Path(result.quarantine_path).read_bytes() == data
    assert list(ctx.store.list_keys(INCOMING_PREFIX)) == []
