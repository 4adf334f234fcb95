"""OAI-PMH 2.0 with oai_dc over the catalogue: the protocol and its XML; no HTTP, never writes."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from pipeline.core.catalogue import MAX_FACET_VALUES, MAX_PAGE_SIZE, CatalogueIndex, SearchQuery
from pipeline.core.dublin_core import to_dublin_core
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.core.search_text import to_facet_key

log = logging.getLogger(__name__)

OAI_NS: Final = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA: Final = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_NS: Final = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA: Final = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS: Final = "http://purl.org/dc/elements/1.1/"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
METADATA_PREFIX: Final = "oai_dc"
IDENTIFIER_PREFIX: Final = "oai:sohoa:"
GRANULARITY: Final = "YYYY-MM-DDThh:mm:ssZ"
DATESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_PAGE_SIZE: Final = 100
# Datestamps are seconds; a repository with no records still needs a lower bound to announce.
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TOKEN_VERSION: Final = 1
# Facets that become sets, with the parent set's names (vi, en).
SET_FACETS: Final = {"material": ("Chất liệu", "Material"), "period": ("Niên đại", "Period")}

# verb -> (required arguments, optional arguments, resumptionToken allowed instead of them)
_VERBS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]]] = {
    "Identify": ((), (), False),
    "ListMetadataFormats": ((), ("identifier",), False),
    "ListSets": ((), (), True),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set"), True),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set"), True),
    "GetRecord": (("identifier", "metadataPrefix"), (), False),
}
_DAY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# OAI-PMH elements unprefixed (its default namespace), as every harvester's examples show them.
# ElementTree's own default_namespace option refuses unprefixed attributes (verb="..."), so the
# prefixes are registered instead; the registry is ElementTree's, shared by the process.
for _prefix, _uri in (("", OAI_NS), ("oai_dc", OAI_DC_NS), ("dc", DC_NS), ("xsi", XSI_NS)):
    ET.register_namespace(_prefix, _uri)


class OaiError(Exception):
    """A protocol error: the response is an OAI-PMH <error> with this code, not an HTTP error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OaiRepository:
    """What the protocol reads and how it names things; built per request at the HTTP edge."""

    index: CatalogueIndex  # which records exist, their datestamps and sets
    read_record: Callable[[str], ArtefactRecord | None]  # one record from the bucket
    base_url: str  # this endpoint, as harvesters reach it
    object_url: Callable[[str], str]  # slug -> the object's public URL
    manifest_url: Callable[[str], str]  # slug -> its IIIF manifest's public URL
    repository_name: str = "Sohoa catalogue"
    admin_email: str = "catalogue@sohoa.invalid"
    page_size: int = DEFAULT_PAGE_SIZE
    readers: int = 8  # records read from the bucket at once for ListRecords
    # Identify's earliestDatestamp reads every header (~0.8 s for 10,000): the edge may cache it.
    earliest: Callable[[], datetime] | None = None


@dataclass(frozen=True)
class OaiSet:
    """A set: 'material:gom-su' holds the records whose material folds to that slug."""

    spec: str
    name: str
    facet: str
    values: tuple[str, ...]  # facet values as the index spells them; empty for a parent set


@dataclass(frozen=True)
class ListState:
    """A list request, and where its next page starts: all a resumption token carries."""

    verb: str
    set_spec: str | None
    from_: str | None
    until: str | None
    position: int = 0  # in the index's accession order over the set's records
    cursor: int = 0  # items already returned


# --- names, dates and tokens ----------------------------------------------------------------------


def to_oai_identifier(object_slug: str) -> str:
    return f"{IDENTIFIER_PREFIX}{object_slug}"


def from_oai_identifier(identifier: str) -> str | None:
    """The object slug of 'oai:sohoa:{slug}', or None; only canonical slugs reach a bucket key."""
    slug = identifier.removeprefix(IDENTIFIER_PREFIX)
    if slug == identifier or not slug:
        return None
    try:
        return slug if to_object_slug(slug) == slug else None
    except ValueError:
        return None


def to_set_spec(facet: str, value: str) -> str | None:
    """'gốm  Sứ' -> 'material:gom-su', folded as the index folds facets; None if nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", to_facet_key(value)).strip("-")
    return f"{facet}:{slug}" if slug else None


def to_datestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # records are written in UTC
    return moment.astimezone(UTC).strftime(DATESTAMP_FORMAT)


def parse_datestamp(text: str, *, end_of_day: bool) -> tuple[datetime, str]:
    """A from/until argument and its granularity; a day as `until` means up to its last second."""
    try:
        if _SECOND.match(text):
            return datetime.strptime(text, DATESTAMP_FORMAT).replace(tzinfo=UTC), "second"
        if _DAY.match(text):
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day + timedelta(days=1, seconds=-1) if end_of_day else day), "day"
    except ValueError:
        pass
    raise OaiError(
        "badArgument", f"{text!r} is not a datestamp: use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"
    )


def _date_range(state: ListState) -> tuple[datetime | None, datetime | None]:
    lo = parse_datestamp(state.from_, end_of_day=False) if state.from_ else None
    hi = parse_datestamp(state.until, end_of_day=True) if state.until else None
    if lo and hi:
        if lo[1] != hi[1]:
            raise OaiError("badArgument", "from and until must have the same granularity")
        if lo[0] > hi[0]:
            raise OaiError("badArgument", "from is later than until")
    return (lo[0] if lo else None), (hi[0] if hi else None)


def encode_token(state: ListState) -> str:
    data = {
        "v": _TOKEN_VERSION,
        "verb": state.verb,
        "set": state.set_spec,
        "from": state.from_,
        "until": state.until,
        "o": state.position,
        "c": state.cursor,
    }
    raw = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str, verb: str) -> ListState:
    """The state a token carries; any token we did not make is a badResumptionToken."""
    bad = OaiError("badResumptionToken", "the resumptionToken is invalid or has expired")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != _TOKEN_VERSION or data.get("verb") != verb:
        raise bad
    texts = [data.get(k) for k in ("set", "from", "until")]
    position, cursor = data.get("o"), data.get("c")
    if not all(t is None or isinstance(t, str) for t in texts):
        raise bad
    if not (isinstance(position, int) and isinstance(cursor, int) and min(position, cursor) >= 0):
        raise bad
    state = ListState(verb, texts[0], texts[1], texts[2], position, cursor)
    try:
        _date_range(state)
    except OaiError:
        raise bad from None
    return state


# --- what the index knows -------------------------------------------------------------------------


def list_sets(index: CatalogueIndex) -> list[OaiSet]:
    """A parent set per facet in SET_FACETS and a child set per folded value, from the index."""
    facets = index.search(SearchQuery(page_size=1, facet_limit=MAX_FACET_VALUES)).facets
    sets: list[OaiSet] = []
    for facet, (name_vi, name_en) in SET_FACETS.items():
        children: dict[str, list[str]] = {}
        for count in facets.get(facet, []):
            spec = to_set_spec(facet, count.value)
            if spec is not None:
                children.setdefault(spec, []).append(count.value)
        if not children:
            continue
        sets.append(OaiSet(facet, f"{name_vi} / {name_en}", facet, ()))
        for spec, values in sorted(children.items()):
            sets.append(OaiSet(spec, f"{name_vi} / {name_en}: {values[0]}", facet, tuple(values)))
    return sets


def _set_specs(material: str, period: str) -> list[str]:
    found = (to_set_spec("material", material), to_set_spec("period", period))
    return [spec for spec in found if spec is not None]


@dataclass(frozen=True)
class _Header:
    object: str
    datestamp: datetime
    sets: tuple[str, ...]


def _scan(
    index: CatalogueIndex, filters: dict[str, list[str]], start: int
) -> Iterator[tuple[int, _Header]]:
    """Every record (of the filters) from `start`, in accession order: a stable order to page."""
    page, skip = start // MAX_PAGE_SIZE + 1, start % MAX_PAGE_SIZE
    while True:
        query = SearchQuery(
            filters=filters, sort="accession", page=page, page_size=MAX_PAGE_SIZE, facet_limit=0
        )
        result = index.search(query)
        first = (page - 1) * MAX_PAGE_SIZE
        for position, hit in enumerate(result.hits[skip:], start=first + skip):
            sets = tuple(_set_specs(hit.material, hit.period))
            yield position, _Header(hit.object, hit.updated_at, sets)
        if not result.hits or first + len(result.hits) >= result.total:
            return
        page, skip = page + 1, 0


def earliest_datestamp(index: CatalogueIndex) -> datetime:
    """The oldest datestamp in the repository (the epoch when it is empty)."""
    return min((header.datestamp for _, header in _scan(index, {}, 0)), default=_EPOCH)


def _resolve_set(index: CatalogueIndex, spec: str | None) -> tuple[dict[str, list[str]], bool]:
    """The index filters for a set, and whether the index alone counts it exactly."""
    if spec is None:
        return {}, True
    for found in list_sets(index):
        if found.spec == spec:
            return ({found.facet: list(found.values)}, True) if found.values else ({}, False)
    raise OaiError("noRecordsMatch", f"there is no set {spec!r}: ListSets names them")


def _list_page(
    repo: OaiRepository, state: ListState
) -> tuple[list[_Header], ListState | None, int | None]:
    """One page of headers, the state of the next page (None at the end), and the list's size
    when the index can count it without reading it all."""
    lo, hi = _date_range(state)
    filters, counted = _resolve_set(repo.index, state.set_spec)
    spec = state.set_spec

    def wanted(header: _Header) -> bool:
        stamp = header.datestamp.replace(microsecond=0)
        in_set = spec is None or any(s == spec or s.startswith(f"{spec}:") for s in header.sets)
        return in_set and (lo is None or stamp >= lo) and (hi is None or stamp <= hi)

    found: list[_Header] = []
    following: ListState | None = None
    for position, header in _scan(repo.index, filters, state.position):
        if not wanted(header):
            continue
        if len(found) == repo.page_size:
            # Resume at the next record that matches, so a token never leads to an empty page.
            following = replace(state, position=position, cursor=state.cursor + len(found))
            break
        found.append(header)
    if not found:
        raise OaiError("noRecordsMatch", "no records match the set and dates asked for")
    size = None
    if counted and lo is None and hi is None:
        size = repo.index.search(SearchQuery(filters=filters, page_size=1, facet_limit=0)).total
    return found, following, size


# --- the XML --------------------------------------------------------------------------------------


def _oai(tag: str) -> str:
    return f"{{{OAI_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, _oai(tag), attrib)
    element.text = text
    return element


def _envelope(repo: OaiRepository, args: Mapping[str, str], now: datetime) -> ET.Element:
    root = ET.Element(_oai("OAI-PMH"), {f"{{{XSI_NS}}}schemaLocation": f"{OAI_NS} {OAI_SCHEMA}"})
    _sub(root, "responseDate", to_datestamp(now))
    _sub(root, "request", repo.base_url, **args)
    return root


def _to_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _header(parent: ET.Element, header: _Header) -> None:
    element = _sub(parent, "header")
    _sub(element, "identifier", to_oai_identifier(header.object))
    _sub(element, "datestamp", to_datestamp(header.datestamp))
    for spec in header.sets:
        _sub(element, "setSpec", spec)


def _record(parent: ET.Element, repo: OaiRepository, record: ArtefactRecord) -> None:
    element = _sub(parent, "record")
    row = record.inventory
    sets = tuple(_set_specs(row.material, row.period)) if row else ()
    _header(element, _Header(record.object, record.updated_at, sets))
    metadata = _sub(element, "metadata")
    dc = ET.SubElement(
        metadata,
        f"{{{OAI_DC_NS}}}dc",
        {f"{{{XSI_NS}}}schemaLocation": f"{OAI_DC_NS} {OAI_DC_SCHEMA}"},
    )
    values = to_dublin_core(
        record,
        object_url=repo.object_url(record.object),
        manifest_url=repo.manifest_url(record.object),
    )
    for value in values:
        attrib = {f"{{{XML_NS}}}lang": value.lang} if value.lang else {}
        ET.SubElement(dc, f"{{{DC_NS}}}{value.element}", attrib).text = value.value


def _token(parent: ET.Element, following: ListState | None, cursor: int, size: int | None) -> None:
    if following is None and cursor == 0:
        return  # the whole list fitted in one response: no token at all
    attrib = {"cursor": str(cursor)}
    if size is not None:
        attrib["completeListSize"] = str(size)
    _sub(parent, "resumptionToken", encode_token(following) if following else None, **attrib)


# --- the verbs ------------------------------------------------------------------------------------


def _identify(repo: OaiRepository, root: ET.Element, args: Mapping[str, str]) -> None:
    element = _sub(root, "Identify")
    _sub(element, "repositoryName", repo.repository_name)
    _sub(element, "baseURL", repo.base_url)
    _sub(element, "protocolVersion", "2.0")
    _sub(element, "adminEmail", repo.admin_email)
    earliest = repo.earliest() if repo.earliest else earliest_datestamp(repo.index)
    _sub(element, "earliestDatestamp", to_datestamp(earliest))
    # Removed records are not remembered: the bucket is the truth, and it keeps no tombstones.
    _sub(element, "deletedRecord", "no")
    _sub(element, "granularity", GRANULARITY)


def _read_existing(repo: OaiRepository, identifier: str) -> ArtefactRecord:
    slug = from_oai_identifier(identifier)
    record = repo.read_record(slug) if slug else None
    if record is None:
        raise OaiError("idDoesNotExist", f"{identifier!r} is not an identifier in this repository")
    return record


def _check_prefix(prefix: str) -> None:
    if prefix != METADATA_PREFIX:
        raise OaiError(
            "cannotDisseminateFormat", f"{prefix!r} is not supported here: use {METADATA_PREFIX}"
        )


def _list_metadata_formats(repo: OaiRepository, root: ET.Element, args: Mapping[str, str]) -> None:
    if "identifier" in args:
        _read_existing(repo, args["identifier"])
    element = _sub(_sub(root, "ListMetadataFormats"), "metadataFormat")
    _sub(element, "metadataPrefix", METADATA_PREFIX)
    _sub(element, "schema", OAI_DC_SCHEMA)
    _sub(element, "metadataNamespace", OAI_DC_NS)


def _list_sets(repo: OaiRepository, root: ET.Element, args: Mapping[str, str]) -> None:
    if "resumptionToken" in args:
        # Every set is listed in one response, so no token of ours exists for this verb.
        raise OaiError("badResumptionToken", "ListSets lists every set at once: no token applies")
    sets = list_sets(repo.index)
    if not sets:
        raise OaiError("noSetHierarchy", "the catalogue has no materials or periods to group by")
    element = _sub(root, "ListSets")
    for found in sets:
        item = _sub(element, "set")
        _sub(item, "setSpec", found.spec)
        _sub(item, "setName", found.name)


def _list_state(verb: str, args: Mapping[str, str]) -> ListState:
    if "resumptionToken" in args:
        return decode_token(args["resumptionToken"], verb)
    _check_prefix(args["metadataPrefix"])
    state = ListState(verb, args.get("set"), args.get("from"), args.get("until"))
    _date_range(state)  # bad dates are a badArgument now, before any work
    return state


def _list_identifiers(repo: OaiRepository, root: ET.Element, args: Mapping[str, str]) -> None:
    state = _list_state("ListIdentifiers", args)
    headers, following, size = _list_page(repo, state)
    element = _sub(root, "ListIdentifiers")
    for header in headers:
        _header(element, header)
    _token(element, following, state.cursor, size)


def _list_records(repo: OaiRepository, root: ET.Element, args: Mapping[str, str]) -> None:
    state = _list_state("ListRecords", args)
    headers, following, size = _list_page(repo, state)

    def read(slug: str) -> ArtefactRecord | None:
        try:
            return repo.read_record(slug)
        except ValueError as exc:  # not JSON, or not a record: skip it, keep the harvest going
            log.error("OAI-PMH: records/%s.json is not a valid record, left out: %s", slug, exc)
            return None

    with ThreadPoolExecutor(max(1, repo.readers), thread_name_prefix="oai") as pool:
        records = list(pool.map(read, [header.object for header in headers]))
    element = _sub(root, "ListRecords")
    for header, record in zip(headers, records, strict=True):
        if record is None:
            log.warning("OAI-PMH: %s is in the index but not in the bucket", header.object)
            continue
        _record(element, repo, record)
    _token(element, following, state.cursor, size)


def _get_record(repo: OaiRepository, root: ET.Element, args: Mapping[str, str]) -> None:
    _check_prefix(args["metadataPrefix"])
    record = _read_existing(repo, args["identifier"])
    _record(_sub(root, "GetRecord"), repo, record)


_HANDLERS: Final[dict[str, Callable[[OaiRepository, ET.Element, Mapping[str, str]], None]]] = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "ListIdentifiers": _list_identifiers,
    "ListRecords": _list_records,
    "GetRecord": _get_record,
}


def check_arguments(args: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, each once; badVerb or badArgument as the protocol defines."""
    verbs = args.get("verb", [])
    if len(verbs) != 1 or verbs[0] not in _VERBS:
        shown = ", ".join(repr(v) for v in verbs) or "none"
        raise OaiError("badVerb", f"the verb must be one of {', '.join(_VERBS)} (got {shown})")
    verb = verbs[0]
    required, optional, resumable = _VERBS[verb]
    allowed = {"verb", *required, *optional, *(["resumptionToken"] if resumable else [])}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise OaiError("badArgument", f"{verb} does not take {', '.join(unknown)}")
    repeated = sorted(name for name, values in args.items() if len(values) != 1)
    if repeated:
        raise OaiError("badArgument", f"{', '.join(repeated)} must be given once")
    single = {name: values[0] for name, values in args.items()}
    empty = sorted(name for name, value in single.items() if not value)
    if empty:
        raise OaiError("badArgument", f"{', '.join(empty)} must not be empty")
    if "resumptionToken" in single:
        if set(single) != {"verb", "resumptionToken"}:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return verb, single
    missing = [name for name in required if name not in single]
    if missing:
        raise OaiError("badArgument", f"{verb} needs {', '.join(missing)}")
    return verb, single


def respond(repo: OaiRepository, args: Mapping[str, Sequence[str]], *, now: datetime) -> bytes:
    """The OAI-PMH response document for one request's arguments (query string or form body).

    Protocol errors are part of the document (HTTP 200, as the protocol wants); a storage or
    index failure is raised for the HTTP edge to answer 503.
    """
    try:
        verb, single = check_arguments(args)
    except OaiError as exc:
        # After badVerb or badArgument the request element must carry no attributes.
        root = _envelope(repo, {}, now)
        _sub(root, "error", exc.message, code=exc.code)
        return _to_bytes(root)
    root = _envelope(repo, single, now)
    try:
        _HANDLERS[verb](repo, root, single)
    except OaiError as exc:
        for child in list(root)[2:]:
            root.remove(child)
        if exc.code == "badArgument":
            root[1].attrib.clear()
        _sub(root, "error", exc.message, code=exc.code)
    return _to_bytes(root)
