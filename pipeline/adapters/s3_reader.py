"""Bucket reads S3Store lacks (listings with ETags, streamed downloads); maps boto's errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.adapters.s3_store import S3Store, error_code
from pipeline.errors import IntegrityError

_CHUNK = 1024 * 1024


class Writable(Protocol):
    """Where downloaded bytes go: a file, or anything with `write`."""

    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class ListedObject:
    """One key of a listing and its version as the server reports it."""

    key: str
    etag: str  # without the quotes S3 puts around it


def to_etag(value: str | None) -> str | None:
    """An ETag as compared: the quotes S3 puts around it removed ('"ab"' and 'ab' are one)."""
    return value.strip().strip('"') if value else None


def list_objects(
    store: S3Store, prefix: str, *, bucket: str | None = None
) -> Iterator[ListedObject]:
    """Every key under `prefix` with its ETag: one request per thousand keys, no object read."""
    bucket = bucket or store.bucket
    try:
        paginator = store.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield ListedObject(item["Key"], to_etag(item.get("ETag")) or "")
    except (ClientError, BotoCoreError) as exc:
        raise store._fail(exc, "list", bucket, prefix) from None


def download_verified(
    store: S3Store, key: str, out: Writable, *, sha256: str, bucket: str | None = None
) -> int | None:
    """Stream an object into `out`, hashing as it goes; the number of bytes, None when the
    object does not exist. Raises IntegrityError when the bytes are not the expected ones."""
    bucket = bucket or store.bucket
    digest, size = hashlib.sha256(), 0
    try:
        body = store.client.get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise store._fail(exc, "read", bucket, key) from None
    except BotoCoreError as exc:
        raise store._fail(exc, "read", bucket, key) from None
    if digest.hexdigest() != sha256:
        raise IntegrityError(
            f"s3://{bucket}/{key} does not have the SHA-256 its record gives: the stored copy "
            "may be damaged; run `sohoa audit` (or ingest the original again).",
            expected=sha256,
            found=digest.hexdigest(),
        )
    return size


def download_file(
    store: S3Store, key: str, path: Path, *, sha256: str, bucket: str | None = None
) -> int | None:
    """`download_verified` into a file; the file is removed if anything goes wrong."""
    try:
        with path.open("wb") as out:
            size = download_verified(store, key, out, sha256=sha256, bucket=bucket)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size is None:
        path.unlink(missing_ok=True)
    return size
