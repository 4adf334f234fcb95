"""Checksums of bytes (SHA-256 for identity and fixity, MD5 for transport); pure."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Digests:
    """The digests of one byte string, computed in one pass over it."""

    sha256: str
    md5: str
    size: int


def digest_bytes(data: bytes | memoryview) -> Digests:
    sha = hashlib.sha256(data)
    md5 = hashlib.md5(data, usedforsecurity=False)
    return Digests(sha256=sha.hexdigest(), md5=md5.hexdigest(), size=len(data))


def md5_base64(data: bytes | memoryview) -> str:
    """The Content-MD5 header value: the server rejects the PUT if the bytes changed in transit."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")
