"""`sohoa inspect`, `sohoa process` and `sohoa duplicates`: parse arguments, call the inspect
and preview services, render; nothing is queued or stored."""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from config.profile import load_profile
from pipeline.cli.common import fail, settings_of
from pipeline.services.read_ahead import ReadAhead

# The services and their libraries (numpy, OpenCV, Pillow, tifffile, the models) are imported
# where a command runs: `sohoa inspect` reads and hashes the file on another core meanwhile.
if TYPE_CHECKING:
    from config.settings import SohoaSettings
    from pipeline.adapters.s3_store import S3Store
    from pipeline.core.chart import ChartReport
    from pipeline.core.inventory import InventoryRow
    from pipeline.core.metadata import ScanMetadata
    from pipeline.services.inspect import DuplicatesResult, InspectResult

# Terminal control sequences have no place in a report: a file name or an embedded field could
# otherwise move the cursor or recolour the screen.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MAX_SHOWN = 300  # characters of one metadata value shown (--json has them all)
_SYMBOL = {"pass": "✓", "warn": "!", "fail": "✗"}
_COLOUR = {"pass": "green", "warn": "yellow", "fail": "red"}


def _show(value: object, limit: int = _MAX_SHOWN) -> str:
    """One line, no control characters, capped."""
    text = _CONTROL.sub("?", " ".join(str(value).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(label: str, value: object, indent: int = 2) -> None:
    click.echo(f"{' ' * indent}{label:<14} {_show(value)}")


# --- inspect -------------------------------------------------------------------------------------


@click.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--inventory",
    "inventory_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Inventory sheet (CSV): adds the object's material, period and type tags.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.pass_context
def inspect_command(
    ctx: click.Context, file: Path, inventory_path: Path | None, as_json: bool
) -> None:
    """Show what ingest would make of FILE, storing nothing.

    Decodes the file, reads its embedded metadata, judges its quality with the profile's
    thresholds and tags it, as a worker would. GPS positions and serial numbers are shown,
    marked restricted: they are kept in scan records but never published.
    Exit status 1 when ingest would quarantine the file (its code and message are printed).

    \b
    Examples:
      sohoa inspect BTCVH.GS.0012_front_1.tif
      sohoa inspect scan.jpg --json | jq .quality.verdict
    """
    settings = settings_of(ctx)
    try:
        profile = load_profile(settings.profile_path)
    except (OSError, ValueError) as exc:
        fail(f"cannot use the processing profile {settings.profile_path}: {exc}")
    # The photographer waits for this: the file is read and hashed on the other core while
    # this one imports what inspecting needs; then OpenCV makes its colour tables on a thread
    # of its own while this one decodes.
    ahead = ReadAhead(file, limit=profile.limits.max_file_mb * 1024 * 1024, md5=as_json)
    # The import makes ~90,000 objects that live as long as the process: collecting garbage
    # meanwhile finds none and cost 0.07 CPU-s.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from pipeline.services.inspect import inspect_scan
    finally:
        if collecting:
            gc.enable()
    # Python's last collections at the exit walk all of those objects too (0.07 s of a fresh
    # `sohoa inspect`): frozen at the exit, they are skipped. Run in-process (tests), this
    # happens at that process's own end.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    warm = threading.Thread(target=_warm_opencv, name="sohoa-warm-opencv", daemon=True)
    warm.start()
    try:
        inventory = _read_inventory(inventory_path) if inventory_path else None
        try:
            result = inspect_scan(
                file, profile, inventory=inventory, read=ahead.result(), md5=as_json
            )
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror or exc}")
    finally:
        warm.join()  # OpenCV is not left half set up at the process's exit
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        render_inspection(result)
    sys.exit(0 if result.would_store else 1)


def _warm_opencv() -> None:
    """OpenCV builds its CIELAB tables at the first conversion (0.08 CPU-s): the quality checks
    would wait for it; made on another thread (OpenCV lets go of the GIL) once the main
    thread has imported OpenCV. A failure here fails again where it matters."""
    import cv2
    import numpy as np

    with contextlib.suppress(cv2.error):
        cv2.cvtColor(np.zeros((1, 1, 3), np.float32), cv2.COLOR_RGB2Lab)


def _read_inventory(path: Path) -> dict[str, InventoryRow]:
    from pipeline.core.inventory import parse_inventory_csv
    from schemas import inventory_columns

    try:
        parsed = parse_inventory_csv(path.read_bytes(), columns=inventory_columns())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
        return {}
    for problem in parsed.problems:
        click.secho(f"inventory line {problem.line}: {problem.message}", fg="yellow", err=True)
    return parsed.rows


def render_inspection(result: InspectResult) -> None:
    """The result for people: the file, its name, pixels, metadata, tags, quality, verdict."""
    click.secho(_show(result.file.name), bold=True)
    facts = result.file
    _line("File", f"{facts.size:,} bytes  {_show(facts.path)}")
    if facts.sha256:
        _line("SHA-256", f"{facts.sha256}  (the scan id)")
    if result.name is not None:
        name = result.name
        view = name.view if name.view_known else f"{name.view} (not a known view)"
        _line("Name", f"accession {name.accession} · object {name.object} · {view} #{name.seq}")
    if result.image is not None:
        image = result.image
        upright = ""
        if (image.upright_width, image.upright_height) != (image.width, image.height):
            upright = f" stored (shown upright {image.upright_width}×{image.upright_height})"
        _line(
            "Image",
            f"{image.format} ({image.media_type}) {image.width}×{image.height}{upright}, "
            f"{image.mode} {image.bit_depth}-bit, {image.pages} page(s)",
        )
        _line("Colour", image.icc_profile or "no ICC profile (taken as sRGB)")
        if image.orientation not in (None, 1):
            _line("Orientation", f"EXIF {image.orientation}: turned upright for display")
    if result.metadata is not None:
        _render_metadata(result.metadata)
    if result.tags:
        click.secho("  Tags", bold=True)
        for tag in result.tags:
            kind, _, _ = tag.value.partition(":")
            label = (
                tag.label_vi if tag.label_vi == tag.label_en else f"{tag.label_vi} / {tag.label_en}"
            )
            click.echo(f"    {kind:<12} {tag.confidence:4.2f}  {tag.source:<18} {_show(label)}")
    for note in result.tag_notes:
        click.secho(f"    note: {_show(note)}", fg="yellow")
    if result.quality is not None:
        quality = result.quality
        click.secho(f"  Quality        {quality.verdict}", bold=True, fg=_COLOUR[quality.verdict])
        for finding in quality.findings:
            click.secho(
                f"    {_SYMBOL[finding.status]} {finding.check:<16} {finding.message}",
                fg=None if finding.status == "pass" else _COLOUR[finding.status],
            )
    if result.colour is not None and result.colour.found:
        render_colour(result.colour)
    for warning in result.warnings:
        click.secho(f"  ! {_show(warning)}", fg="yellow")
    if result.problems:
        first = result.problems[0]
        click.secho(f"Ingest would quarantine this file: {first.code}", fg="red", bold=True)
        click.echo(f"  {_show(first.message, 1000)}")
        for other in result.problems[1:]:
            click.echo(f"  also {other.code}: {_show(other.message, 1000)}")
    else:
        verdict = result.quality.verdict if result.quality else "?"
        click.secho(f"Ingest would store this file (quality {verdict}).", fg="green", bold=True)


def render_colour(report: ChartReport) -> None:
    """The colour chart: level and finding, then each patch's ΔE2000 (worst first)."""
    level = "" if report.level is None else f"{'★' * report.level}{'☆' * (4 - report.level)}  "
    click.secho(f"  Colour chart   {level}{report.status}", bold=True, fg=_COLOUR[report.status])
    click.echo(f"    {_show(report.message, 1000)}")
    measured = report.measurement
    if measured is None:
        return
    click.echo(
        f"    mean ΔE2000 {measured.mean_delta_e:.2f} · p90 {measured.p90_delta_e:.2f} · "
        f"max {measured.max_delta_e:.2f} ({measured.worst_patch}) · reference {measured.edition}"
    )
    click.echo(
        f"    neutral patches: L* error {measured.neutral_l_error:+.2f}, "
        f"a* {measured.neutral_a:+.2f}, b* {measured.neutral_b:+.2f}"
    )
    if report.pixels_per_mm:
        click.echo(f"    scale at the chart: {report.pixels_per_mm:.2f} px/mm")
    click.echo(f"    measured: {measured.source}")
    for patch in sorted(measured.patches, key=lambda p: -p.delta_e):
        lab = " ".join(f"{v:6.1f}" for v in patch.measured)
        ref = " ".join(f"{v:6.1f}" for v in patch.reference)
        click.echo(f"      {patch.name:<22} ΔE {patch.delta_e:5.2f}   Lab {lab}   ref {ref}")


def _render_metadata(metadata: ScanMetadata) -> None:
    exif = metadata.exif
    camera = " ".join(part for part in (exif.make, exif.model) if part)
    exposure = " · ".join(
        part
        for part in (
            _exposure(exif.exposure_time),
            f"f/{exif.f_number:g}" if exif.f_number else "",
            f"ISO {exif.iso}" if exif.iso else "",
            f"{exif.focal_length:g} mm" if exif.focal_length else "",
        )
        if part
    )
    shown = [
        ("Camera", camera),
        ("Lens", exif.lens),
        ("Exposure", exposure),
        ("Captured", exif.capture_datetime),
        ("Software", exif.software),
        ("Artist", exif.artist),
        ("Copyright", exif.copyright),
        ("Description", exif.description),
    ]
    _section("EXIF", shown)
    _section("XMP", _fields(metadata.xmp.model_dump(exclude={"languages"})))
    _section("IPTC", _fields(metadata.iptc.model_dump()))
    restricted = metadata.restricted
    marked: list[tuple[str, Any]] = []
    if restricted.gps is not None:
        gps = restricted.gps
        where = f"{gps.latitude:.6f}, {gps.longitude:.6f}"
        if gps.altitude is not None:
            where += f", {gps.altitude:g} m"
        marked.append(("GPS", where))
    for label, value in (
        ("Body serial", restricted.body_serial),
        ("Lens serial", restricted.lens_serial),
        ("Camera owner", restricted.camera_owner),
    ):
        marked.append((label, value))
    _section(
        "Restricted",
        [
            (label, f"{_show(value)}  [restricted: never published]")
            for label, value in marked
            if value
        ],
    )
    for warning in metadata.warnings:
        click.secho(f"    metadata: {_show(warning)}", fg="yellow")


def _exposure(seconds: float | None) -> str:
    if not seconds:
        return ""
    return f"1/{round(1 / seconds)} s" if seconds < 0.5 else f"{seconds:g} s"


def _fields(values: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (
            name.replace("_", " ").capitalize(),
            "; ".join(value) if isinstance(value, list) else value,
        )
        for name, value in values.items()
    ]


def _section(title: str, rows: list[tuple[str, Any]]) -> None:
    rows = [(label, value) for label, value in rows if value not in (None, "", [])]
    if not rows:
        return
    click.secho(f"  {title}", bold=True)
    for label, value in rows:
        _line(label, value, indent=4)


# --- process ------------------------------------------------------------------------------------


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Folder for the derivatives, IIIF tiles and scan.json.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def process(ctx: click.Context, file: Path, out: Path, as_json: bool) -> None:
    """Preview what the pipeline makes of one file, locally: no queue, no storage.

    Writes derivatives/{access,preview,thumb}.jpg, iiif/{scan}/… and scan.json (metadata,
    quality) under --out. A file ingest would quarantine prints its code and exits 1.
    """
    from pipeline.errors import PermanentError
    from pipeline.services.preview import preview_scan

    settings = settings_of(ctx)
    out.mkdir(parents=True, exist_ok=True)
    try:
        summary = preview_scan(
            file,
            out,
            profile=load_profile(settings.profile_path),
            public_base_url=settings.public_base_url,
        )
    except PermanentError as exc:
        fail(f"{exc.code}: {exc.message}", code=1)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{file.name}: {summary['format']} {summary['width']}×{summary['height']} "
        f"{summary['bit_depth']}-bit, {summary['pages']} page(s), "
        f"profile {summary['icc_profile'] or 'none (treated as sRGB)'}"
    )
    quality = summary["quality"]
    click.echo(f"  quality {quality['verdict']}")
    for finding in quality["findings"]:
        if finding["status"] != "pass":
            click.echo(f"    - {finding['message']}")
    for warning in summary["warnings"]:
        click.secho(f"  ! {warning}", fg="yellow")
    click.echo(f"  wrote {summary['written']} files under {out}/ (and scan.json)")


# --- duplicates ----------------------------------------------------------------------------------


@click.command("duplicates")
@click.option(
    "--max-distance",
    type=click.IntRange(0, 64),
    default=6,
    show_default=True,
    help="Largest Hamming distance (of 64 bits) between two perceptual hashes to report.",
)
@click.option(
    "--across-objects",
    is_flag=True,
    help="Only pairs of different artefacts (a vase's front and back often look alike).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def duplicates_command(
    ctx: click.Context, max_distance: int, across_objects: bool, as_json: bool
) -> None:
    """List pairs of stored scans that look alike (perceptual hash), closest first.

    A resized or recompressed copy of a scan differs by a few bits; different objects usually
    by far more. Blank frames are skipped. Nothing is changed in the bucket.

    \b
    Examples:
      sohoa duplicates
      sohoa duplicates --max-distance 2 --across-objects --json
    """
    from pipeline.errors import SohoaError
    from pipeline.services.inspect import find_duplicate_scans

    settings = settings_of(ctx)
    try:
        result = find_duplicate_scans(
            _store_of(settings),
            max_distance=max_distance,
            across_objects=across_objects,
        )
    except SohoaError as exc:
        fail(exc.message)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    render_duplicates(result)


def render_duplicates(result: DuplicatesResult) -> None:
    """Each pair on two lines: object, view, source name; then what was skipped and why."""
    scope = " between different artefacts" if result.scope == "across_objects" else ""
    click.echo(
        f"Compared {result.scanned:,} scans in {result.seconds:.1f} s: {len(result.pairs):,} "
        f"{'pair' if len(result.pairs) == 1 else 'pairs'}{scope} within {result.max_distance} "
        "bits."
    )
    for pair in result.pairs:
        note = "  (same artefact)" if pair.same_object else ""
        for prefix, ref in ((f"{pair.distance:>3} bits", pair.a), ("", pair.b)):
            click.echo(
                f"  {prefix:<9} {_show(ref.object, 40):<24} {ref.view:<7} #{ref.seq:<3} "
                f"{_show(', '.join(ref.source_names), 80)}" + (note if not prefix else "")
            )
    if result.skipped:
        click.secho(f"{len(result.skipped):,} scans skipped:", fg="yellow")
        for item in result.skipped[:20]:
            click.echo(f"  {item.key}: {_show(item.reason)}")
        if len(result.skipped) > 20:
            click.echo(f"  … and {len(result.skipped) - 20:,} more (see --json)")


def _store_of(settings: SohoaSettings) -> S3Store:
    # Imported here: boto3 is a quarter of a second of start-up `inspect` and `process` never use.
    from pipeline.services.context import Context

    return Context.from_settings(settings).store
