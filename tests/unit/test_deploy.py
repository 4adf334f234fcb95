"""config/deploy/: every unit starts a command that exists, with options it accepts, and the
example environment files name only real settings."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from config.settings import SohoaSettings
from pipeline.adapters.embedded import weed_binary
from pipeline.cli import main

DEPLOY = Path(__file__).resolve().parents[2] / "config" / "deploy"
SOHOA = "/opt/sohoa/.venv/bin/sohoa"
WEED = "/opt/sohoa/.venv/bin/weed"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def exec_start(path: Path) -> list[str]:
    """ExecStart's argv, with the instance (%i) and host (%H) specifiers filled in."""
    line = unit(path)["Service"]["ExecStart"].replace("%i", "scans").replace("%H", "host")
    return shlex.split(line)


def sohoa_units() -> list[Path]:
    return sorted(DEPLOY.glob("sohoa-*.service"))


def weed_units() -> list[Path]:
    return sorted((DEPLOY / "seaweedfs").glob("weed-*.service"))


def test_the_worker_beat_api_and_hot_folder_have_units() -> None:
    commands = {exec_start(path)[1] for path in sohoa_units()}
    assert commands == {"worker", "beat", "serve", "watch"}


@pytest.mark.parametrize("path", sohoa_units(), ids=lambda p: p.name)
def test_each_sohoa_unit_runs_a_sohoa_command_with_options_it_accepts(path: Path) -> None:
    program, name, *args = exec_start(path)
    assert program == SOHOA
    group_ctx = click.Context(main)
    command = main.get_command(group_ctx, name)
    assert command is not None, f"{path.name}: `sohoa {name}` is no command"
    # Parsing only (no callback runs): an unknown option or a bad value raises here.
    command.make_context(name, list(args), parent=group_ctx)
    service = unit(path)["Service"]
    assert service["EnvironmentFile"] == "/etc/sohoa/sohoa.env"
    assert service["WorkingDirectory"] == "/var/lib/sohoa"


def test_the_worker_stops_warm_and_waits_for_the_longest_task() -> None:
    service = unit(DEPLOY / "sohoa-worker@.service")["Service"]
    assert service["KillSignal"] == "SIGTERM"
    limit = SohoaSettings.model_fields["task_time_limit"].default
    assert int(service["TimeoutStopSec"]) > limit


def test_the_env_example_names_only_real_settings() -> None:
    text = (DEPLOY / "sohoa.env.example").read_text("utf-8")
    names = re.findall(r"^#?SOHOA_([A-Z0-9_]+)=", text, flags=re.MULTILINE)
    assert len(names) > 10
    unknown = [n for n in names if n.lower() not in SohoaSettings.model_fields]
    assert unknown == []


def _weed_flags(subcommand: str) -> set[str]:
    shown = subprocess.run(
        [str(weed_binary()), subcommand, "-h"], capture_output=True, text=True, timeout=30
    )
    return set(re.findall(r"^\s+-([\w.]+)", shown.stdout + shown.stderr, flags=re.MULTILINE))


@pytest.mark.parametrize("path", weed_units(), ids=lambda p: p.name)
def test_each_seaweedfs_unit_uses_flags_this_weed_has(path: Path) -> None:
    program, *args = exec_start(path)
    assert program == WEED
    while args and args[0].startswith("-"):  # global flags (-logtostderr)
        args.pop(0)
    subcommand, *flags = args
    known = _weed_flags(subcommand)
    assert known, f"`weed {subcommand} -h` listed no flags"
    unknown = [f for f in flags if f.lstrip("-").split("=", 1)[0] not in known]
    assert unknown == [], f"{path.name}: weed {subcommand} has no {unknown}"
    # Every ${VARIABLE} the line uses is set by the example environment files.
    defined = set()
    for example in (DEPLOY / "seaweedfs").glob("*.env.example"):
        defined |= set(re.findall(r"^(\w+)=", example.read_text("utf-8"), flags=re.MULTILINE))
    used = set(re.findall(r"\$\{(\w+)\}", unit(path)["Service"]["ExecStart"]))
    assert used <= defined, used - defined


def test_the_cluster_keeps_two_copies_and_reports_nothing_home() -> None:
    master = " ".join(exec_start(DEPLOY / "seaweedfs" / "weed-master.service"))
    assert "-defaultReplication=001" in master and "-telemetry=false" in master
    filer = " ".join(exec_start(DEPLOY / "seaweedfs" / "weed-filer.service"))
    assert "-defaultReplicaPlacement=001" in filer
