"""S3-compatible object store (boto3): conditional writes, verified uploads; maps boto errors."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from config.settings import SohoaSettings
from pipeline.adapters.s3_client import make_client
from pipeline.adapters.s3_put import LeanPutter, storage_error, unreachable_error
from pipeline.core.fixity import md5_base64, sha256_base64
from pipeline.errors import (
    ConcurrentUpdateError,
    ConfigurationError,
    IntegrityError,
    StorageUnavailableError,
)

log = logging.getLogger(__name__)

_READ_CHUNK = 8 * 1024 * 1024
# Concurrent small writes (put_small_many): enough to hide a round trip of a few ms each.
_UPLOAD_THREADS = 8
_MISSING = {"404", "NoSuchKey", "NotFound"}
_PRECONDITION = {"412", "PreconditionFailed"}
# Some servers answer a conditional write racing another with 409 instead of 412.
_CONFLICT = {"409", "ConditionalRequestConflict", "OperationAborted"}


# "storage-sha256": the server computed the SHA-256 of the bytes it received, refused them on
# a mismatch (BadDigest) and reports it on HEAD; "read-back": every byte was fetched and hashed.
VerifiedBy = Literal["storage-sha256", "read-back"]


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


@dataclass(frozen=True)
class PutResult:
    """What a write did: `created` is False when an identical object was already there."""

    bucket: str
    key: str
    size: int
    created: bool
    etag: str | None = None
    # How a master's stored bytes were proven equal to the source (store_master only).
    verified_by: VerifiedBy | None = None


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> str:
    return str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


class S3Store:
    """The bucket(s) as Sohoa uses them; every method raises only the project's errors."""

    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        masters_bucket: str,
        multipart_threshold: int = 256 * 1024 * 1024,
        multipart_chunk: int = 64 * 1024 * 1024,
        master_verify: Literal["checksum", "readback"] = "checksum",
        lean: LeanPutter | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.masters_bucket = masters_bucket
        self.multipart_threshold = multipart_threshold
        self.multipart_chunk = multipart_chunk
        self.master_verify = master_verify
        self.lean = lean
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    @classmethod
    def from_settings(cls, settings: SohoaSettings) -> S3Store:
        return cls(
            make_client(settings),
            bucket=settings.bucket,
            masters_bucket=settings.masters_bucket_name,
            multipart_threshold=settings.multipart_threshold_mb * 1024 * 1024,
            multipart_chunk=settings.multipart_chunk_mb * 1024 * 1024,
            master_verify=settings.master_verify,
            lean=LeanPutter.from_settings(settings),
        )

    # --- errors --------------------------------------------------------------------------------

    def _fail(self, exc: Exception, action: str, bucket: str, key: str = "") -> Exception:
        where = f"s3://{bucket}/{key}" if key else f"bucket {bucket!r}"
        if isinstance(exc, ClientError):
            return storage_error(error_code(exc), _status(exc), action, where)
        return unreachable_error(type(exc).__name__, action, where)

    # --- buckets -------------------------------------------------------------------------------

    def check_buckets(self) -> None:
        """Raise ConfigurationError, naming the remedy, unless every bucket is reachable."""
        for bucket in {self.bucket, self.masters_bucket}:
            try:
                self.client.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if _status(exc) == "404" or error_code(exc) in ("NoSuchBucket", "404"):
                    raise ConfigurationError(
                        f"Bucket {bucket!r} does not exist: create it (`sohoa services up` does "
                        "for the embedded server) or set SOHOA_BUCKET."
                    ) from None
                raise self._fail(exc, "open", bucket) from None
            except BotoCoreError as exc:
                raise self._fail(exc, "open", bucket) from None

    def ensure_bucket(self, bucket: str) -> bool:
        """Create a private bucket if missing; True when it was created."""
        try:
            self.client.head_bucket(Bucket=bucket)
            return False
        except ClientError as exc:
            if _status(exc) != "404" and error_code(exc) not in ("NoSuchBucket", "404"):
                raise self._fail(exc, "open", bucket) from None
        except BotoCoreError as exc:
            raise self._fail(exc, "open", bucket) from None
        try:
            self.client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise self._fail(exc, "create", bucket) from None
        return True

    # --- reading -------------------------------------------------------------------------------

    def _read(self, action: str, bucket: str, key: str, call: Callable[[], Any]) -> Any | None:
        """Run one read; None when the object does not exist, other failures mapped."""
        try:
            return call()
        except ClientError as exc:
            if error_code(exc) in _MISSING or _status(exc) == "404":
                return None
            raise self._fail(exc, action, bucket, key) from None
        except BotoCoreError as exc:
            raise self._fail(exc, action, bucket, key) from None

    def head(self, key: str, *, bucket: str | None = None) -> dict[str, Any] | None:
        bucket = bucket or self.bucket
        found: dict[str, Any] | None = self._read(
            "inspect", bucket, key, lambda: self.client.head_object(Bucket=bucket, Key=key)
        )
        return found

    def get_bytes(self, key: str, *, bucket: str | None = None) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when it does not exist."""
        bucket = bucket or self.bucket

        def fetch() -> tuple[bytes, str]:
            response = self.client.get_object(Bucket=bucket, Key=key)
            return response["Body"].read(), response.get("ETag", "")

        found: tuple[bytes, str] | None = self._read("read", bucket, key, fetch)
        return found

    def hash_object(
        self, key: str, *, bucket: str | None = None, out: Writable | None = None
    ) -> tuple[str, int] | None:
        """SHA-256 and size of the stored bytes, streamed back from the server (and written to
        `out` as they come, when given: a download checked in the same pass)."""
        bucket = bucket or self.bucket

        def digest() -> tuple[str, int]:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            sha, size = hashlib.sha256(), 0
            for chunk in iter(lambda: body.read(_READ_CHUNK), b""):
                sha.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
            return sha.hexdigest(), size

        found: tuple[str, int] | None = self._read("read back", bucket, key, digest)
        return found

    def list_objects(self, prefix: str, *, bucket: str | None = None) -> Iterator[ListedObject]:
        """Every key under `prefix` with its ETag: one request per thousand keys, no object read."""
        bucket = bucket or self.bucket
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ListedObject(item["Key"], to_etag(item.get("ETag")) or "")
        except ClientError as exc:
            raise self._fail(exc, "list", bucket, prefix) from None
        except BotoCoreError as exc:
            raise self._fail(exc, "list", bucket, prefix) from None

    def list_keys(self, prefix: str, *, bucket: str | None = None) -> Iterator[str]:
        return (item.key for item in self.list_objects(prefix, bucket=bucket))

    def read_json(self, key: str) -> tuple[Any, str] | None:
        found = self.get_bytes(key)
        if found is None:
            return None
        data, etag = found
        return json.loads(data), etag

    # --- writing -------------------------------------------------------------------------------

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        bucket: str | None = None,
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
        sha256: str | None = None,
    ) -> PutResult:
        """One PUT that storage checks, so bytes damaged in transit are refused by the server:
        against `sha256` (hex, already computed by the caller) as x-amz-checksum-sha256, else
        against a Content-MD5 computed here.

        With `if_none_match`, an existing object is left alone (created=False); with `if_match`,
        a changed object raises ConcurrentUpdateError.
        """
        bucket = bucket or self.bucket
        args: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": metadata or {},
        }
        if sha256:
            args["ChecksumSHA256"] = sha256_base64(sha256)
        else:
            args["ContentMD5"] = md5_base64(data)
        if if_none_match:
            args["IfNoneMatch"] = "*"
        if if_match:
            args["IfMatch"] = if_match
        try:
            response = self.client.put_object(**args)
        except ClientError as exc:
            code, status = error_code(exc), _status(exc)
            if code in _PRECONDITION or status == "412" or code in _CONFLICT or status == "409":
                if if_none_match and not if_match:
                    return PutResult(bucket, key, len(data), created=False)
                raise ConcurrentUpdateError(f"s3://{bucket}/{key} changed under us") from None
            raise self._fail(exc, "write", bucket, key) from None
        except BotoCoreError as exc:
            raise self._fail(exc, "write", bucket, key) from None
        return PutResult(bucket, key, len(data), created=True, etag=response.get("ETag"))

    def put_small(
        self, key: str, data: bytes, *, content_type: str, bucket: str | None = None
    ) -> None:
        """An unconditional write of a small object (IIIF tiles), checked by the server against
        its SHA-256: through the lean signed PUT when there is one (s3_put.py), else boto3."""
        bucket = bucket or self.bucket
        if self.lean is None:
            self.put_bytes(key, data, content_type=content_type, bucket=bucket)
        else:
            self.lean.put(bucket, key, data, content_type=content_type)

    def put_small_many(
        self, items: Sequence[tuple[str, bytes, str]], *, bucket: str | None = None
    ) -> None:
        """Write many small objects (key, bytes, content type) at once, as `put_small` does.

        A few threads, kept for the life of the process so their connections are reused from
        one scan to the next; each thread takes a share of the items (one hand-over per share,
        not per object). The first error is raised once every share has finished.
        """
        if not items:
            return
        pool = self._upload_pool()
        shares = [items[start::_UPLOAD_THREADS] for start in range(_UPLOAD_THREADS)]

        def put_share(share: Sequence[tuple[str, bytes, str]]) -> None:
            for key, data, content_type in share:
                self.put_small(key, data, content_type=content_type, bucket=bucket)

        futures = [pool.submit(put_share, share) for share in shares if share]
        errors = [exc for exc in (future.exception() for future in futures) if exc is not None]
        if errors:
            raise errors[0]

    def _upload_pool(self) -> ThreadPoolExecutor:
        # A pool made before a fork (the prefork parent) has no threads in the child: remake.
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(_UPLOAD_THREADS, thread_name_prefix="s3-put")
            self._pool_pid = os.getpid()
        return self._pool

    def put_once_multipart(
        self, key: str, data: bytes, *, content_type: str, bucket: str, metadata: dict[str, str]
    ) -> PutResult:
        """Multipart upload completed with If-None-Match; aborted on any failure."""
        try:
            upload = self.client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type, Metadata=metadata
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "start an upload to", bucket, key) from None
        upload_id = upload["UploadId"]
        try:
            parts = []
            view = memoryview(data)
            for number, start in enumerate(range(0, len(data), self.multipart_chunk), start=1):
                chunk = view[start : start + self.multipart_chunk]
                part = self.client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=bytes(chunk),
                    ContentMD5=md5_base64(chunk),
                )
                parts.append({"PartNumber": number, "ETag": part["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            self._abort(bucket, key, upload_id)
            if error_code(exc) in _PRECONDITION or _status(exc) in ("412", "409"):
                return PutResult(bucket, key, len(data), created=False)
            raise self._fail(exc, "upload", bucket, key) from None
        except BaseException as exc:
            self._abort(bucket, key, upload_id)
            if isinstance(exc, BotoCoreError):
                raise self._fail(exc, "upload", bucket, key) from None
            raise
        return PutResult(bucket, key, len(data), created=True)

    def abort_stale_uploads(self, key: str, *, bucket: str | None = None) -> int:
        """Abort every unfinished multipart upload of `key`; return how many there were.

        A worker killed mid-upload leaves its parts on the server, invisible and billed, for
        ever. The key holds the content's SHA-256, so any upload of it is the same bytes: one
        still running elsewhere (a duplicate delivery) fails its completion and its retry finds
        the master stored. Best effort: a server that cannot list uploads is only logged.
        """
        bucket = bucket or self.masters_bucket
        try:
            found = self.client.list_multipart_uploads(Bucket=bucket, Prefix=key)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not list multipart uploads of s3://%s/%s: %s", bucket, key, exc)
            return 0
        stale = [u for u in found.get("Uploads", []) if u.get("Key") == key]
        for upload in stale:
            log.warning(
                "aborting a stale multipart upload %s of s3://%s/%s (started %s)",
                upload["UploadId"],
                bucket,
                key,
                upload.get("Initiated"),
            )
            self._abort(bucket, key, upload["UploadId"])
        return len(stale)

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            log.warning("could not abort multipart upload %s of s3://%s/%s", upload_id, bucket, key)

    def store_master(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        content_type: str,
        name: str,
    ) -> PutResult:
        """Store a master once (If-None-Match) and prove that the stored bytes are the source's.

        A repeated or concurrent upload of the same bytes is a no-op; the key contains the
        SHA-256, so an existing object with other bytes is damage and is reported, not replaced.
        The proof is the server's own SHA-256 of what it stored when it has one and
        `master_verify` is "checksum", else a full read-back (see `verify_master`).
        """
        bucket = self.masters_bucket
        metadata = {"sha256": sha256}
        if len(data) >= self.multipart_threshold:
            # Parts left by a worker that died mid-upload (SIGKILL, OOM, power) go first.
            self.abort_stale_uploads(key, bucket=bucket)
            result = self.put_once_multipart(
                key, data, content_type=content_type, bucket=bucket, metadata=metadata
            )
        else:
            result = self.put_bytes(
                key,
                data,
                content_type=content_type,
                bucket=bucket,
                metadata=metadata,
                if_none_match=True,
                sha256=sha256,
            )
        try:
            verified_by = self.verify_master(key, sha256=sha256, size=len(data), name=name)
        except IntegrityError:
            if result.created:
                # Our own write came back wrong: remove it so the retry can write it again.
                self.delete(key, bucket=bucket)
            raise
        return replace(result, verified_by=verified_by)

    def verify_master(self, key: str, *, sha256: str, size: int, name: str) -> VerifiedBy:
        """Prove the stored master is `sha256` and `size`, or raise IntegrityError.

        With "checksum", HEAD asks for the SHA-256 the server computed over the bytes it
        received and checked against the one sent (x-amz-checksum-sha256; a mismatch was
        refused with BadDigest). A server that keeps no such checksum, or an object written
        without one (multipart, or by another tool), is read back and hashed in full, as
        "readback" always does. Scheduled fixity checks (`sohoa audit`, the nightly sample)
        read masters back either way.
        """
        bucket = self.masters_bucket
        found_sha: str | None = None
        found_size: int | None = None
        verified_by: VerifiedBy = "read-back"
        if self.master_verify == "checksum":
            head = self._read(
                "inspect",
                bucket,
                key,
                lambda: self.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"),
            )
            if head is None:
                raise self._unreadable(name, bucket, key)
            stored = head.get("ChecksumSHA256")
            # A multipart checksum ("…-3") is a checksum of checksums: not the file's SHA-256.
            if (
                stored
                and "-" not in stored
                and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT"
            ):
                found_sha = base64.b64decode(stored).hex()
                found_size = int(head.get("ContentLength", -1))
                verified_by = "storage-sha256"
        if found_sha is None:
            found = self.hash_object(key, bucket=bucket)
            if found is None:
                raise self._unreadable(name, bucket, key)
            found_sha, found_size = found
        if found_sha != sha256 or found_size != size:
            raise IntegrityError(
                f"Master of {name!r} in s3://{bucket}/{key} does not match the source: "
                f"expected SHA-256 {sha256} ({size} bytes), found {found_sha} "
                f"({found_size} bytes, by {verified_by}).",
                file=name,
                expected=sha256,
                found=found_sha,
            )
        return verified_by

    @staticmethod
    def _unreadable(name: str, bucket: str, key: str) -> StorageUnavailableError:
        return StorageUnavailableError(
            f"Master of {name!r} was accepted by storage but cannot be read back from "
            f"s3://{bucket}/{key}."
        )

    def delete(self, key: str, *, bucket: str | None = None) -> None:
        bucket = bucket or self.bucket
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "delete", bucket, key) from None

    def update_json(
        self, key: str, change: Callable[[Any | None], Any | None], *, attempts: int = 20
    ) -> Any:
        """Read-modify-write with a compare-and-swap on the ETag, so concurrent writers never
        lose each other's update. `change` gets the current value (None if absent) and returns
        the new one, or None to leave the object as it is."""
        for _ in range(attempts):
            found = self.read_json(key)
            current, etag = (found[0], found[1]) if found else (None, None)
            new = change(current)
            if new is None:
                return current
            body = json.dumps(new, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
            try:
                written = self.put_bytes(
                    key,
                    body,
                    content_type="application/json; charset=utf-8",
                    if_match=etag,
                    if_none_match=etag is None,
                )
            except ConcurrentUpdateError:
                continue
            if written.created:
                return new
        raise ConcurrentUpdateError(
            f"s3://{self.bucket}/{key} kept changing under {attempts} attempts to update it"
        )
