"""Load a processing profile: read a TOML file and validate it into the core's model; read only."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pipeline.core.profile import ProcessingProfile


def load_profile(path: Path) -> ProcessingProfile:
    """Read and validate a profile file; a bad file raises with every problem listed."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return ProcessingProfile.model_validate(data)
