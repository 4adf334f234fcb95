"""`sohoa process`: one local file through the per-scan work, into a folder; no queue, no S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.core.decode_check import unique
from pipeline.core.fixity import digest_bytes
from pipeline.core.layout import iiif_base_key
from pipeline.core.naming import parse_scan_name
from pipeline.core.profile import ProcessingProfile
from pipeline.core.scan import PreparedScan, prepare_scan
from pipeline.errors import BadNameError
from pipeline.library_output import capture_native_stderr


def preview_scan(
    path: Path, out: Path, *, profile: ProcessingProfile, public_base_url: str
) -> dict[str, Any]:
    """Make what ingest would make of `path` and write it under `out`; return the summary.

    Raises the same PermanentError ingest would quarantine the file with.
    """
    data = path.read_bytes()
    sha256 = digest_bytes(data).sha256
    notes: list[str] = []
    try:
        view = parse_scan_name(path.name, profile.naming.pattern).view
    except BadNameError as exc:
        # A preview still shows the pixels; ingest would refuse the name.
        notes.append(exc.message)
        view = "front"
    iiif_id = f"{public_base_url.rstrip('/')}/{iiif_base_key(sha256)}"
    with capture_native_stderr() as said:
        prepared = prepare_scan(data, name=path.name, view=view, profile=profile, iiif_id=iiif_id)
    prepared.warnings = unique([*prepared.warnings, *said])
    written = _write(prepared, out, sha256)
    summary = {
        "file": str(path),
        "scan_id": sha256,
        "view": view,
        "format": prepared.decoded.format.pillow_format,
        "width": prepared.decoded.width,
        "height": prepared.decoded.height,
        "upright_width": prepared.upright_width,
        "upright_height": prepared.upright_height,
        "stored_width": prepared.decoded.width,
        "stored_height": prepared.decoded.height,
        "displayed_width": prepared.upright_width,
        "displayed_height": prepared.upright_height,
        "bit_depth": prepared.decoded.bit_depth,
        "pages": prepared.decoded.pages,
        "icc_profile": prepared.decoded.icc_description,
        "orientation": prepared.decoded.orientation,
        "metadata": prepared.metadata.model_dump(mode="json"),
        "quality": prepared.quality.model_dump(mode="json"),
        "tags": [tag.model_dump(mode="json") for tag in prepared.tags],
        "derivatives": {d.name: [d.width, d.height] for d in prepared.derivatives},
        "iiif_files": len(prepared.tiles.files) if prepared.tiles else 0,
        "warnings": prepared.warnings + notes,
        "written": written,
    }
    (out / "scan.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")
    return summary


def _write(prepared: PreparedScan, out: Path, sha256: str) -> int:
    count = 0
    for derivative in prepared.derivatives:
        target = out / "derivatives" / f"{derivative.name}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(derivative.data)
        count += 1
    for relative, body in prepared.tiles.files if prepared.tiles else []:
        target = out / iiif_base_key(sha256) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        count += 1
    return count
