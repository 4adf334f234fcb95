"""The dependencies a service needs, built once per process from settings at an edge."""

from __future__ import annotations

from dataclasses import dataclass

from config.profile import load_profile
from config.settings import SohoaSettings
from pipeline.adapters.s3_store import S3Store
from pipeline.core.profile import ProcessingProfile


@dataclass
class Context:
    """Settings, the processing profile and the object store, passed to every service."""

    settings: SohoaSettings
    profile: ProcessingProfile
    store: S3Store
    # Exceptions the caller raises into a service to stop it (a worker's time limit): let
    # through as they are, never taken for a fault of the file being processed.
    interrupts: tuple[type[BaseException], ...] = ()

    @classmethod
    def from_settings(cls, settings: SohoaSettings) -> Context:
        return cls(
            settings=settings,
            profile=load_profile(settings.profile_path),
            store=S3Store.from_settings(settings),
        )
