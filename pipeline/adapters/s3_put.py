"""A lean signed PUT for the many small objects of a scan (IIIF tiles); boto3 does the rest.

A 24 MP scan has ~130 tiles of ~60 KB. Through boto3 each PUT costs ~1.9 ms of client CPU
(request model, event hooks, signing, urllib3), 0.25-0.29 CPU-s per scan: half again the
cost of encoding the tiles, and the largest part of the upload's cost. This module sends the
same request, PutObject with path-style addressing, signed with AWS Signature Version 4, over
one kept-alive `http.client` connection per thread, for 0.3-0.5 ms. The tests check its
Authorization header against botocore's own signer and its writes against the real server.

The request carries `x-amz-checksum-sha256` inside the signature, so the server refuses bytes
damaged in transit (BadDigest); the payload itself is sent unsigned, as `client_config` does
for boto3. Failures map to the project's errors exactly like S3Store's: 5xx and broken
connections are retried (three attempts in all, like boto3's standard mode), then raised as
StorageUnavailableError; 401/403 as ConfigurationError; BadDigest as IntegrityError.

Used only when it can do exactly what boto3 would: static keys in the settings (not a role or
a credentials file), no HTTP proxy for the endpoint, and `SOHOA_S3_LEAN_PUT` left on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import os
import random
import re
import ssl
import threading
import time
import urllib.request
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from config.settings import SohoaSettings
from pipeline.errors import ConfigurationError, IntegrityError, StorageUnavailableError

_ATTEMPTS = 3
_UNSIGNED = "UNSIGNED-PAYLOAD"
_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_DIGEST_CODES = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}
# Codes that mean the deployment is wrong; retrying will not help, and the source is kept.
CONFIG_CODES = {
    "NoSuchBucket",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidBucketName",
    "AllAccessDisabled",
}


def unreachable_error(what: str, action: str, where: str) -> StorageUnavailableError:
    """Storage did not answer (`what`: the exception's name)."""
    return StorageUnavailableError(
        f"Storage at the configured endpoint did not answer while trying to {action} "
        f"{where} ({what}): check that it is running (`make status`) and reachable."
    )


def storage_error(code: str, status: str, action: str, where: str) -> Exception:
    """The project's error for storage's answer `code`/`status` to `action` on `where`: one
    mapping for boto3's ClientError (S3Store) and the lean PUT alike."""
    if code in CONFIG_CODES or status in ("401", "403"):
        return ConfigurationError(
            f"Storage refused to {action} {where} ({code or status}): check that the "
            "bucket exists and SOHOA_S3_ACCESS_KEY / SOHOA_S3_SECRET_KEY are right."
        )
    if code in _DIGEST_CODES:
        return IntegrityError(
            f"Storage received different bytes than were sent for {where} ({code}); "
            "the bytes were damaged in transit.",
            expected="the checksum of the sent bytes",
            found=code,
        )
    return StorageUnavailableError(
        f"Storage failed to {action} {where} ({code or status}); it may be overloaded "
        "or restarting."
    )


class LeanPutter:
    """PutObject for small bodies: signed by hand, one keep-alive connection per thread."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        access_key: str,
        secret_key: str,
        region: str,
        session_token: str | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 60,
    ) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self.scheme = parts.scheme
        self.hostname = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = (parts.scheme == "https" and self.port == 443) or (
            parts.scheme == "http" and self.port == 80
        )
        self.host = parts.hostname if default_port else f"{parts.hostname}:{self.port}"
        self.base_path = parts.path.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.session_token = session_token
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._local = threading.local()
        self._keys: dict[str, bytes] = {}
        self._ssl = (
            ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or None)
            if parts.scheme == "https"
            else None
        )

    @classmethod
    def from_settings(cls, settings: SohoaSettings) -> LeanPutter | None:
        """A putter for the configured store, or None where boto3 must do the work."""
        access = settings.s3_access_key.get_secret_value()
        secret = settings.s3_secret_key.get_secret_value()
        if not settings.s3_lean_put or not access or not secret:
            return None
        endpoint = settings.s3_endpoint_url or f"https://s3.{settings.s3_region}.amazonaws.com"
        host = urlsplit(endpoint).hostname or ""
        proxies = urllib.request.getproxies()
        if urlsplit(endpoint).scheme in proxies and not urllib.request.proxy_bypass(host):
            return None  # boto3 knows how to go through the proxy; this does not
        return cls(endpoint, access_key=access, secret_key=secret, region=settings.s3_region)

    # --- signing -------------------------------------------------------------------------------

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = f"AWS4{self.secret_key}".encode()
            for part in (day, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {day: key}  # one day at a time
        return key

    def signed_headers(
        self, path: str, headers: dict[str, str], *, now: datetime | None = None
    ) -> dict[str, str]:
        """`headers` plus Host, X-Amz-Date, X-Amz-Content-SHA256 and Authorization (SigV4)."""
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        out = {
            **headers,
            "Host": self.host,
            "X-Amz-Date": stamp,
            "X-Amz-Content-SHA256": _UNSIGNED,
        }
        if self.session_token:
            out["X-Amz-Security-Token"] = self.session_token
        canonical = {name.lower(): " ".join(value.split()) for name, value in out.items()}
        names = sorted(canonical)
        signed = ";".join(names)
        request = "\n".join(
            [
                "PUT",
                path,
                "",
                "".join(f"{name}:{canonical[name]}\n" for name in names),
                signed,
                _UNSIGNED,
            ]
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()]
        )
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        out["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        return out

    def path_of(self, bucket: str, key: str) -> str:
        """The path-style request path, encoded as S3 canonicalises it (no double encoding)."""
        return quote(f"{self.base_path}/{bucket}/{key}", safe="/~")

    # --- sending -------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._ssl is not None:
                conn = http.client.HTTPSConnection(
                    self.hostname, self.port, timeout=self.connect_timeout, context=self._ssl
                )
            else:
                conn = http.client.HTTPConnection(
                    self.hostname, self.port, timeout=self.connect_timeout
                )
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> None:
        """Store `body` at s3://bucket/key, checked by the server against its SHA-256."""
        where = f"s3://{bucket}/{key}"
        path = self.path_of(bucket, key)
        checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
        last: Exception = StorageUnavailableError(f"no attempt to write {where}")
        for attempt in range(_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.1 * 2**attempt))  # jitter
            headers = self.signed_headers(
                path, {"Content-Type": content_type, "x-amz-checksum-sha256": checksum}
            )
            conn = self._connection()
            try:
                if conn.sock is None:
                    conn.connect()  # within connect_timeout; then reads wait read_timeout
                    if conn.sock is not None:
                        conn.sock.settimeout(self.read_timeout)
                conn.request("PUT", path, body=body, headers=headers)
                response = conn.getresponse()
                reply = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                last = unreachable_error(type(exc).__name__, "write", where)
                continue
            if response.will_close:
                self._drop_connection()
            if 200 <= response.status < 300:
                return
            found = _CODE.search(reply)
            code = found.group(1).decode(errors="replace") if found else ""
            error = storage_error(code, str(response.status), "write", where)
            retryable = response.status >= 500 or response.status == 429
            if not isinstance(error, StorageUnavailableError) or not retryable:
                raise error
            last = error
        raise last
