"""`sohoa services`, `sohoa demo` and `sohoa worker`: the embedded services for one machine,
the `make run` story and a Celery worker, each started through a service; no process
handling here."""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from config.settings import SohoaSettings
from pipeline.adapters.embedded import create_buckets
from pipeline.cli.catalogue import run_server
from pipeline.cli.common import fail, settings_of
from pipeline.cli.ingest import run_ingest
from pipeline.cli.preflight import check_services
from pipeline.cli.render import render_record
from pipeline.core.catalogue import SearchQuery
from pipeline.core.naming import to_object_slug
from pipeline.core.session import SessionRecord, describe_level
from pipeline.errors import PortsBusyError, SohoaError
from pipeline.sandbox import with_worker_malloc
from pipeline.services.assembly import open_batch_state, open_index
from pipeline.services.audit import run_audit
from pipeline.services.catalogue import reindex as rebuild
from pipeline.services.context import Context
from pipeline.services.correction import check_correction
from pipeline.services.export import export_bag
from pipeline.services.local_stack import (
    PORT_WAIT_SECONDS,
    env_file_path,
    refresh_settings,
    services_down,
    services_status,
    services_up,
    worker_running,
    worker_up,
)
from pipeline.services.publish import read_record
from pipeline.services.status import describe_batch
from workers.app import bulk_queue, configure_app, interactive_queue
from workers.client import is_answering, live_workers

if TYPE_CHECKING:
    from pipeline.samples import SampleCollection


@click.group()
def services() -> None:
    """Embedded services for one machine: Redis (if none answers) and SeaweedFS's S3."""


@services.command("up")
@click.option(
    "--port-wait",
    type=click.FloatRange(min=0),
    default=PORT_WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for a stopped SeaweedFS's recorded ports to free.",
)
@click.option(
    "--move-ports",
    is_flag=True,
    help="If SeaweedFS's recorded ports stay taken, start it on free ones (then restart every "
    "worker and batch: they keep the old address).",
)
@click.pass_context
def services_up_command(ctx: click.Context, port_wait: float, move_ports: bool) -> None:
    """Start what is missing (idempotent) and create the buckets.

    A SeaweedFS that stopped or crashed comes back on the ports it had, so running workers and
    batches find it again; it is moved only with --move-ports.
    """
    _bring_up(settings_of(ctx), port_wait=port_wait, move_ports=move_ports)


@services.command("down")
@click.pass_context
def services_down_command(ctx: click.Context) -> None:
    """Stop what `services up` and `demo` started, by PID (never a Redis that was not ours)."""
    stopped = services_down(settings_of(ctx))
    click.echo(f"Stopped: {', '.join(stopped)}." if stopped else "Nothing of ours was running.")


@services.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def services_status_command(ctx: click.Context, as_json: bool) -> None:
    """Show whether Redis, SeaweedFS and the demo worker run and answer."""
    settings = settings_of(ctx)
    status = services_status(settings)
    status["worker"] = {"pid": worker_running(settings)}
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    for name in ("redis", "seaweedfs"):
        item = status[name]
        state = "answering" if item["answering"] else "not answering"
        owner = f"ours, pid {item['pid']}" if item["ours"] and item["pid"] else "not started by us"
        click.echo(f"  {name:<10} {state:<14} {item['url']}  ({owner})")
    pid = status["worker"]["pid"]
    click.echo(
        f"  {'worker':<10} {'running' if pid else 'not running':<14} "
        + (f"pid {pid}" if pid else "")
    )


@services.command("buckets")
@click.pass_context
def services_buckets_command(ctx: click.Context) -> None:
    """Create the configured bucket(s) on the configured S3 where `services up` is not used
    (production: a cluster, any S3). Private, except anonymous GETs of iiif/, derivatives/ and
    manifests/ and CORS for viewers; run again, it sets that again and creates nothing twice."""
    settings = settings_of(ctx)
    if not settings.s3_endpoint_url:
        fail("SOHOA_S3_ENDPOINT_URL is empty: create AWS buckets with AWS's own tools.")
    names = list(dict.fromkeys([settings.bucket, settings.masters_bucket_name]))
    try:
        created = create_buckets(
            settings.s3_endpoint_url,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            names=names,
            region=settings.s3_region,
        )
    except SohoaError as exc:
        fail(exc.message)
    for name in names:
        done = "created" if name in created else "already there"
        click.echo(f"  {name}: {done}; iiif/, derivatives/, manifests/ publicly readable")


def _bring_up(
    settings: SohoaSettings, *, port_wait: float = PORT_WAIT_SECONDS, move_ports: bool = False
) -> SohoaSettings:
    try:
        state = services_up(settings, port_wait=port_wait, move_ports=move_ports)
    except PortsBusyError as exc:
        users = _endpoint_users(settings)
        fail(exc.message + (f" Using {exc.endpoint} now: {'; '.join(users)}." if users else ""))
    except SohoaError as exc:
        fail(exc.message)
    for name in state.started:
        click.echo(f"  started {name}")
    for name in state.reused:
        click.echo(f"  reusing {name}")
    if state.moved_from:
        users = _endpoint_users(settings)
        click.secho(
            f"  moved: SeaweedFS left {state.moved_from} for {state.s3_endpoint_url}; restart "
            "every worker and batch started before now (they keep the old address)"
            + (f": {'; '.join(users)}" if users else ""),
            fg="yellow",
        )
    elif state.ports_moved and "seaweedfs" in state.started:
        click.secho(
            "  note: SeaweedFS runs on free ports, not its defaults (one was busy when it was "
            "first started)",
            fg="yellow",
        )
    for bucket in state.buckets_created:
        click.echo(f"  created bucket {bucket}")
    click.echo(f"  S3 endpoint {state.s3_endpoint_url} (credentials in {env_file_path(settings)})")
    return refresh_settings(settings)


def _endpoint_users(settings: SohoaSettings) -> list[str]:
    """The workers that answer and the batches not finished: what holds SeaweedFS's address."""
    if not services_status(settings)["redis"]["answering"]:
        return []
    users: list[str] = []
    try:
        configure_app(settings)
        workers = live_workers()
        if workers:
            users.append(f"worker(s) {', '.join(workers)}")
        state = open_batch_state(settings)
        try:
            described = (describe_batch(state, b) for b in state.recent_batches(20))
            running = [d["batch_id"] for d in described if d and d["state"] != "finished"]
        finally:
            state.close()
        if running:
            users.append(f"unfinished batch(es) {', '.join(running)} (run `sohoa batch` again)")
    except SohoaError as exc:
        users.append(f"(could not list the workers and batches: {exc.message})")
    return users


@click.command()
@click.option("--size", default=1600, show_default=True, help="Long edge of the sample scans (px).")
@click.option(
    "--serve",
    "then_serve",
    is_flag=True,
    help="Then serve the catalogue's web page in the foreground (Ctrl-C stops it), as `make run`.",
)
@click.option("--port", type=int, default=None, help="With --serve: the port [default: 8000].")
@click.pass_context
def demo(ctx: click.Context, size: int, then_serve: bool, port: int | None) -> None:
    """What `make run` does: services up, a worker, a generated sample collection, ingested,
    and (with --serve) the catalogue's web page served.

    Running it again reuses everything and adds no duplicates.
    """
    settings = settings_of(ctx)
    click.secho("1. Services", bold=True)
    settings = _bring_up(settings)
    configure_app(settings)
    try:
        pid, started = worker_up(settings, is_ready=lambda node: is_answering(node))
    except SohoaError as exc:
        fail(exc.message)
    click.echo(
        f"  {'started' if started else 'reusing'} worker (pid {pid}), log var/embedded/worker.log"
    )

    click.secho("2. Sample collection", bold=True)
    collection, problems = _demo_inputs(settings.var_dir / "demo", size)
    objects = sorted({scan.accession for scan in collection.scans})
    click.echo(
        f"  {len(collection.scans) + len(collection.charts)} scans of {len(objects)} artefacts "
        f"in {collection.root}, {len(collection.charts)} of them beside a colour chart"
    )

    click.secho("3. Ingest (through the queue, waiting for the worker)", bold=True)
    summary = run_ingest(
        settings,
        [collection.root],
        inventory_path=collection.inventory_csv,
        wait=True,
        batch_id="demo-collection",
    )
    if summary is not None:
        _correction_example(settings, summary.sessions)
    click.secho("4. Bad input, on purpose: these must be quarantined, not stored", bold=True)
    rejected = run_ingest(
        settings, [problems], inventory_path=None, wait=True, batch_id="demo-problems"
    )

    ok = (
        summary is not None
        and summary.ok
        and rejected is not None
        and rejected.summary.quarantined == len(list(problems.iterdir()))
    )
    example = _show_example(settings, objects)
    _search_example(settings)
    ok = _fixity_and_export_example(settings, example) and ok
    click.secho("\nDone." if ok else "\nThe demo did not end as expected.", bold=True,
                fg="green" if ok else "red")  # fmt: skip
    steps = [
        (f"sohoa show {example}", "one artefact's record (add --json for the stored JSON)"),
        ("sohoa search lu huong dong", "search, diacritics optional (finds Lư hương đồng)"),
        ("sohoa batch DIR --inventory CSV", "your own scans: progress, resumable, a report"),
        ("sohoa status", "workers, queues, today's figures, recent batches"),
        ("sohoa watch DROP_FOLDER", "a hot folder: files are taken once complete"),
        (f"sohoa export {example} --lido -", "the record as LIDO XML (--bagit DIR: a BagIt bag)"),
        ("make serve", "the web page, the API (/docs) and OAI-PMH (/oai) on 127.0.0.1:8000"),
        (f"ls {settings.quarantine_path}/demo-problems", "rejected files with a .reason.json each"),
        ("make status   /   make stop", "the services, and stopping them"),
    ]
    click.echo("Try next (the `sohoa` command is .venv/bin/sohoa):")
    for command, what in steps:
        click.echo(f"  {command:<44} {what}")
    if ok and then_serve:
        click.secho("\n8. The catalogue's web page (search, objects, deep zoom)", bold=True)
        run_server(settings, port=port)
    sys.exit(0 if ok else 1)


def _correction_example(settings: SohoaSettings, sessions: list[SessionRecord]) -> None:
    """A failing session corrected: its chart measured again in its access image remade with
    the session's matrix (in memory: the profile's `correct` stays as it is)."""
    sctx = Context.from_settings(settings)
    for session in sessions:
        if session.verdict == "pass":
            continue
        check = check_correction(sctx, session)
        if check is None or check.after is None:
            continue
        click.echo(
            f"  with `[session] correct = true` in the profile, the {session.scans} scans of the "
            f"{session.camera or 'folder'} session\n    get access images and tiles through its "
            "chart's 3×3 matrix (masters untouched); its chart, measured again\n    in the "
            f"corrected access image: mean ΔE2000 {check.before:.1f} → {check.after:.1f} "
            f"({describe_level(check.before_level)} → {describe_level(check.after_level)})"
        )


def _show_example(settings: SohoaSettings, accessions: list[str]) -> str:
    """Print the record of the artefact with the most views; return its accession number."""
    sctx = Context.from_settings(settings)
    records = [r for r in (read_record(sctx, to_object_slug(a)) for a in accessions) if r]
    best = max(records, key=lambda r: (len(r.views), r.inventory is not None))
    click.secho("5. One record, as `sohoa show` prints it", bold=True)
    render_record(best, settings)
    return best.accession_number


def _search_example(settings: SohoaSettings) -> None:
    """Rebuild the index from the bucket and search it without diacritics, as visitors type."""
    click.secho("6. The catalogue index, rebuilt from the bucket, and a search", bold=True)
    with open_index(settings) as index:
        result = rebuild(Context.from_settings(settings), index)
        click.echo(f"  indexed {result.indexed} records in {result.seconds:.1f} s")
        found = index.search(SearchQuery(text="binh gom"))
    click.echo(f"  `sohoa search binh gom` finds {found.total}:")
    for hit in found.hits[:5]:
        click.echo(f"    {hit.accession_number:<18} {hit.name_vi}")


def _fixity_and_export_example(settings: SohoaSettings, accession: str) -> bool:
    """Re-hash every master against its record, and bag one artefact for preservation."""
    click.secho("7. Fixity and a preservation package", bold=True)
    sctx = Context.from_settings(settings)
    started = time.monotonic()
    audit = run_audit(sctx, everything=True)
    verdict = "every one as recorded" if audit.ok else f"{len(audit.findings)} problem(s)"
    click.echo(
        f"  `sohoa audit --all`: {audit.checked} masters re-hashed from the bucket in "
        f"{time.monotonic() - started:.1f} s: {verdict}"
    )
    target = settings.var_dir / "demo" / "exports" / f"{to_object_slug(accession)}-bag"
    bag = export_bag(sctx, accession, target, force=True)
    click.echo(
        f"  `sohoa export {accession} --bagit`: {bag.masters} masters, record, IIIF manifest, "
        f"LIDO and Dublin Core in {bag.path} (sha256 + sha512 manifests)"
    )
    return audit.ok


def _demo_inputs(home: Path, size: int) -> tuple[SampleCollection, Path]:
    # Here, not at the top: the sample renderer (numpy, Pillow, fonts) serves the demo alone,
    # and `sohoa worker` and `sohoa services` start without it.
    from pipeline.samples import generate_collection

    started = time.monotonic()
    collection = generate_collection(home / "collection", size=size)
    click.echo(
        f"  generated in {time.monotonic() - started:.1f} s (deterministic: same bytes each run)"
    )
    problems = home / "problems"
    problems.mkdir(parents=True, exist_ok=True)
    first = collection.scans[0].path.read_bytes()
    (problems / "DEMO.LOI.1_front_1.jpg").write_bytes(first[: len(first) // 3])
    (problems / "DEMO.LOI.2_front_1.jpg").write_text("Đây không phải là ảnh (not an image).\n")
    (problems / "DEMO.LOI.3_front_1.tif").write_bytes(b"")
    return collection, problems


# --- worker --------------------------------------------------------------------------------------


@click.command()
@click.option("-c", "--concurrency", type=int, help="Worker processes (default: CPU cores).")
@click.option(
    "-Q",
    "--queues",
    default=None,
    help="Queues to consume, comma-separated (default: {prefix}.interactive,{prefix}.bulk; "
    "sohoa.interactive,sohoa.bulk takes tasks queued before an upgrade).",
)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option(
    "-n", "--hostname", default=None,
    help="Node name, e.g. scans-1@%h (default: sohoa-<random>@<host>).",
)  # fmt: skip
@click.pass_context
def worker(
    ctx: click.Context,
    concurrency: int | None,
    queues: str | None,
    loglevel: str,
    hostname: str | None,
) -> None:
    """Run a Celery worker that processes scans (stop it with Ctrl-C or SIGTERM)."""
    # glibc reads its tunables at start-up only: start again, same PID, with malloc set for
    # big buffers reused from scan to scan (pipeline/sandbox.py).
    environment = with_worker_malloc(os.environ)
    if environment is not None and sys.platform.startswith("linux"):
        os.execve(
            sys.executable, [sys.executable, "-m", "pipeline.cli", *sys.argv[1:]], environment
        )

    settings = settings_of(ctx)
    if concurrency:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    check_services(settings)
    app = configure_app(settings)
    queues = queues or f"{interactive_queue(settings)},{bulk_queue(settings)}"
    try:
        app.worker_main(
            [
                "worker",
                f"--loglevel={loglevel}",
                f"--queues={queues}",
                f"--concurrency={settings.worker_concurrency}",
                f"--hostname={hostname or f'sohoa-{uuid.uuid4().hex[:8]}@%h'}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    except SystemExit as ended:
        _end_worker_process(ended.code)
    _end_worker_process(0)


def _end_worker_process(code: object) -> NoReturn:
    """End the worker once Celery has stopped (its tasks acknowledged or given back, its pool
    joined): exit handlers run and output is flushed, but Python's own finalization (a full
    garbage collection of the worker's heap, then module teardown) is skipped; it changes
    nothing and added about two seconds to every stop on two busy cores."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
