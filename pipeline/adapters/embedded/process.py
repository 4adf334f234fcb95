"""Spawning, watching and stopping local server processes; knows no server's flags."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)


# A server started here must not inherit our environment: weed turns AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY into an extra admin identity and reads WEED_* as configuration.
CHILD_ENV_BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


# Children started by this Python process, so that stopping one also reaps it (no zombie
# that /proc would still list) and Popen does not warn about a child left running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerProcess:
    """A server this module started: enough to find, probe and stop it later."""

    name: str
    pid: int
    url: str
    log_path: Path
    start_ticks: int | None = None
    startup_seconds: float = 0.0


def find_binary(name: str, provider: str, extra_dirs: list[Path] | None = None) -> Path:
    # sys.executable's directory is the venv's bin even when the venv is not activated;
    # it is not resolved, since a venv's python is a symlink to the system one.
    dirs = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts")), *(extra_dirs or [])]
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    searched = ", ".join(str(d) for d in dict.fromkeys(dirs))
    raise ConfigurationError(
        f"No `{name}` executable found (looked in {searched}); install {provider} into the "
        "environment that runs Sohoa."
    )


def spawn(
    argv: list[str], *, log_path: Path, cwd: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        offset = log.tell()
        # A session of its own: a Ctrl-C in the terminal that ran `make run` must not stop
        # the server half-way, and the server outlives the command that started it.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    return proc, offset


def wait_until_ready(
    proc: subprocess.Popen[bytes],
    label: str,
    name_hint: str,
    is_ready: Callable[[], bool],
    timeout: float,
    log_path: Path,
    log_offset: int,
    hidden: tuple[str, ...],
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = read_log_tail(log_path, log_offset, hidden=hidden)
            raise ConfigurationError(
                f"{label} exited with status {proc.returncode} while starting; its log "
                f"({log_path}) ends with:\n{tail}"
            )
        if is_ready():
            if proc.poll() is None:
                return
            continue
        if time.monotonic() > deadline:
            stop_process(proc.pid, name_hint=name_hint, timeout=10)
            tail = read_log_tail(log_path, log_offset, hidden=hidden)
            raise ConfigurationError(
                f"{label} did not become ready within {timeout:.0f} s and was stopped; its "
                f"log ({log_path}) ends with:\n{tail}"
            )
        time.sleep(0.1)


def read_log_tail(
    log_path: Path, offset: int = 0, *, lines: int = 25, hidden: tuple[str, ...] = ()
) -> str:
    """The last lines a server wrote since offset, with any secret in `hidden` masked."""
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc.strerror})"
    for secret in hidden:
        if secret:
            text = text.replace(secret, "***")
    return "\n".join(text.splitlines()[-lines:])


def read_start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), to tell it from a later reuse of pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain spaces; fields resume after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_process_alive(pid: int, name_hint: str, start_ticks: int | None = None) -> bool:
    """Whether pid is a live process of this binary (and, if given, the one started then)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # A zombie has an empty command line. redis-server rewrites its title to
    # "/path/redis-server 127.0.0.1:port", hence the match on the start of the base name.
    # A Python program (`python -m pipeline.cli`) is known by its module argument instead.
    argv = cmdline.decode(errors="replace").split("\0")
    program = os.path.basename(argv[0])
    if not re.match(rf"{re.escape(name_hint)}(\s|$)", program) and name_hint not in argv[1:]:
        return False
    return start_ticks is None or read_start_ticks(pid) == start_ticks


def stop_process(
    pid: int, *, name_hint: str, timeout: float = 20, start_ticks: int | None = None
) -> bool:
    """SIGTERM, wait up to timeout, then SIGKILL; return whether it was running."""
    if not is_process_alive(pid, name_hint, start_ticks):
        _CHILDREN.pop(pid, None)
        return False
    logger.info("stopping %s (pid %d)", name_hint, pid)
    _signal(pid, signal.SIGTERM, group=False)
    if not _wait_for_exit(pid, name_hint, timeout):
        logger.warning(
            "%s (pid %d) ignored SIGTERM for %.0f s; killing it", name_hint, pid, timeout
        )
        # The server leads its own session: its group holds any child it forked.
        _signal(pid, signal.SIGKILL, group=True)
        _wait_for_exit(pid, name_hint, 10)
    _CHILDREN.pop(pid, None)
    return True


def _signal(pid: int, sig: signal.Signals, *, group: bool) -> None:
    try:
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise ConfigurationError(
            f"Not allowed to stop process {pid}: it belongs to another user; stop it as that "
            "user, or remove the state file under var/embedded if it is not Sohoa's."
        ) from exc


def _wait_for_exit(pid: int, name_hint: str, timeout: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while is_process_alive(pid, name_hint):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def write_private_file(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def start_worker(
    argv: list[str],
    *,
    name_hint: str,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    is_ready: Callable[[], bool],
    timeout: float = 60,
) -> ServerProcess:
    """Start a Sohoa worker in its own session (it outlives `make run`); wait until it answers."""
    started = time.monotonic()
    proc, log_offset = spawn(argv, log_path=log_path, cwd=cwd, env=env)
    wait_until_ready(proc, "The worker", name_hint, is_ready, timeout, log_path, log_offset, ())
    return ServerProcess(
        name="worker",
        pid=proc.pid,
        url="",
        log_path=log_path,
        start_ticks=read_start_ticks(proc.pid),
        startup_seconds=time.monotonic() - started,
    )
