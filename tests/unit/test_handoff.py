"""The stage hand-off's pure parts: staged keys, the task field a worker trusts, batch tasks."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from config.settings import SohoaSettings
from pipeline.core import layout
from pipeline.services.context import Context
from pipeline.services.handoff import batch_task, claimed_keys
from pipeline.services.models import ProcessScanTask

SHA = hashlib.sha256(b"scan").hexdigest()


def test_a_staged_key_is_incoming_and_the_sha256_and_reads_back() -> None:
    assert layout.staged_key(SHA) == f"incoming/{SHA}"
    assert layout.to_staged_sha256(layout.staged_key(SHA)) == SHA
    for other in (f"masters/x/{SHA}.tif", "incoming/", f"incoming/{SHA}/x", f"incoming/{SHA[:-1]}"):
        assert layout.to_staged_sha256(other) is None
    assert layout.to_staged_sha256(f"incoming/{SHA.upper()}") is None


def test_a_task_may_name_only_a_staged_key_for_a_worker_to_read_and_delete() -> None:
    assert ProcessScanTask(path="/d/a.tif", staged=f"incoming/{SHA}").staged == f"incoming/{SHA}"
    assert ProcessScanTask(path="/d/a.tif").staged is None  # the path hand-off, as before
    for hostile in (f"masters/hm.1/{SHA}.tif", "records/hm.1.json", f"incoming/../{SHA}"):
        with pytest.raises(ValidationError, match="incoming/"):
            ProcessScanTask(path="/d/a.tif", staged=hostile)


def test_a_batch_names_the_staged_key_only_with_the_stage_hand_off() -> None:
    def ctx(handoff: str) -> Context:
        settings = SohoaSettings(_env_file=None, handoff=handoff)  # type: ignore[call-arg]
        return Context.from_settings(settings)

    staged = batch_task(ctx("stage"), "/d/a.tif", "b1", SHA)
    assert (staged.path, staged.batch_id, staged.staged) == ("/d/a.tif", "b1", f"incoming/{SHA}")
    assert batch_task(ctx("stage"), "/d/a.tif", "b1", None).staged is None  # not hashed yet
    assert batch_task(ctx("path"), "/d/a.tif", "b1", SHA).staged is None


def test_the_finishing_round_spares_every_key_a_queued_task_carries() -> None:
    payloads = [{"path": "/d/a", "staged": f"incoming/{SHA}"}, {"path": "/d/b"}, None]
    assert claimed_keys(payloads) == {f"incoming/{SHA}"}


def test_the_hand_off_is_path_unless_set_and_refuses_other_words() -> None:
    assert SohoaSettings(_env_file=None).handoff == "path"  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SohoaSettings(_env_file=None, handoff="auto")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SohoaSettings(_env_file=None, stage_retention_days=0)  # type: ignore[call-arg]
