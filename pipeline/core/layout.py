"""The bucket's key layout: every prefix and key is spelled here and only here; pure, no I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

# One prefix per kind of object; S3 lists by prefix, so each ends in "/".
MASTERS_PREFIX: Final = "masters/"
DERIVATIVES_PREFIX: Final = "derivatives/"
IIIF_PREFIX: Final = "iiif/"
SCANS_PREFIX: Final = "scans/"
RECORDS_PREFIX: Final = "records/"
INVENTORY_PREFIX: Final = "inventory/"
MANIFESTS_PREFIX: Final = "manifests/"
REPORTS_PREFIX: Final = "reports/"
# Which scan holds each view and number of an artefact: two files never both become front #1.
NAMES_PREFIX: Final = "names/"
# Capture sessions: one summary per session under its camera's (or folder's) hashed group,
# never named "index", and an index whose keys alone say, per camera or
# folder, when each scan was shot and whether it shows the colour chart (listed, never read).
SESSIONS_PREFIX: Final = "sessions/"
SESSION_INDEX_PREFIX: Final = f"{SESSIONS_PREFIX}index/"
# Fixity reports get a folder of their own under reports/, so no batch id can take their names.
FIXITY_REPORTS_PREFIX: Final = f"{REPORTS_PREFIX}fixity/"
# Files handed to workers through storage (SOHOA_HANDOFF=stage): one object per content,
# named by its SHA-256, deleted once its scan record is written; private, never a master.
INCOMING_PREFIX: Final = "incoming/"

ALL_PREFIXES: Final = (
    MASTERS_PREFIX,
    DERIVATIVES_PREFIX,
    IIIF_PREFIX,
    SCANS_PREFIX,
    RECORDS_PREFIX,
    INVENTORY_PREFIX,
    MANIFESTS_PREFIX,
    REPORTS_PREFIX,
    NAMES_PREFIX,
    SESSIONS_PREFIX,
    INCOMING_PREFIX,
)
# What a browser may GET without credentials: an IIIF viewer reads info.json and tiles, a page
# shows derivatives, a harvester takes manifests. An allowlist: masters/, scans/ (GPS, camera
# serials), records/, inventory/ (shelf locations), reports/ and any prefix added later stay
# private.
PUBLIC_PREFIXES: Final = (IIIF_PREFIX, DERIVATIVES_PREFIX, MANIFESTS_PREFIX)
# The only prefixes a URL is ever signed for; never masters (an allowlist, as above).
SIGNABLE_PREFIXES: Final = (DERIVATIVES_PREFIX,)

# The id becomes part of an S3 key and of file names: letters, digits and . _ - only.
_BATCH_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_JSON: Final = ".json"


def master_key(object_slug: str, scan_id: str, extension: str) -> str:
    return f"{MASTERS_PREFIX}{object_slug}/{scan_id}.{extension}"


def to_master_parts(key: str) -> tuple[str, str] | None:
    """'masters/hm.1/ab12….tif' -> ('hm.1', 'ab12…'); None for anything else."""
    rest = key.removeprefix(MASTERS_PREFIX)
    slug, _, name = rest.partition("/")
    scan_id = name.partition(".")[0]
    if rest == key or not slug or "/" in name or not scan_id:
        return None
    return slug, scan_id


def staged_key(sha256: str) -> str:
    """Where the stage hand-off puts a file's bytes for a worker: 'incoming/{sha256}'."""
    return f"{INCOMING_PREFIX}{sha256}"


def to_staged_sha256(key: str) -> str | None:
    """'incoming/ab12…' -> 'ab12…' (64 lowercase hex digits); None for anything else."""
    sha256 = key.removeprefix(INCOMING_PREFIX)
    if sha256 == key or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    return sha256


def derivative_key(object_slug: str, scan_id: str, name: str) -> str:
    return f"{DERIVATIVES_PREFIX}{object_slug}/{scan_id}/{name}.jpg"


def scans_prefix(object_slug: str) -> str:
    """Where the scan records of one object are: list it to find its views."""
    return f"{SCANS_PREFIX}{object_slug}/"


def scan_record_key(object_slug: str, scan_id: str) -> str:
    return f"{scans_prefix(object_slug)}{scan_id}{_JSON}"


def view_claims_key(object_slug: str) -> str:
    """The object's claims of view and number by scan (private, like scans/)."""
    return f"{NAMES_PREFIX}{object_slug}{_JSON}"


def to_scan_of(key: str) -> tuple[str, str] | None:
    """'scans/hm.1-a/ab…ef.json' -> ('hm.1-a', 'ab…ef'); None for anything else."""
    rest = key.removeprefix(SCANS_PREFIX)
    slug, _, name = rest.partition("/")
    if rest == key or not slug or "/" in name or not name.endswith(_JSON) or name == _JSON:
        return None
    return slug, name.removesuffix(_JSON)


def iiif_base_key(scan_id: str) -> str:
    """The folder of one scan's static IIIF image service (info.json and tiles)."""
    return f"{IIIF_PREFIX}{scan_id}"


def iiif_base_url(public_base_url: str) -> str:
    """The URL under which each scan's image service is `{url}/{scan_id}`."""
    return f"{public_base_url.rstrip('/')}/{IIIF_PREFIX.removesuffix('/')}"


def record_key(object_slug: str) -> str:
    return f"{RECORDS_PREFIX}{object_slug}{_JSON}"


def to_object_slug_of(key: str) -> str | None:
    """'records/hm.1-a.json' -> 'hm.1-a'; None for anything that is not a record's key."""
    name = key.removeprefix(RECORDS_PREFIX)
    if key == name or "/" in name or not name.endswith(_JSON) or name == _JSON:
        return None
    return name.removesuffix(_JSON)


def inventory_key(object_slug: str) -> str:
    return f"{INVENTORY_PREFIX}{object_slug}{_JSON}"


def manifest_key(object_slug: str) -> str:
    return f"{MANIFESTS_PREFIX}{object_slug}{_JSON}"


def is_valid_batch_id(batch_id: str) -> bool:
    return bool(_BATCH_ID.match(batch_id))


def report_key(batch_id: str, fmt: str) -> str:
    if not is_valid_batch_id(batch_id):
        raise ValueError(
            f"Batch id {batch_id!r} cannot name a report: use letters, digits, '.', '_' and '-' "
            "(at most 128, starting with a letter or digit)."
        )
    return f"{REPORTS_PREFIX}{batch_id}.{fmt}"


def fixity_report_keys(moment: datetime) -> list[str]:
    """reports/fixity/YYYYMMDD.json and .csv, named by the UTC day of the check."""
    day = f"{moment.astimezone(UTC):%Y%m%d}"
    return [f"{FIXITY_REPORTS_PREFIX}{day}.{fmt}" for fmt in ("json", "csv")]


def sessions_prefix(group: str) -> str:
    """The summaries of one camera's (or folder's) sessions: list it to drop merged ones."""
    return f"{SESSIONS_PREFIX}{group}/"


def session_key(group: str, session_id: str) -> str:
    return f"{sessions_prefix(group)}{session_id}{_JSON}"


def session_index_prefix(group: str) -> str:
    """Every scan of one camera (or batch folder): list it to find that camera's sessions."""
    return f"{SESSION_INDEX_PREFIX}{group}/"


def session_index_key(
    group: str, moment: datetime | None, object_slug: str, scan_id: str, *, reference: bool
) -> str:
    """'sessions/index/{group}/{yyyymmddthhmmss|-}/{object}/{scan}.{r|s}': every character
    one a key may safely hold ([a-z0-9./-]), as everywhere else in the bucket."""
    when = f"{moment:%Y%m%dt%H%M%S}" if moment is not None else "-"
    kind = "r" if reference else "s"
    return f"{session_index_prefix(group)}{when}/{object_slug}/{scan_id}.{kind}"


def from_session_index_key(key: str) -> tuple[str, datetime | None, str, str, bool] | None:
    """(group, moment, object, scan id, shows the chart) from an index key; None if not one."""
    rest = key.removeprefix(SESSION_INDEX_PREFIX)
    parts = rest.split("/")
    if rest == key or len(parts) != 4 or not all(parts):
        return None
    group, when, slug, name = parts
    scan_id, _, kind = name.rpartition(".")
    if not scan_id or kind not in ("r", "s"):
        return None
    try:
        moment = None if when == "-" else datetime.strptime(when, "%Y%m%dt%H%M%S")
    except ValueError:
        return None
    return group, moment, slug, scan_id, kind == "r"
