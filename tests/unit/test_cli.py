"""The `sohoa` group lists its commands without importing them: the lines it lists must be
the commands' own, and `sohoa --help` must not load the services."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from pipeline.cli import _COMMANDS, load_command, main


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    stub = click.Command(name, help=_COMMANDS[name][2])
    assert command.name == name
    for limit in (30, 45, 60, 200):
        assert stub.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_command_runs_from_the_group() -> None:
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        assert main.get_command(ctx, name) is load_command(name)


def test_help_loads_no_service() -> None:
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m.startswith(('pipeline.services', 'workers', "
        "'boto3', 'celery', 'fastapi', 'watchdog', 'openpyxl'))]\n"
        "print('loaded:', ','.join(sorted(loaded)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "
