"""Issue #16: the same bytes twice in one batch are one scan, counted once; a HEIC and a
turned TIFF stored through the real services keep their master whole and both sizes."""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters.redis_batch import BatchState
from pipeline.adapters.s3_store import S3Store
from pipeline.core.records import ScanRecord
from pipeline.services import ingest
from pipeline.services.context import Context
from pipeline.services.intake import summarise
from pipeline.services.models import ProcessScanTask
from pipeline.services.status import collect_status
from tests.conftest import QUEUE_PREFIX, S3Server, make_settings
from tests.unit import format_samples as make
from tests.unit.images import gradient_rgb, jpeg_bytes

pytestmark = pytest.mark.integration


@pytest.fixture()
def ctx(s3_server: S3Server, tmp_path: Path) -> Context:
    settings = make_settings(s3_server, "redis://127.0.0.1:1/0", tmp_path / "var")
    context = Context.from_settings(settings)
    context.store.ensure_bucket(settings.bucket)
    return context


class _RecordNotYetWritten:
    """The real store, except that the first look for a scan record finds nothing: what a task
    sees when a twin of its file is being stored by another worker at the same moment."""

    def __init__(self, store: S3Store) -> None:
        self._store = store
        self._looked = False

    def read_json(self, key: str) -> Any:
        if key.startswith("scans/") and not self._looked:
            self._looked = True
            return None
        return self._store.read_json(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_one_scan_under_an_nfc_and_an_nfd_name_is_one_new_and_one_already_there(
    ctx: Context, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    data = jpeg_bytes(160, 120)
    nfc = unicodedata.normalize("NFC", "HUẾ.1_front_1.jpg")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    (drop / nfc).write_bytes(data)
    (drop / nfd).write_bytes(data)

    first = ingest.process_scan(ctx, ProcessScanTask(path=str(drop / nfc), batch_id="twins"))
    # The twin raced the first file: it decoded and stored too before the record existed.
    racing = dataclasses.replace(ctx, store=_RecordNotYetWritten(ctx.store))  # type: ignore[arg-type]
    second = ingest.process_scan(racing, ProcessScanTask(path=str(drop / nfd), batch_id="twins"))

    assert first.status == second.status == "stored"
    assert (first.already_stored, second.already_stored) == (False, True)
    assert first.scan_id == second.scan_id == hashlib.sha256(data).hexdigest()
    assert second.bytes_stored == 0
    summary = summarise([first.model_dump(), second.model_dump()])
    assert (summary.stored, summary.already_stored) == (2, 1)
    assert summary.bytes_stored == first.bytes_stored > len(data)
    masters = list(ctx.store.list_keys(f"masters/{first.object}/"))
    assert len(masters) == 1
    record = ScanRecord.model_validate(
        ctx.store.read_json(f"scans/{first.object}/{first.scan_id}.json")[0]  # type: ignore[index]
    )
    assert sorted(record.source_names) == sorted([nfc, nfd])


def test_today_counts_new_scans_apart_from_files_already_there(clean_redis: str) -> None:
    # Under this run's queue prefix (cleaned after the test) and new each time: today's figures
    # live a day, and another run's must not count here.
    state = BatchState(clean_redis, prefix=f"{QUEUE_PREFIX}-today-{uuid.uuid4().hex}")
    try:
        base = {"path": "/x", "name": "x"}
        state.record_result(None, {**base, "status": "stored"})
        state.record_result(None, {**base, "status": "stored", "already_stored": True})
        state.record_result(None, {**base, "status": "quarantined"})
        today = collect_status(state, queues=[], workers=[])["today"]
        assert today == {"stored": 1, "already_stored": 1, "quarantined": 1, "failed": 0}
    finally:
        state.close()


def test_a_heic_and_a_turned_tiff_are_stored_whole_with_both_sizes(
    ctx: Context, tmp_path: Path
) -> None:
    files = {
        "HEIC.1_front_1.heic": make.heic(gradient_rgb(64, 40), orientation=6, ten_bit=True),
        "TURN.1_front_1.tif": make.tiff(gradient_rgb(64, 40), compression="webp", orientation=8),
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = ingest.process_scan(ctx, ProcessScanTask(path=str(path)))
        assert result.status == "stored", result
        found = ctx.store.read_json(f"scans/{result.object}/{result.scan_id}.json")
        assert found is not None
        record = ScanRecord.model_validate(found[0])
        master, _ = ctx.store.get_bytes(record.master.key)  # type: ignore[misc]
        assert master == data  # bit-exact
        assert (
            (record.stored_width, record.stored_height)
            == (64, 40)
            == (
                record.width,
                record.height,
            )
        )
        assert (record.displayed_width, record.displayed_height) == (40, 64)
        assert record.derivatives and all(
            d.media_type == "image/jpeg" and (d.width, d.height) == (40, 64)
            for d in record.derivatives.values()
            if d.width <= 64
        )
    heic = ScanRecord.model_validate(
        ctx.store.read_json(
            f"scans/heic.1/{hashlib.sha256(files['HEIC.1_front_1.heic']).hexdigest()}.json"
        )[0]  # type: ignore[index]
    )
    assert (heic.format, heic.media_type, heic.bit_depth) == ("HEIF", "image/heic", 10)
    assert heic.master.key.endswith(".heic")
