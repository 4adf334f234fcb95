"""Storage operations of the stage hand-off that S3Store lacks (a server-side copy, a listing
with ages); boto3 only here, and only the project's errors leave it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.adapters.s3_store import PutResult, S3Store, error_code
from pipeline.errors import IntegrityError

_PRECONDITION = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
# Answers of a server that has no CopyObject: the master is uploaded instead.
_UNSUPPORTED = {"NotImplemented", "501", "MethodNotAllowed", "405"}
# One CopyObject copies at most 5 GiB (S3's limit); a larger master is uploaded instead.
COPY_LIMIT = 5 * 1024**3


@dataclass(frozen=True)
class DatedObject:
    """One key of a listing and when the server last wrote it."""

    key: str
    size: int
    modified: datetime


def list_dated(store: S3Store, prefix: str) -> Iterator[DatedObject]:
    """Every key under `prefix` in the store's bucket with its size and age (no object read)."""
    bucket = store.bucket
    try:
        for page in store.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                yield DatedObject(item["Key"], int(item.get("Size", 0)), item["LastModified"])
    except (ClientError, BotoCoreError) as exc:
        raise store._fail(exc, "list", bucket, prefix) from None


def copy_master(
    store: S3Store,
    source_key: str,
    key: str,
    *,
    sha256: str,
    size: int,
    content_type: str,
    name: str,
) -> PutResult | None:
    """Store a master by a server-side copy of `source_key` (in the store's bucket), once
    (If-None-Match, as store_master), then prove it as store_master does.

    The bytes never travel through the worker again; the copy keeps the SHA-256 storage
    computed and checked when the source was staged, which `verify_master` reads back on HEAD
    (or, with SOHOA_MASTER_VERIFY=readback, the copy is read back and hashed in full).
    None when the server has no CopyObject (the caller uploads the master instead). A server
    that ignores If-None-Match on a copy only writes the same bytes again (the key holds their
    SHA-256).
    """
    bucket = store.masters_bucket
    created = True
    try:
        store.client.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": store.bucket, "Key": source_key},
            MetadataDirective="REPLACE",
            Metadata={"sha256": sha256},
            ContentType=content_type,
            IfNoneMatch="*",
        )
    except ClientError as exc:
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if error_code(exc) in _UNSUPPORTED or status in _UNSUPPORTED:
            return None
        if error_code(exc) not in _PRECONDITION and status not in _PRECONDITION:
            raise store._fail(exc, "copy to", bucket, key) from None
        created = False  # stored before (the same bytes: the key holds their SHA-256)
    except BotoCoreError as exc:
        raise store._fail(exc, "copy to", bucket, key) from None
    try:
        verified_by = store.verify_master(key, sha256=sha256, size=size, name=name)
    except IntegrityError:
        if created:
            store.delete(key, bucket=bucket)  # our own copy came out wrong: the retry redoes it
        raise
    return replace(PutResult(bucket, key, size, created=created), verified_by=verified_by)
