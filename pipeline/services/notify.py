"""Keep an API replica's index live: apply 'record changed' notes, reconcile with the bucket."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from config.settings import SohoaSettings
from pipeline.adapters.redis_notify import START, RecordStream, is_after
from pipeline.core.catalogue import CatalogueIndex
from pipeline.errors import SohoaError
from pipeline.services.catalogue import CatchUpResult, catch_up, index_object
from pipeline.services.context import Context

log = logging.getLogger(__name__)

T = TypeVar("T")
# After a failure (Redis or the bucket away), wait this long before trying again.
RETRY_SECONDS = 5.0


def notify_record_changed(stream: RecordStream, object_slug: str) -> bool:
    """Tell every API replica that `records/{object}.json` changed; False (logged) when Redis
    does not answer: the replicas' periodic catch-up will find the record anyway."""
    try:
        stream.publish(object_slug)
    except SohoaError as exc:
        log.warning("no live index update for %s: %s", object_slug, exc.message)
        return False
    return True


class IndexFollower:
    """A thread that keeps `index` in step with the bucket for as long as the process lives.

    It reads the stream after the last id it applied, and reconciles the whole index with the
    bucket (ETags compared, only what differs read) when it starts, every `catchup_seconds`,
    whenever it (re)gains its place in the stream and when the stream was trimmed past it.
    Whatever fails is logged and tried again later: a follower never dies of a bad record or
    of a service that is away, and the index is never ahead of the bucket.
    """

    def __init__(
        self,
        ctx: Context,
        index: CatalogueIndex,
        stream: RecordStream,
        *,
        catchup_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.index = index
        self.stream = stream
        self.catchup_seconds = catchup_seconds
        self.clock = clock
        self.last_id: str | None = None
        self.applied = 0
        self.last_catch_up: CatchUpResult | None = None
        self._known_bad: dict[str, str] = {}
        self._next_catch_up = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the steps, each safe to call on its own (tests call them directly) -------------------

    def _attempt(self, what: str, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except SohoaError as exc:
            log.warning("live index: could not %s: %s (%s)", what, exc.message, exc.code)
        except Exception:
            log.exception("live index: could not %s", what)
        return None

    def catch_up_now(self) -> CatchUpResult | None:
        result = self._attempt(
            "reconcile with the bucket",
            lambda: catch_up(self.ctx, self.index, known_bad=self._known_bad),
        )
        delay = self.catchup_seconds if result is not None else RETRY_SECONDS
        self._next_catch_up = self.clock() + delay
        if result is not None:
            self.last_catch_up = result
            if result.indexed or result.removed:
                log.info(
                    "live index: caught up with the bucket: %d indexed, %d removed (%.1f s)",
                    result.indexed,
                    result.removed,
                    result.seconds,
                )
        return result

    def apply_news(self) -> int | None:
        """Apply the entries after `last_id`; how many objects, None when Redis failed."""
        assert self.last_id is not None
        last = self.last_id
        entries = self._attempt("read the stream", lambda: self.stream.read(last))
        if entries is None:
            return None
        if entries and last != START:
            first = self._attempt("read the stream", self.stream.first_id)
            if first is not None and is_after(first, last):
                # Trimmed past our place: entries were lost; the bucket knows what they said.
                self._next_catch_up = 0.0
        for slug in dict.fromkeys(e.object for e in entries if e.object):
            done = self._attempt(f"index {slug}", partial(index_object, self.ctx, self.index, slug))
            if done is None:
                self._next_catch_up = min(self._next_catch_up, self.clock() + RETRY_SECONDS)
        if entries:
            self.last_id = entries[-1].id
            self.applied += len(entries)
        return len(entries)

    def step(self) -> None:
        """One turn of the loop: find our place, catch up if due, else wait for news."""
        if self.last_id is None:
            # Our place first, then the catch-up: whatever is published after it is read.
            self.last_id = self._attempt("find its place in the stream", self.stream.last_id)
            if self.last_id is not None:
                self._next_catch_up = 0.0
        if self.clock() >= self._next_catch_up:
            self.catch_up_now()
            return
        if self.last_id is None:
            self._stopping.wait(min(RETRY_SECONDS, max(0.0, self._next_catch_up - self.clock())))
            return
        if self.apply_news() is None:
            self._stopping.wait(RETRY_SECONDS)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.step()

    def start(self) -> IndexFollower:
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.stream.close()


def start_follower(settings: SohoaSettings, ctx: Context, index: CatalogueIndex) -> IndexFollower:
    """Follow the deployment's stream (under its queue prefix) into `index`, in a thread."""
    stream = RecordStream(settings.redis_url, prefix=settings.queue_prefix)
    follower = IndexFollower(ctx, index, stream, catchup_seconds=settings.index_catchup_seconds)
    return follower.start()
