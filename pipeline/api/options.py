"""How the API presents itself (public URL, signing, CORS, OAI-PMH, viewer); no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from config.settings import SohoaSettings
from pipeline.api import oai
from pipeline.services.reader import DEFAULT_PRESIGN_SECONDS

# `make npm` installs OpenSeadragon here (package.json at the repository's root); not committed.
DEFAULT_VENDOR_DIR: Final = Path(__file__).resolve().parents[2] / "node_modules"
OPENSEADRAGON_BUILD: Final = Path("openseadragon/build/openseadragon")


@dataclass(frozen=True)
class ApiOptions:
    """How the API presents itself; from settings, or given directly (tests, embedding)."""

    public_url: str | None = None  # where clients reach the API; None: as each request says
    presign_seconds: int = DEFAULT_PRESIGN_SECONDS
    presign_endpoint_url: str | None = None  # S3 endpoint clients reach; None: s3_endpoint_url
    cors_origins: tuple[str, ...] = ("*",)
    oai_page_size: int = oai.DEFAULT_PAGE_SIZE
    oai_repository_name: str = "Sohoa catalogue"
    oai_admin_email: str = "catalogue@sohoa.invalid"
    vendor_dir: Path = DEFAULT_VENDOR_DIR  # node_modules with OpenSeadragon; missing: no viewer

    @classmethod
    def from_settings(cls, settings: SohoaSettings) -> ApiOptions:
        return cls(
            public_url=settings.api_public_url,
            presign_seconds=settings.api_presign_seconds,
            presign_endpoint_url=settings.api_presign_endpoint_url,
            cors_origins=tuple(settings.api_cors_origins),
            oai_page_size=settings.oai_page_size,
            oai_repository_name=settings.oai_repository_name,
            oai_admin_email=settings.oai_admin_email,
        )
