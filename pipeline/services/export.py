"""Export one artefact as museums exchange it: LIDO, Dublin Core, a BagIt package; reads only."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import bagit
from pydantic import BaseModel, ConfigDict

from config.settings import SohoaSettings
from pipeline import __version__
from pipeline.core.dublin_core import to_dublin_core
from pipeline.core.layout import manifest_key, record_key
from pipeline.core.lido import LidoLinks, to_lido
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.errors import IntegrityError, SohoaError
from pipeline.services.context import Context

log = logging.getLogger(__name__)

OAI_DC_NS: Final = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA: Final = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS: Final = "http://purl.org/dc/elements/1.1/"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
BAGIT_VERSION: Final = "1.0"
ALGORITHMS: Final = ("sha256", "sha512")

ET.register_namespace("oai_dc", OAI_DC_NS)
ET.register_namespace("dc", DC_NS)


class ExportError(SohoaError):
    """An export that cannot be made as asked: unknown object, a target in the way, a master
    missing from the bucket. Never retried; the message says what to do."""

    def __init__(self, code: str, message: str, *, file: str | None = None) -> None:
        super().__init__(message, file=file)
        self.code = code


class BagResult(BaseModel):
    """What `export_bag` wrote."""

    model_config = ConfigDict(extra="forbid")

    accession_number: str
    object: str
    path: str
    files: list[str]  # payload paths, relative to the bag (data/…)
    bytes: int
    masters: int


# --- finding the record -----------------------------------------------------------------------


def read_record_bytes(ctx: Context, accession: str) -> tuple[ArtefactRecord, bytes]:
    """The record of an accession number (any spelling: 'HM.1/A', 'hm.1-a') and its bytes as
    stored; ExportError UNKNOWN_OBJECT when the bucket has none."""
    try:
        slug = to_object_slug(accession)
    except ValueError:
        slug = None
    found = ctx.store.get_bytes(record_key(slug)) if slug else None
    if found is None:
        raise ExportError(
            "UNKNOWN_OBJECT",
            f"No object has the accession number {accession!r} in bucket "
            f"{ctx.store.bucket!r}: check the number (`sohoa search {accession}`), or ingest "
            "its scans first.",
        )
    return ArtefactRecord.model_validate_json(found[0]), found[0]


# --- the documents --------------------------------------------------------------------------


def links_for(
    settings: SohoaSettings, object_slug: str, *, api_url: str | None = None
) -> LidoLinks:
    """Public URLs of an object: derivatives under the public base URL; the record and the
    manifest through the API when its address is known, else the manifest in the bucket."""
    public = settings.public_base_url.rstrip("/")
    api = (api_url or settings.api_public_url or "").rstrip("/")
    if api:
        return LidoLinks(
            public_base=public,
            manifest_url=f"{api}/iiif/{object_slug}/manifest.json",
            record_url=f"{api}/api/objects/{object_slug}",
        )
    return LidoLinks(public_base=public, manifest_url=f"{public}/{manifest_key(object_slug)}")


def to_lido_xml(
    settings: SohoaSettings, record: ArtefactRecord, *, api_url: str | None = None
) -> bytes:
    links = links_for(settings, record.object, api_url=api_url)
    return to_lido(record, museum=settings.museum_name, links=links)


def to_dc_xml(record: ArtefactRecord, links: LidoLinks) -> bytes:
    """The record as an oai_dc:dc document (what OAI-PMH harvesters receive), UTF-8."""
    root = ET.Element(
        f"{{{OAI_DC_NS}}}dc", {f"{{{XSI_NS}}}schemaLocation": f"{OAI_DC_NS} {OAI_DC_SCHEMA}"}
    )
    values = to_dublin_core(record, object_url=links.record_url, manifest_url=links.manifest_url)
    for value in values:
        attrib = {f"{{{XML_NS}}}lang": value.lang} if value.lang else {}
        ET.SubElement(root, f"{{{DC_NS}}}{value.element}", attrib).text = value.value
    ET.indent(root, space=" ")
    body: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return body


# --- the bag --------------------------------------------------------------------------------


@dataclass
class _Digests:
    """Every file of a bag's payload, hashed once as it is written."""

    payload: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> alg -> hex
    octets: int = 0


class _HashingWriter:
    """A file that hashes what is written to it (sha256 and sha512 in one pass)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self.hashes = {name: hashlib.new(name) for name in ALGORITHMS}
        self.size = 0

    def write(self, data: bytes) -> int:
        for digest in self.hashes.values():
            digest.update(data)
        self.size += len(data)
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()


def _add(bag: Path, digests: _Digests, name: str, data: bytes) -> None:
    path = bag / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digests.payload[name] = {alg: hashlib.new(alg, data).hexdigest() for alg in ALGORITHMS}
    digests.octets += len(data)


def _add_master(ctx: Context, bag: Path, digests: _Digests, record: ArtefactRecord, i: int) -> str:
    view = record.views[i]
    master = view.master
    name = f"data/masters/{master.key.rsplit('/', 1)[-1]}"
    path = bag / name
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = _HashingWriter(path)
    try:
        found = ctx.store.hash_object(master.key, bucket=master.bucket, out=writer)
    finally:
        writer.close()
    if found is not None and found[0] != master.sha256:
        raise IntegrityError(
            f"s3://{master.bucket}/{master.key} does not have the SHA-256 its record gives: "
            "the stored copy may be damaged; run `sohoa audit` (or ingest the original again).",
            expected=master.sha256,
            found=found[0],
        )
    if found is None:
        raise ExportError(
            "MASTER_MISSING",
            f"The master of {record.accession_number} view {view.view} #{view.seq} "
            f"(s3://{master.bucket}/{master.key}) is missing from the bucket: run `sohoa audit` "
            f"and ingest {view.source_name} again.",
            file=view.source_name,
        )
    digests.payload[name] = {alg: h.hexdigest() for alg, h in writer.hashes.items()}
    digests.octets += found[1]
    return name


def _write_tag_files(bag: Path, digests: _Digests, info: dict[str, str]) -> None:
    (bag / "bagit.txt").write_text(
        f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n", "utf-8"
    )
    info = {**info, "Payload-Oxum": f"{digests.octets}.{len(digests.payload)}"}
    (bag / "bag-info.txt").write_text(
        "".join(f"{key}: {value}\n" for key, value in info.items()), "utf-8"
    )
    tag_files = ["bagit.txt", "bag-info.txt"]
    for alg in ALGORITHMS:
        lines = "".join(f"{d[alg]}  {p}\n" for p, d in sorted(digests.payload.items()))
        (bag / f"manifest-{alg}.txt").write_text(lines, "utf-8")
        tag_files.append(f"manifest-{alg}.txt")
    for alg in ALGORITHMS:
        lines = "".join(
            f"{hashlib.new(alg, (bag / name).read_bytes()).hexdigest()}  {name}\n"
            for name in tag_files
        )
        (bag / f"tagmanifest-{alg}.txt").write_text(lines, "utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _prepare_target(target: Path, *, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ExportError(
            "TARGET_NOT_A_DIRECTORY",
            f"{target} exists and is not a directory: choose another path for the bag.",
            file=str(target),
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ExportError(
            "TARGET_NOT_EMPTY",
            f"{target} is not empty: choose an empty or new directory, or add --force to "
            "replace what it holds with the bag.",
            file=str(target),
        )


def export_bag(
    ctx: Context,
    accession: str,
    target: Path,
    *,
    force: bool = False,
    today: date | None = None,
) -> BagResult:
    """Write a BagIt 1.0 bag of one artefact at `target`: its masters (streamed from the bucket,
    SHA-256 checked against the record), the record as stored, the IIIF manifest, LIDO and
    Dublin Core; sha256 and sha512 manifests. Built aside and moved into place only once
    complete, so `target` never holds half a bag."""
    record, record_bytes = read_record_bytes(ctx, accession)
    target = target.absolute()
    _prepare_target(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    links = links_for(ctx.settings, record.object)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digests = _Digests()
        for i in range(len(record.views)):
            _add_master(ctx, building, digests, record, i)
        _add(building, digests, "data/record.json", record_bytes)
        manifest = ctx.store.get_bytes(manifest_key(record.object))
        if manifest is not None:
            _add(building, digests, "data/manifest.json", manifest[0])
        lido = to_lido(record, museum=ctx.settings.museum_name, links=links)
        _add(building, digests, "data/lido.xml", lido)
        _add(building, digests, "data/dublin_core.xml", to_dc_xml(record, links))
        row = record.inventory
        info = {
            "Source-Organization": ctx.settings.museum_name,
            "External-Identifier": record.accession_number,
            "External-Description": _one_line(
                " / ".join(t for t in (row.name_vi, row.name_en) if t.strip()) if row else ""
            )
            or record.accession_number,
            "Bagging-Date": (today or date.today()).isoformat(),
            "Bag-Software-Agent": f"sohoa {__version__} (bagit-python {bagit.VERSION} layout)",
        }
        _write_tag_files(building, digests, info)
        # bagit-python reads it back: every file listed, nothing extra, the Oxum right.
        bagit.Bag(str(building)).validate(completeness_only=True)
        os.chmod(building, 0o755)  # mkdtemp's 0700 is for the bag while it is incomplete
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return BagResult(
        accession_number=record.accession_number,
        object=record.object,
        path=str(target),
        files=sorted(digests.payload),
        bytes=digests.octets,
        masters=len(record.views),
    )
