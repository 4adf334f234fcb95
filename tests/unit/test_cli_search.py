"""`sohoa search` over the sample collection's index, in process: corrections, partial
matches and punctuation said in plain words; and a search loads no storage or broker client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.relevance.collection import build_sample_index


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var = tmp_path_factory.mktemp("cli-search") / "var"
    var.mkdir()
    build_sample_index(var / "catalogue.sqlite3").close()
    return var


def run(var_dir: Path, *words: str) -> tuple[int, str]:
    env = {"SOHOA_VAR_DIR": str(var_dir), "SOHOA_QUEUE_PREFIX": "cli-search"}
    done = CliRunner().invoke(main, ["search", *words], env=env)
    return done.exit_code, done.output


def test_a_correction_is_offered_and_used(var_dir):
    code, output = run(var_dir, "bronse", "bell")
    assert code == 0 and "did you mean: bronze bell" in output
    assert "BTCVH.ĐS.0032" in output


def test_a_partial_match_says_so(var_dir):
    code, output = run(var_dir, "ấn", "ngọc", "xanh")
    assert code == 0 and "some of the words" in output and "BTCVH.NG.0002" in output


def test_an_accession_without_separators_is_found(var_dir):
    code, output = run(var_dir, "btcvhgs12")
    assert code == 0 and output.splitlines()[1].split()[0] == "BTCVH.GS.0012"


def test_punctuation_alone_is_refused_with_a_reason(var_dir):
    code, output = run(var_dir, "?!")
    assert code == 1 and "no letters or digits" in output


def test_a_search_loads_no_storage_broker_or_record_module(var_dir):
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "try:\n"
        "    main(['search', 'binh', 'gom'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "loaded = [m for m in sys.modules if m.startswith(('pipeline.services', 'workers', "
        "'boto3', 'celery', 'redis', 'fastapi', 'cv2', 'numpy', 'PIL', 'pipeline.core.records'))]\n"
        "print('loaded:', ','.join(sorted(loaded)))\n"
    )
    env = {**os.environ, "SOHOA_VAR_DIR": str(var_dir), "SOHOA_QUEUE_PREFIX": "cli-search"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "BTCVH.GS.0012" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "
