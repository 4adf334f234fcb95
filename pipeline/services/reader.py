"""Read the published catalogue for the public (find, load, sign derivatives); never writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from config.profile import load_profile
from config.settings import SohoaSettings
from pipeline.adapters.s3_client import make_client, make_presigning_client
from pipeline.adapters.s3_store import S3Store
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.core.catalogue import CatalogueIndex
from pipeline.core.layout import MASTERS_PREFIX, SIGNABLE_PREFIXES, manifest_key
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.services.context import Context
from pipeline.services.publish import read_record

DEFAULT_PRESIGN_SECONDS: Final = 300
_MAX_SIGNED: Final = 50_000  # signed URLs kept for reuse (~20 MB at most)


def is_signable(key: str) -> bool:
    """A key the public may fetch through a signed URL: a derivative, never a master."""
    return key.startswith(SIGNABLE_PREFIXES) and ".." not in key and MASTERS_PREFIX not in key


@dataclass
class CatalogueReader:
    """The public's view of the catalogue: the index to find, the bucket to read, a URL signer.

    Its store is scoped to the public bucket (masters_bucket is set to it too), so nothing here
    reaches a separate masters bucket; masters in the same bucket are kept out by
    SIGNABLE_PREFIXES.
    """

    ctx: Context
    index: CatalogueIndex
    signer: Any  # a boto3 S3 client, used only to sign GET URLs (no request is sent)
    presign_seconds: int
    closers: list[Callable[[], None]] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    _signed: dict[str, tuple[int, str]] = field(default_factory=dict)

    def sign_url(self, key: str | None, *, bucket: str | None = None) -> str | None:
        """A GET URL for a derivative, valid for at least 4/5 of presign_seconds; None for
        anything else.

        One URL per key is reused for a fifth of the expiry: a browser then caches a thumbnail
        across page views (a new signature is a new URL to it), and a page of 100 hits does not
        spend 20 ms signing (botocore takes ~0.2 ms a URL).
        """
        if not key or not is_signable(key) or (bucket and bucket != self.ctx.store.bucket):
            return None
        window = int(self.clock()) // max(1, self.presign_seconds // 5)
        cached = self._signed.get(key)
        if cached is not None and cached[0] == window:
            return cached[1]
        url: str = self.signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.ctx.store.bucket, "Key": key},
            ExpiresIn=self.presign_seconds,
        )
        if len(self._signed) >= _MAX_SIGNED:
            self._signed.clear()  # simpler than an LRU, and as good when windows roll over
        self._signed[key] = (window, url)
        return url

    def resolve(self, identifier: str) -> str | None:
        """The object slug of an accession number or slug; None when nothing can match."""
        hit = self.index.find_accession(identifier)
        if hit is not None:
            return hit.object
        try:
            # Not in the index (yet): the bucket decides. The slug is key-safe by construction.
            return to_object_slug(identifier)
        except ValueError:
            return None

    def read(self, object_slug: str) -> ArtefactRecord | None:
        return read_record(self.ctx, object_slug)

    def find(self, identifier: str) -> ArtefactRecord | None:
        """The record of an accession number or slug; None when there is none."""
        slug = self.resolve(identifier)
        return self.read(slug) if slug else None

    def read_manifest(self, object_slug: str) -> bytes | None:
        found = self.ctx.store.get_bytes(manifest_key(object_slug))
        return found[0] if found else None

    def close(self) -> None:
        for close in self.closers:
            close()


def open_reader(
    settings: SohoaSettings,
    *,
    presign_endpoint_url: str | None = None,
    presign_seconds: int = DEFAULT_PRESIGN_SECONDS,
) -> CatalogueReader:
    """The reader over the index at settings.catalogue_index_path and the bucket settings.bucket;
    URLs are signed for presign_endpoint_url (None: settings.s3_endpoint_url)."""
    store = S3Store(make_client(settings), bucket=settings.bucket, masters_bucket=settings.bucket)
    ctx = Context(settings=settings, profile=load_profile(settings.profile_path), store=store)
    # A signature covers the host: sign for the endpoint that clients will actually reach.
    endpoint = presign_endpoint_url or settings.s3_endpoint_url
    signer = make_presigning_client(settings.model_copy(update={"s3_endpoint_url": endpoint}))
    index = SqliteIndex(settings.catalogue_index_path)
    return CatalogueReader(ctx, index, signer, presign_seconds, closers=[index.close])


def to_public_record(
    record: ArtefactRecord, reader: CatalogueReader, links: dict[str, str]
) -> dict[str, Any]:
    """The record as the public sees it: each master reduced to its fixity (no bucket, no key),
    no storage location, each derivative with a short-lived URL, and links to the object's
    other representations."""
    data = record.model_dump(mode="json")
    # Where the object is stored (store room, shelf) is for staff, never for the public.
    if data.get("inventory"):
        data["inventory"].pop("current_location", None)
    for view in data["views"]:
        master = view.pop("master")
        view["master"] = {k: master[k] for k in ("sha256", "size", "media_type")}
        for derivative in view["derivatives"].values():
            derivative["url"] = reader.sign_url(derivative["key"], bucket=derivative["bucket"])
    data["links"] = links
    return data
