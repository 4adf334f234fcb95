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

    @classmethod
    def from_settings(cls, settings: SohoaSettings) -> Context:
        return cls(
            settings=settings,
            profile=load_profile(settings.profile_path),
            store=S3Store.from_settings(settings),
        )
