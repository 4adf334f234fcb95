"""Runtime settings from the environment (prefix SOHOA_); read once at an edge, never at import."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "default.toml"

# `sohoa services up` writes the embedded S3 server's generated credentials here (relative to
# the working directory, or under SOHOA_VAR_DIR: see load_settings).
EMBEDDED_ENV_FILE = "var/sohoa.env"


class SohoaSettings(BaseSettings):
    """Everything a Sohoa process needs to know about its surroundings."""

    # Whether queue_prefix was derived from the store rather than given (model_copy derives again).
    _prefix_derived: bool = PrivateAttr(default=False)

    model_config = SettingsConfigDict(
        env_prefix="SOHOA_",
        env_file=EMBEDDED_ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("SOHOA_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Broker and result backend. Must use maxmemory-policy noeviction.",
    )
    s3_endpoint_url: str | None = Field(
        default="http://127.0.0.1:8333",
        description="S3 endpoint; empty means AWS's own endpoints for s3_region.",
    )
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_region: str = "us-east-1"
    bucket: str = Field(default="sohoa", description="Bucket for derivatives, records, reports.")
    masters_bucket: str | None = Field(
        default=None, description="Separate, private bucket for masters; default: `bucket`."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8333/sohoa",
        description="Where the public part of the bucket is reachable (IIIF ids, links).",
    )
    profile_path: Path = DEFAULT_PROFILE
    var_dir: Path = Path("var")
    quarantine_dir: Path | None = Field(
        default=None,
        description="Where rejected files and their reasons go; default var/quarantine.",
    )
    catalogue_path: Path | None = Field(
        default=None, description="The catalogue's SQLite index; default var/catalogue.sqlite3."
    )
    multipart_threshold_mb: int = Field(default=256, ge=5, le=5000)
    multipart_chunk_mb: int = Field(default=64, ge=5, le=5000)
    s3_lean_put: bool = Field(
        default=True,
        description=(
            "Send IIIF tiles with Sohoa's own signed PUT (0.3-0.5 ms of CPU each) instead of "
            "boto3's (~1.9 ms); used only with static keys and no HTTP proxy. Turn off if a "
            "server refuses those writes."
        ),
    )
    master_verify: Literal["checksum", "readback"] = Field(
        default="checksum",
        description=(
            "How a stored master is proven equal to its source. checksum: the server checks the "
            "SHA-256 sent with the upload (refusing damaged bytes) and HEAD must report that "
            "SHA-256 and size back; a server or object without a stored SHA-256 (multipart "
            "masters, say) is read back instead. readback: every master is downloaded again "
            "and hashed (twice the traffic; about 0.15 CPU-s more per 24 MP scan)."
        ),
    )

    handoff: Literal["path", "stage"] = Field(
        default="path",
        description=(
            "How a file reaches a worker. path: the task carries its path (workers share the "
            "drop folder at the same path). stage: the producer uploads it to incoming/{sha256} "
            "(storage checks its SHA-256) and the worker reads it from there, so a worker needs "
            "only Redis and storage; the staged object is deleted once the scan is recorded."
        ),
    )
    stage_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="A staged file whose task never completed is removed after this many days",
    )

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_public_url: str | None = Field(
        default=None, description="e.g. https://catalogue.museum.vn; default: each request's URL"
    )
    api_presign_seconds: int = Field(default=300, ge=10, le=604_800)
    api_presign_endpoint_url: str | None = Field(
        default=None, description="The S3 endpoint as clients reach it; default s3_endpoint_url"
    )
    api_cors_origins: list[str] = ["*"]
    oai_page_size: int = Field(default=100, ge=1, le=1000)
    oai_repository_name: str = "Sohoa catalogue"
    oai_admin_email: str = "catalogue@sohoa.invalid"
    museum_name: str = Field(
        default="Sohoa museum", description="The holding institution, named in LIDO and BagIt."
    )
    index_listen: bool = Field(
        default=True, description="`sohoa serve` applies published records to its index live."
    )
    index_catchup_seconds: int = Field(
        default=300,
        ge=5,
        description="Seconds between `sohoa serve`'s reconciliations of its index with the bucket.",
    )
    installation: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,40}$",
        description="This installation's name, the same on every machine of it; default: "
        "its store (bucket at endpoint). Tasks carry it: a worker refuses another's.",
    )
    queue_prefix: str = Field(
        default="",
        pattern=r"^([a-z0-9][a-z0-9_.-]{0,40})?$",
        description="Queues are {prefix}.interactive and {prefix}.bulk (and Redis keys "
        "{prefix}:...); default: the installation's name, else sohoa-{bucket}-{hash of the "
        "store}, so installations sharing one Redis never share a queue.",
    )
    worker_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # A task must finish well before the broker hands its message to another worker.
    task_soft_time_limit: int = Field(default=840, ge=1)
    task_time_limit: int = Field(default=900, ge=1)
    visibility_timeout: int = Field(default=3600, ge=10)
    # kombu sweeps for unacknowledged messages every interval × throttle seconds.
    unacked_restore_interval: int = Field(default=10, ge=1)
    unacked_restore_throttle: int = Field(default=10, ge=1)
    task_max_retries: int = Field(default=5, ge=0)
    max_deliveries: int = Field(
        default=3, ge=1, description="Worker deaths a file may cause before it is quarantined"
    )
    worker_memory_mb: int = Field(
        default=8192, ge=0, description="Data-segment ceiling of each worker child (0: none)"
    )
    decode_timeout: float = Field(
        default=300.0, gt=0, description="Seconds to decode and prepare one scan: DECODE_TIMEOUT"
    )
    retry_backoff_max: int = Field(default=120, ge=1)
    # --- overnight batches, the nightly schedule and metrics (`sohoa batch`, `beat`, /metrics)
    batch_stall_seconds: float = Field(
        default=60.0,
        gt=0,
        description="No result for this long: `sohoa batch` looks for lost tasks",
    )
    finish_batches_minutes: int = Field(
        default=10,
        ge=0,
        description="Minutes between beat's rounds finishing unattended batches (0: never)",
    )
    hot_folder: Path | None = Field(
        default=None, description="The hot folder whose backlog the nightly run processes"
    )
    nightly_at: str = Field(
        default="02:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Nightly backlog, HH:MM in SOHOA_SCHEDULE_TIMEZONE",
    )
    fixity_at: str = Field(
        default="03:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Nightly fixity sample, HH:MM in SOHOA_SCHEDULE_TIMEZONE",
    )
    schedule_timezone: str = Field(
        default="UTC",
        description="IANA time zone of the nightly times, e.g. Asia/Ho_Chi_Minh",
    )
    fixity_sample: int = Field(
        default=100, ge=0, description="Masters re-hashed by the nightly fixity sample (0: none)"
    )
    metrics_host: str = Field(default="127.0.0.1", description="Where workers serve /metrics")
    metrics_port: int = Field(
        default=9540,
        ge=0,
        le=65535,
        description="Worker /metrics port (0: not served; taken: the next free of the nine after)",
    )

    @model_validator(mode="after")
    def _check_time_limits(self) -> SohoaSettings:
        if self.task_time_limit >= self.visibility_timeout:
            raise ValueError(
                f"task_time_limit ({self.task_time_limit} s) must be below the broker's "
                f"visibility_timeout ({self.visibility_timeout} s), or a running task is handed "
                "to a second worker; lower SOHOA_TASK_TIME_LIMIT or raise "
                "SOHOA_VISIBILITY_TIMEOUT."
            )
        if self.retry_backoff_max >= self.visibility_timeout:
            # A retry's countdown is held unacknowledged by the worker: past the visibility
            # timeout the broker hands the same task to a second worker.
            raise ValueError("retry_backoff_max must be below visibility_timeout.")
        if self.task_soft_time_limit >= self.task_time_limit:
            raise ValueError("task_soft_time_limit must be below task_time_limit.")
        return self

    @model_validator(mode="after")
    def _derive_queue_prefix(self) -> SohoaSettings:
        if not self.queue_prefix:
            self._set_derived_prefix()
        return self

    def _set_derived_prefix(self) -> None:
        self._prefix_derived = True
        self.queue_prefix = self.installation or derived_prefix(self.bucket, self.installation_id)

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> SohoaSettings:
        """A copy whose derived queue prefix follows a changed store (refresh_settings moves the
        endpoint to where SeaweedFS listens: its workers, reading the env file, derive anew)."""
        copied = super().model_copy(update=update, deep=deep)
        if update and "queue_prefix" in update:
            copied._prefix_derived = False
            copied.queue_prefix = copied.queue_prefix or ""
        if copied._prefix_derived or not copied.queue_prefix:
            copied._set_derived_prefix()
        return copied

    @field_validator("schedule_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as Asia/Ho_Chi_Minh or UTC"
            ) from None
        return value

    @property
    def installation_id(self) -> str:
        """Which store this installation is: its name, else bucket@endpoint (every machine of
        an installation must spell the endpoint alike, or set SOHOA_INSTALLATION)."""
        if self.installation:
            return self.installation
        endpoint = (self.s3_endpoint_url or f"aws:{self.s3_region}").rstrip("/").lower()
        return f"{self.bucket}@{endpoint}"

    @property
    def masters_bucket_name(self) -> str:
        return self.masters_bucket or self.bucket

    @property
    def quarantine_path(self) -> Path:
        return self.quarantine_dir or self.var_dir / "quarantine"

    @property
    def catalogue_index_path(self) -> Path:
        return self.catalogue_path or self.var_dir / "catalogue.sqlite3"

    @property
    def decode_deadline(self) -> float:
        """The decode deadline, kept inside the task's soft limit so that it fires first."""
        return min(self.decode_timeout, self.task_soft_time_limit * 0.9)


def derived_prefix(bucket: str, installation_id: str) -> str:
    """The default queue prefix of a store: readable (its bucket) and its own (a hash)."""
    digest = hashlib.sha256(installation_id.encode("utf-8")).hexdigest()[:8]
    readable = re.sub(r"[^a-z0-9_.-]+", "-", bucket.lower())[:24].strip("-.") or "store"
    return f"sohoa-{readable}-{digest}"


def load_settings(**overrides: object) -> SohoaSettings:
    """Read the settings once; call this at an edge (CLI main, worker start, API start).

    The env file `sohoa services up` writes lives in the var directory, wherever
    SOHOA_VAR_DIR puts it; real environment variables always win over it.
    """
    var_dir = Path(os.environ.get("SOHOA_VAR_DIR") or "var")
    return SohoaSettings(_env_file=var_dir / "sohoa.env", **overrides)  # type: ignore[arg-type]
