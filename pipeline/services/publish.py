"""Publish an artefact: merge its scans and inventory row into a schema-valid catalogue record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jsonschema

from pipeline import __version__
from pipeline.core.iiif import PRESENTATION_CONTEXT, build_manifest
from pipeline.core.inventory import Inventory, InventoryRow
from pipeline.core.layout import (
    iiif_base_url,
    inventory_key,
    manifest_key,
    record_key,
    scans_prefix,
)
from pipeline.core.records import ArtefactRecord, ScanRecord, build_record
from pipeline.errors import ConcurrentUpdateError, RecordInvalidError
from pipeline.services.context import Context
from pipeline.services.models import PublishResult
from schemas import load_schema

MANIFEST_MEDIA_TYPE = f'application/ld+json;profile="{PRESENTATION_CONTEXT}"'


def validate_record(data: dict[str, Any]) -> None:
    """Collect every schema violation of a record before raising (a bug if it ever fires)."""
    validator = jsonschema.Draft202012Validator(load_schema("record"))
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(data)
    ]
    if problems:
        raise RecordInvalidError(
            f"record {data.get('object')!r} does not validate against schemas/record",
            problems=problems,
        )


def load_scans(ctx: Context, object_slug: str) -> list[ScanRecord]:
    scans = []
    for key in ctx.store.list_keys(scans_prefix(object_slug)):
        found = ctx.store.read_json(key)
        if found is not None:
            scans.append(ScanRecord.model_validate(found[0]))
    return scans


def load_inventory_row(ctx: Context, object_slug: str) -> InventoryRow | None:
    found = ctx.store.read_json(inventory_key(object_slug))
    return InventoryRow.model_validate(found[0]) if found else None


def publish_record(ctx: Context, object_slug: str) -> PublishResult:
    """Write `records/{object}.json` from what the bucket holds now.

    The scans are listed inside the compare-and-swap loop, after the record's ETag is read: of
    two concurrent publishers, the one that writes last has seen every scan written before it.
    """
    outcome: dict[str, Any] = {"status": "unchanged", "views": 0}

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        scans = load_scans(ctx, object_slug)
        outcome["views"] = len(scans)
        if not scans:
            outcome["status"] = "no_scans"
            return None
        previous = ArtefactRecord.model_validate(current) if current else None
        record = build_record(
            object_slug,
            scans,
            load_inventory_row(ctx, object_slug),
            previous=previous,
            profile=ctx.profile.name,
            pipeline_version=__version__,
            now=datetime.now(UTC).replace(microsecond=0),
            dimension_tolerance=ctx.profile.session.dimension_tolerance,
        )
        if record is previous:
            outcome["status"] = "unchanged"
            return None
        data = record.model_dump(mode="json")
        validate_record(data)
        outcome["status"] = "written"
        return data

    ctx.store.update_json(record_key(object_slug), change)
    write_manifest(ctx, object_slug)
    return PublishResult(
        object=object_slug,
        status=outcome["status"],
        views=outcome["views"],
        key=record_key(object_slug),
    )


def write_manifest(ctx: Context, object_slug: str, *, attempts: int = 20) -> bool:
    """Write `manifests/{object}.json` (IIIF Presentation 3) from the record as it stands.

    A publisher that built its manifest from a record another publisher has since replaced
    builds it again, so the last manifest written always matches the last record.
    """
    public = ctx.settings.public_base_url.rstrip("/")
    key = manifest_key(object_slug)
    for _ in range(attempts):
        found = ctx.store.read_json(record_key(object_slug))
        if found is None:
            return False
        record = ArtefactRecord.model_validate(found[0])
        if not record.views or any(view.iiif is None for view in record.views):
            return False
        manifest = build_manifest(
            record,
            manifest_id=f"{public}/{key}",
            iiif_base=iiif_base_url(public),
            max_long_edge=ctx.profile.derivatives.access,
            upright_sizes={
                v.scan_id: (v.upright_width, v.upright_height)
                for v in record.views
                if v.upright_width and v.upright_height
            },
            public_base=public,
        )
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        stored = ctx.store.get_bytes(key)
        if stored is None or stored[0] != body:
            ctx.store.put_bytes(key, body, content_type=MANIFEST_MEDIA_TYPE)
        now = ctx.store.head(record_key(object_slug))
        if now is not None and now.get("ETag") == found[1]:
            return True
    raise ConcurrentUpdateError(f"the record of {object_slug} kept changing; manifest not final")


def register_inventory(ctx: Context, inventory: Inventory) -> list[str]:
    """Store each inventory row as `inventory/{object}.json`; return the objects that changed."""
    changed: list[str] = []
    for slug, row in sorted(inventory.rows.items()):
        wanted = row.model_dump(mode="json")

        def change(current: Any, wanted: dict[str, Any] = wanted, slug: str = slug) -> Any:
            if current == wanted:
                return None
            changed.append(slug)
            return wanted

        ctx.store.update_json(inventory_key(slug), change)
    return sorted(set(changed))


def read_record(ctx: Context, object_slug: str) -> ArtefactRecord | None:
    found = ctx.store.read_json(record_key(object_slug))
    return ArtefactRecord.model_validate(found[0]) if found else None
