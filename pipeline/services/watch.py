"""The hot folder: send complete files to the queue and clear them out once stored; no decoding."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from pipeline.core.naming import is_ignored_name, to_printable
from pipeline.errors import RetryableError
from pipeline.services.intake import walk_folder, why_skipped
from pipeline.services.models import ProcessScanTask
from pipeline.services.quarantine import build_reason, free_name, is_same_file
from pipeline.services.sender import ScanSender

log = logging.getLogger(__name__)

DONE_FOLDER = "done"
QUARANTINE_FOLDER = "quarantine"


@dataclass(frozen=True)
class WatchOptions:
    """How a hot folder behaves; the defaults are the archivists' day."""

    folder: Path
    # Where stored files go (default: `done/` inside the folder); ignored when `delete` is set.
    done_dir: Path | None = None
    delete: bool = False
    # A file is complete once its size and mtime have not changed for this long.
    stable_seconds: float = 5.0
    # watchdog's polling observer instead of inotify: network shares send no inotify events.
    poll: bool = False
    # How often to look again while files are settling or in flight.
    tick_seconds: float = 0.5
    # The polling observer's period: each poll lists the whole folder, costly on a share.
    poll_seconds: float = 2.0
    # A full rescan even when no event arrived: a safety net for events lost by the OS.
    rescan_seconds: float = 60.0
    retry_first_seconds: float = 5.0
    retry_max_seconds: float = 300.0
    batch_id: str | None = None

    @property
    def done_path(self) -> Path:
        return self.done_dir or self.folder / DONE_FOLDER

    @property
    def quarantine_path(self) -> Path:
        return self.folder / QUARANTINE_FOLDER


@dataclass(frozen=True)
class Signature:
    """What identifies one version of a file in the folder without reading it."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Signature | None:
        try:
            stat = path.lstat()  # the entry itself: a link's target is none of our business
        except OSError:
            return None
        return cls(stat.st_size, stat.st_mtime_ns)


@dataclass
class _Entry:
    """One file the watcher knows about, from first sight until it leaves the folder."""

    signature: Signature
    unchanged_since: float
    task_id: str | None = None
    sent_signature: Signature | None = None
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class WatchCounts:
    """What a watcher has done since it started (for its closing line and for tests)."""

    taken: int = 0
    stored: int = 0
    quarantined: int = 0
    failed: int = 0


@dataclass
class HotFolder:
    """The watcher's state and one scan cycle; `run` repeats the cycle until told to stop.

    Every cycle lists the folder itself, so a lost event, a restart or a network share that
    sends none only delays a file: events merely wake the loop early.
    """

    options: WatchOptions
    # Where files are sent and their results read back (the producer, in production).
    sender: ScanSender
    say: Callable[[str], None] = log.info
    clock: Callable[[], float] = time.monotonic
    counts: WatchCounts = field(default_factory=WatchCounts)
    _entries: dict[Path, _Entry] = field(default_factory=dict)
    # Set once events are being watched: a file dropped after that cannot be missed.
    ready: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    # Links and other non-regular files already said to be skipped (said again if they return).
    _skipped: set[Path] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Absolute paths throughout: tasks travel to workers, events arrive absolute.
        folder = self.options.folder.resolve()
        done = self.options.done_dir.resolve() if self.options.done_dir else None
        self.options = replace(self.options, folder=folder, done_dir=done)

    @property
    def pending(self) -> int:
        """Files seen and not yet out of the folder."""
        return len(self._entries)

    @property
    def in_flight(self) -> int:
        return sum(1 for entry in self._entries.values() if entry.task_id is not None)

    def wake(self) -> None:
        self._wake.set()

    # --- one cycle -----------------------------------------------------------------------------

    def scan_once(self) -> None:
        """Collect finished results, then look at every file in the folder once."""
        self._collect_results()
        now = self.clock()
        present = set()
        for path in self._list_files():
            present.add(path)
            signature = Signature.of(path)
            if signature is None:
                continue
            entry = self._entries.get(path)
            if entry is None or entry.signature != signature:
                # New, or still being written: the stability clock starts again.
                keep = entry.attempts if entry is not None else 0
                self._entries[path] = _Entry(signature, now, attempts=keep)
                continue
            if entry.task_id is None and self._is_due(entry, now):
                self._send(path, entry)
        for path in set(self._entries) - present:
            entry = self._entries[path]
            if entry.task_id is None:
                # Taken away by someone else before it was sent: nothing left to do.
                del self._entries[path]

    def _is_due(self, entry: _Entry, now: float) -> bool:
        return (
            now - entry.unchanged_since >= self.options.stable_seconds and now >= entry.not_before
        )

    def _list_files(self) -> list[Path]:
        """Candidate files under the folder, skipping litter and the watcher's own folders; a
        link or any other non-regular file is never sent nor opened, and said once."""
        skipped: list[tuple[Path, str]] = []
        own = (self.options.quarantine_path, self.options.done_path)
        leave = frozenset(path.resolve() for path in own)
        found: list[Path] = []
        for path in walk_folder(self.options.folder, skipped, leave=leave):
            if is_ignored_name(path.name):
                continue  # partial copies and OS litter come and go: not worth a line
            why = why_skipped(path)
            if why is None:
                found.append(path)
            else:
                skipped.append((path, why))
        for path, why in skipped:
            if path not in self._skipped:
                self.say(f"skipped {self._rel(path)}: {why}")
        self._skipped = {path for path, _ in skipped}
        return found

    def _send(self, path: Path, entry: _Entry) -> None:
        task = ProcessScanTask(path=str(path), batch_id=self._batch_id())
        try:
            entry.task_id = self.sender.send(task)
        except RetryableError as exc:
            self._back_off(entry, f"could not queue {self._rel(path)}: {exc.message}")
            return
        entry.sent_signature = entry.signature
        self.counts.taken += 1
        self.say(f"took {self._rel(path)}")

    def _batch_id(self) -> str:
        # One batch a day groups the worker's quarantine copies the way archivists work.
        return self.options.batch_id or "watch-" + datetime.now(UTC).strftime("%Y%m%d")

    def _collect_results(self) -> None:
        waiting = {e.task_id: p for p, e in self._entries.items() if e.task_id is not None}
        if not waiting:
            return
        try:
            finished = self.sender.poll(list(waiting))
        except RetryableError as exc:
            log.warning("could not read results: %s", exc.message)
            return
        for task_id, result in finished.items():
            path = waiting.get(task_id)
            if path is not None:
                self._settle(path, self._entries[path], result)

    # --- what a result means for the file -----------------------------------------------------

    def _settle(self, path: Path, entry: _Entry, result: dict[str, Any]) -> None:
        entry.task_id = None
        current = Signature.of(path)
        if current is None:
            # Taken out of the folder by someone while a worker had it: nothing left to clear.
            del self._entries[path]
            self.say(f"{self._rel(path)} left the folder before its result came back")
            return
        if current != entry.sent_signature:
            # Overwritten while a worker had it: the result is about other bytes. Start again.
            self._entries[path] = _Entry(current, self.clock())
            return
        status = result.get("status")
        try:
            if status == "stored":
                self._clear_stored(path, result)
            elif status == "quarantined":
                self._clear_quarantined(path, result)
            else:
                self.counts.failed += 1
                line = f"failed {self._rel(path)}: {result.get('code')} {result.get('message')}"
                self._back_off(entry, line)
                return
        except OSError as exc:
            # done/ or quarantine/ not writable (a share's permissions, a full disk): the file
            # stays, and is sent again later; the pipeline is idempotent, so that costs a check.
            why = to_printable(str(exc))
            self._back_off(entry, f"could not move {self._rel(path)} out of the folder: {why}")
            return
        del self._entries[path]

    def _back_off(self, entry: _Entry, line: str) -> None:
        """Leave the file where it is and try again later, waiting longer each time."""
        delay = min(
            self.options.retry_max_seconds, self.options.retry_first_seconds * 2**entry.attempts
        )
        entry.attempts += 1
        entry.task_id = None
        entry.not_before = self.clock() + delay
        self.say(f"{line} (retry in {delay:.0f} s)")

    def _clear_stored(self, path: Path, result: dict[str, Any]) -> None:
        """The master is verified in the bucket by now: the drop-folder copy may go."""
        if self.options.delete:
            path.unlink(missing_ok=True)
            self.counts.stored += 1
            self.say(f"stored {self._rel(path)} → deleted")
            return
        target = self._target(self.options.done_path, path)
        if result.get("scan_id") and is_same_file(target, result["scan_id"]):
            # The same bytes dropped again: one copy in done/ is enough.
            path.unlink(missing_ok=True)
        else:
            _move(path, free_name(target))
        self.counts.stored += 1
        self.say(f"stored {self._rel(path)} → {self._shown(self.options.done_path)}/")

    def _clear_quarantined(self, path: Path, result: dict[str, Any]) -> None:
        """Move the file beside its reason, written first so a crash never leaves it without."""
        target = free_name(self._target(self.options.quarantine_path, path))
        reason = _reason_of(path, result, self._batch_id())
        reason_path = target.with_name(target.name + ".reason.json")
        tmp = reason_path.with_name(reason_path.name + ".part")
        try:
            tmp.write_bytes(reason)
            os.replace(tmp, reason_path)
            _move(path, target)
        except OSError:
            # Nothing half-written stays: the file is still in the folder, tried again later.
            for leftover in (tmp, reason_path):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        self.counts.quarantined += 1
        self.say(f"quarantined {self._rel(path)}: {result.get('code')} {result.get('message')}")

    def _target(self, base: Path, path: Path) -> Path:
        # Sub-folders an archivist dropped keep their shape under done/ and quarantine/.
        target = base / path.relative_to(self.options.folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _rel(self, path: Path) -> str:
        """A path as the watcher's lines show it: relative, and escaped, so a newline or an
        escape sequence in a dropped file's name cannot forge or colour a line."""
        try:
            return to_printable(str(path.relative_to(self.options.folder)))
        except ValueError:
            return to_printable(str(path))

    def _shown(self, path: Path) -> str:
        return self._rel(path) if path.is_relative_to(self.options.folder) else str(path)

    # --- the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set (by a signal handler or a test); files in flight stay put."""
        self.options.folder.mkdir(parents=True, exist_ok=True)
        observer = self._start_observer()
        self.ready.set()
        try:
            while not stop.is_set():
                self.scan_once()
                self._wait(stop, self._next_wait())
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _next_wait(self) -> float:
        now = self.clock()
        wait = self.options.rescan_seconds
        for entry in self._entries.values():
            if entry.task_id is not None or entry.not_before <= now:
                # Settling or in flight: look again soon.
                return self.options.tick_seconds
            wait = min(wait, entry.not_before - now)
        return max(wait, self.options.tick_seconds)

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        deadline = self.clock() + seconds
        while not stop.is_set():
            left = deadline - self.clock()
            if left <= 0:
                return
            # Short slices, so that `stop` is noticed promptly without a second event to wait on.
            if self._wake.wait(min(left, 0.25)):
                self._wake.clear()
                return

    def _start_observer(self) -> BaseObserver:
        if self.options.poll:
            observer: BaseObserver = PollingObserver(timeout=self.options.poll_seconds)
        else:
            observer = Observer()
        observer.schedule(_Wake(self), str(self.options.folder), recursive=True)
        observer.start()
        return observer

    def is_own_path(self, raw: str) -> bool:
        """Events about done/, quarantine/ or litter must not wake the loop."""
        path = Path(raw)
        if is_ignored_name(path.name):
            return True
        for own in (self.options.done_path, self.options.quarantine_path):
            if path == own or path.is_relative_to(own):
                return True
        return False


class _Wake(FileSystemEventHandler):
    """Any change in the folder wakes the loop; the loop itself decides what it means."""

    def __init__(self, folder: HotFolder) -> None:
        self.folder = folder

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads (ours, the worker's) change nothing
        paths = [event.src_path, event.dest_path]
        if any(p and not self.folder.is_own_path(os.fsdecode(p)) for p in paths):
            self.folder.wake()


def _reason_of(path: Path, result: dict[str, Any], batch_id: str) -> bytes:
    """The worker's own reason JSON when it can be read; otherwise the same fields, rebuilt."""
    copy = result.get("quarantine_path")
    if copy:
        try:
            return Path(copy + ".reason.json").read_bytes()
        except OSError:
            pass  # the worker's quarantine folder is on another machine
    signature = Signature.of(path)
    return build_reason(
        path,
        code=result.get("code"),
        message=result.get("message"),
        sha256=result.get("scan_id"),
        size=signature.size if signature else None,
        batch_id=batch_id,
    )


def _move(source: Path, target: Path) -> None:
    """A rename within one file system; a copy then delete when done/ is on another."""
    try:
        os.replace(source, target)
    except OSError:
        tmp = target.with_name(target.name + ".part")
        try:
            shutil.copy2(source, tmp)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        source.unlink()
