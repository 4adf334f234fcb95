"""Whether a file's scan is in the bucket, whole: the check a batch makes before sending a file
and once more before it calls the file stored; many at once, in parallel, for the latter."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.core.layout import scan_record_key
from pipeline.core.naming import to_nfc
from pipeline.services.context import Context
from pipeline.services.models import ScanResult
from pipeline.services.parallel import read_each


def stored_result(ctx: Context, path: Path, slug: str, sha256: str) -> dict[str, Any] | None:
    """A `stored` result when the bucket holds this file's scan record and its master, whole.

    The scan record is written last, once everything it points at is stored; the master's
    size and recorded SHA-256 are checked too, so a damaged bucket sends the file again.
    """
    found = ctx.store.read_json(scan_record_key(slug, sha256))
    if found is None:
        return None
    record = found[0]
    try:
        master = record["master"]
        head = ctx.store.head(str(master["key"]), bucket=str(master["bucket"]))
        whole = (
            head is not None
            and head.get("ContentLength") == master["size"]
            and head.get("Metadata", {}).get("sha256") == sha256
        )
    except (KeyError, TypeError):
        whole = False
    if not whole:
        return None
    quality = record.get("quality") or {}
    return ScanResult(
        status="stored",
        path=str(path),
        name=to_nfc(path.name),
        object=slug,
        scan_id=sha256,
        already_stored=True,
        qc_verdict=quality.get("verdict"),
    ).model_dump()


def stored_results(
    ctx: Context, files: Iterable[tuple[str, str | None, str | None]]
) -> Iterator[dict[str, Any] | None]:
    """stored_result for each (path, slug, sha256), in order, checked several at a time (a
    batch's last look at thousands of files is that many round trips); None without both."""

    def check(item: tuple[str, str | None, str | None]) -> dict[str, Any] | None:
        path, slug, sha256 = item
        return stored_result(ctx, Path(path), slug, sha256) if slug and sha256 else None

    yield from read_each(check, list(files), name="stored")
