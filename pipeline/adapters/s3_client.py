"""The boto3 S3 client Sohoa uses for any S3-compatible server, and its settings."""

from __future__ import annotations

import functools
import threading
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.utils import parse_timestamp

from config.settings import SohoaSettings

__all__ = ["client_config", "make_client", "make_presigning_client", "parse_s3_timestamp"]


def parse_s3_timestamp(value: str) -> datetime:
    """A response's timestamp (a listing's LastModified, an object's Last-Modified).

    S3 and SeaweedFS send ISO 8601 in UTC in listings, which `datetime.fromisoformat` reads in
    0.1 µs; botocore's own parser (dateutil) takes ~37 µs, a third of the CPU of every listed
    key: the session index of one camera is listed for each scan that joins it, so at 10,000
    scans that was ~0.4 CPU-s a scan. Anything else (HTTP dates, a naive or odd form) goes to
    botocore's parser, so the result is always what botocore would give.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return parse_timestamp(value)
    return parsed if parsed.tzinfo is not None else parse_timestamp(value)


@functools.cache
def _session() -> boto3.Session:
    """One per process, as boto3's default session is: a new one reloads the service models."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_s3_timestamp
    )
    return boto3.Session(botocore_session=core)


_creating = threading.Lock()  # a boto3 session is not safe to make clients from in two threads


def client_config(
    *, attempts: int = 3, connect_timeout: float = 5, read_timeout: float = 60
) -> Config:
    """boto3 settings for any S3-compatible server: checksums only when required (boto3 ≥ 1.36
    adds CRC trailers that several servers reject; integrity is our own SHA-256), path-style
    addressing (no DNS per bucket), and no SigV4 payload hash.

    Over plain HTTP botocore otherwise hashes every body a second time for the signature
    (0.06 CPU-s per 24 MP master, measured). Every body Sohoa writes already carries a checksum
    header inside the signature (x-amz-checksum-sha256 or Content-MD5, see put_bytes and
    put_once_multipart) that the server checks, so damage or tampering in transit is refused
    either way; it is what botocore itself does over HTTPS when a checksum is present.
    """
    return Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=10,
    )


def make_client(settings: SohoaSettings) -> Any:
    """A boto3 S3 client for the configured store."""
    config = client_config()
    with _creating:
        return _session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            aws_access_key_id=settings.s3_access_key.get_secret_value() or None,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value() or None,
            region_name=settings.s3_region,
            config=config,
        )


def make_presigning_client(settings: SohoaSettings) -> Any:
    """A client whose presigned GET URLs use SigV4 (X-Amz-Expires in the URL).

    Unless a client's config names a signature version, botocore presigns S3 URLs with SigV2
    in regions that still accept it (us-east-1 among them), which AWS refuses in newer regions
    and for KMS-encrypted objects; naming 's3v4' outright made SeaweedFS answer 403. So presigns
    alone are steered to 's3v4-query' through botocore's choose-signer event.
    """
    client = make_client(settings)

    def keep_sigv4(signature_version: str, **kwargs: Any) -> str | None:
        if signature_version in ("v4-query", "s3v4-query", "s3-query"):
            return "s3v4-query"
        return None

    client.meta.events.register_first("choose-signer.s3", keep_sigv4)
    return client
