"""The port through which services send scans to be processed and read back what became of
them; no broker here (workers/client.py implements it, once, for Celery)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from pipeline.services.models import ProcessScanTask, PublishRecordTask

# The sending half alone, as a batch needs it (a worker passes its own bulk sender).
SendScan = Callable[[ProcessScanTask], str]


class ScanSender(Protocol):
    """Sends scans (and the records they rebuild) to the workers and reads their results.

    Every method raises BrokerUnavailableError (retryable) when the broker does not answer.
    """

    def send(self, task: ProcessScanTask) -> str:
        """Queue one file to be processed; return the task id."""
        ...

    def send_publish(self, task: PublishRecordTask) -> str:
        """Queue the rebuilding of one artefact's record; return the task id."""
        ...

    def poll(self, task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Results of the tasks that have finished (id -> result dict), taken once; never blocks.

        A task that raised is given as a `failed` result with code TASK_FAILED.
        """
        ...

    def lookup(self, task_id: str) -> dict[str, Any] | None:
        """A finished task's own result, left in place for other readers; None before."""
        ...

    def live_workers(self) -> list[str]:
        """The names of the workers that answer a ping."""
        ...

    def any_worker(self) -> bool:
        """Whether a worker answers: known at its answer, not after waiting for every one."""
        ...
