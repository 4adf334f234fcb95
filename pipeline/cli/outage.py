"""What a following command says while a service it polls is away: the remedy once, then
a line now and then (1, 2, 4… up to 10 minutes apart), and when it is back; prints only."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.cli.render import human_seconds
from pipeline.errors import BrokerUnavailableError, RetryableError, StorageUnavailableError

_FIRST_REMINDER = 60.0
_LONGEST_SILENCE = 600.0


def _remedy(error: RetryableError) -> str:
    if isinstance(error, StorageUnavailableError):
        service = "storage"
    elif isinstance(error, BrokerUnavailableError):
        service = "Redis"
    else:
        service = "the service"
    return (
        f"Nothing is lost: this command waits and carries on by itself once {service} answers. "
        "If it is the embedded one, `sohoa services status` shows it and `sohoa services up` "
        "brings it back at the same address (workers and batches keep theirs)."
    )


@dataclass
class OutageNotice:
    """Rate-limited warnings for one outage at a time; `echo` prints a line (to stderr)."""

    echo: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    _since: float | None = None
    _next: float = 0.0
    _gap: float = _FIRST_REMINDER
    _last: str = field(default="")

    def failed(self, error: RetryableError) -> None:
        """A poll failed: the first time, the error and what to do; later, a reminder when due
        (at once if another service failed)."""
        now = self.clock()
        if self._since is None:
            self._since, self._gap, self._next = now, _FIRST_REMINDER, now + _FIRST_REMINDER
            self._last = error.code
            self.echo(f"warning: {error.message}")
            self.echo(f"  {_remedy(error)}")
            return
        if now < self._next and error.code == self._last:
            return
        self._last = error.code
        self.echo(
            f"warning: still waiting after {human_seconds(now - self._since)}: {error.message}"
        )
        self._gap = min(self._gap * 2, _LONGEST_SILENCE)
        self._next = now + self._gap

    def answered(self) -> None:
        """A poll worked: say so once if an outage was being reported."""
        if self._since is not None:
            self.echo(f"  back after {human_seconds(self.clock() - self._since)}; carrying on")
            self._since = None
