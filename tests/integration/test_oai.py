"""OAI-PMH 2.0 over a real bucket and index: a real harvester (Sickle), each verb, each error."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sickle import Sickle
from sickle.oaiexceptions import IdDoesNotExist, NoRecordsMatch

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.api.app import create_app
from pipeline.api.oai import (
    DC_NS,
    OAI_DC_NS,
    OAI_NS,
    XML_NS,
    ListState,
    encode_token,
    from_oai_identifier,
    to_set_spec,
)
from pipeline.api.options import ApiOptions
from pipeline.core.layout import record_key
from tests.conftest import S3Server
from tests.integration.test_api import Built, build_catalogue, running_server

pytestmark = pytest.mark.integration

PAGE = 2  # small pages, so every list of more than two needs resumption tokens
NS = {"oai": OAI_NS, "oai_dc": OAI_DC_NS, "dc": DC_NS}
DATESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ALL = [
    "btcvh.ds.0031", "btcvh.gs.0012", "btcvh.gs.0013", "hm.1998.45-pl", "hm.2001.7",
    "hm.2003.1", "x.9",
]  # fmt: skip


@pytest.fixture(scope="module")
def built(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_catalogue(s3_server, tmp_path_factory.mktemp("oai"))


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    options = ApiOptions(
        oai_page_size=PAGE, public_url="https://catalogue.example", oai_admin_email="kho@bt.vn"
    )
    with TestClient(create_app(built.settings, options=options)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def harvester(built: Built) -> Iterator[tuple[Sickle, list[dict[str, Any]]]]:
    """Sickle against the app under a real uvicorn; the list records each request it makes."""
    requests: list[dict[str, Any]] = []

    class CountingSickle(Sickle):
        def harvest(self, **kwargs: Any) -> Any:
            requests.append(dict(kwargs))
            return super().harvest(**kwargs)

    app = create_app(built.settings, options=ApiOptions(oai_page_size=PAGE))
    with running_server(app) as base:
        yield CountingSickle(f"{base}/oai", max_retries=0), requests


def oai(client: TestClient, method: str = "GET", **params: str) -> ET.Element:
    """One response, parsed: well-formed XML, the OAI-PMH root, a responseDate and request."""
    if method == "POST":
        response = client.post("/oai", data=params)
    else:
        response = client.get("/oai", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{OAI_NS}}}OAI-PMH"
    assert DATESTAMP.match(root.findtext("oai:responseDate", namespaces=NS) or "")
    assert root.findtext("oai:request", namespaces=NS) == "https://catalogue.example/oai"
    return root


def error_of(root: ET.Element) -> str | None:
    error = root.find("oai:error", NS)
    if error is None:
        return None
    assert error.text  # a sentence for the harvester's operator
    return error.get("code")


def request_attributes(root: ET.Element) -> dict[str, str]:
    request = root.find("oai:request", NS)
    assert request is not None
    return dict(request.attrib)


def identifiers(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iterfind(".//oai:header/oai:identifier", NS)]


def token_of(root: ET.Element) -> ET.Element | None:
    return root.find(".//oai:resumptionToken", NS)


def list_all(client: TestClient, verb: str, **params: str) -> tuple[list[str], list[ET.Element]]:
    """Follow resumption tokens to the end; every page and every identifier, in order."""
    pages, found = [], []
    root = oai(client, verb=verb, **params)
    while True:
        assert error_of(root) is None, ET.tostring(root)
        pages.append(root)
        found += identifiers(root)
        token = token_of(root)
        if token is None or not token.text:
            return found, pages
        root = oai(client, verb=verb, resumptionToken=token.text)


# --- a real harvester ----------------------------------------------------------------------------


def test_sickle_harvests_every_record_through_resumption_tokens(harvester, built):
    sickle, requests = harvester
    requests.clear()
    records = list(sickle.ListRecords(metadataPrefix="oai_dc"))
    assert sorted(r.header.identifier for r in records) == [f"oai:sohoa:{s}" for s in ALL]
    assert len(requests) == 4  # 7 records, 2 a page
    assert [set(r) for r in requests[1:]] == [{"verb", "resumptionToken"}] * 3
    by_id = {r.header.identifier: r for r in records}
    dish = by_id["oai:sohoa:hm.1998.45-pl"]
    assert dish.metadata["title"] == ["Đĩa pháp lam vẽ rồng", "Painted enamel dish"]
    assert dish.metadata["identifier"][0] == "HM.1998.45/PL"
    assert dish.metadata["identifier"][1].endswith("/api/objects/hm.1998.45-pl")
    assert dish.metadata["relation"][0].endswith("/iiif/hm.1998.45-pl/manifest.json")
    assert dish.metadata["coverage"] == ["Minh Mạng"]
    assert dish.metadata["type"] == ["PhysicalObject", "đĩa"]
    assert dish.header.datestamp == "2025-03-01T08:30:00Z"
    assert dish.header.setSpecs == ["material:phap-lam", "period:minh-mang"]
    assert by_id["oai:sohoa:x.9"].metadata["title"] == ["X.9"]
    for record in records:
        assert "masters/" not in record.raw and "Kho 2" not in record.raw


def test_sickle_harvests_a_set_and_identifiers_and_every_other_verb(harvester):
    sickle, _ = harvester
    ceramics = [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc",
                                                               set="material:gom-su")]  # fmt: skip
    assert ceramics == ["oai:sohoa:btcvh.gs.0012", "oai:sohoa:btcvh.gs.0013", "oai:sohoa:hm.2003.1"]
    sets = {s.setSpec: s.setName for s in sickle.ListSets()}
    assert sets["material:gom-su"] == "Chất liệu / Material: gốm sứ"
    assert sets["period:tu-duc"] == "Niên đại / Period: Tự Đức"
    assert {"material", "period"} <= set(sets)
    identify = sickle.Identify()
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.earliestDatestamp == "2024-12-31T23:59:59Z"
    assert identify.deletedRecord == "no"
    formats = [f.metadataPrefix for f in sickle.ListMetadataFormats()]
    assert formats == ["oai_dc"]
    record = sickle.GetRecord(identifier="oai:sohoa:btcvh.gs.0013", metadataPrefix="oai_dc")
    assert record.metadata["title"][0] == "Đồ gốm Huế"
    with pytest.raises(IdDoesNotExist):
        sickle.GetRecord(identifier="oai:sohoa:nope", metadataPrefix="oai_dc")
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListRecords(metadataPrefix="oai_dc", **{"from": "2030-01-01"}))


# --- the verbs ----------------------------------------------------------------------------------


def test_identify_describes_the_repository(client):
    root = oai(client, verb="Identify")
    identify = root.find("oai:Identify", NS)
    assert identify is not None
    values = {child.tag.split("}")[1]: child.text for child in identify}
    assert values == {
        "repositoryName": "Sohoa catalogue",
        "baseURL": "https://catalogue.example/oai",
        "protocolVersion": "2.0",
        "adminEmail": "kho@bt.vn",
        "earliestDatestamp": "2024-12-31T23:59:59Z",
        "deletedRecord": "no",
        "granularity": "YYYY-MM-DDThh:mm:ssZ",
    }
    assert request_attributes(root) == {"verb": "Identify"}


def test_list_records_pages_carry_cursor_and_complete_list_size(client):
    found, pages = list_all(client, "ListRecords", metadataPrefix="oai_dc")
    assert found == [f"oai:sohoa:{slug}" for slug in ALL]  # accession order, each once
    tokens = [token_of(page) for page in pages]
    assert [t.get("cursor") for t in tokens] == ["0", "2", "4", "6"]
    assert {t.get("completeListSize") for t in tokens} == {"7"}
    assert tokens[-1].text is None  # the last page ends the list with an empty token
    for page in pages:
        for header in page.iterfind(".//oai:header", NS):
            assert DATESTAMP.match(header.findtext("oai:datestamp", namespaces=NS) or "")


def test_a_list_that_fits_one_page_has_no_token(client):
    root = oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc", set="period:tu-duc")
    assert identifiers(root) == ["oai:sohoa:btcvh.ds.0031", "oai:sohoa:btcvh.gs.0013"]
    assert token_of(root) is None


def test_dublin_core_is_namespaced_with_languages(client):
    root = oai(client, verb="GetRecord", metadataPrefix="oai_dc", identifier="oai:sohoa:hm.2001.7")
    dc = root.find(".//oai:metadata/oai_dc:dc", NS)
    assert dc is not None
    titles = {t.get(f"{{{XML_NS}}}lang"): t.text for t in dc.iterfind("dc:title", NS)}
    assert titles == {"vi": "Ấn vàng Thừa Thiên", "en": "Gold seal"}
    assert [e.text for e in dc.iterfind("dc:identifier", NS)] == [
        "HM.2001.7",
        "https://catalogue.example/api/objects/hm.2001.7",
    ]
    assert dc.find("dc:relation", NS) is None  # no views, no manifest
    assert {child.tag.split("}")[0][1:] for child in dc} == {DC_NS}
    assert request_attributes(root) == {
        "verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:sohoa:hm.2001.7",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"from": "2025-03-03"}, ["btcvh.ds.0031", "btcvh.gs.0013", "hm.2001.7", "hm.2003.1"]),
        ({"until": "2025-03-02"}, ["btcvh.gs.0012", "hm.1998.45-pl", "x.9"]),  # the whole day
        ({"until": "2025-03-02T08:29:59Z"}, ["hm.1998.45-pl", "x.9"]),
        ({"from": "2025-03-02T08:30:00Z", "until": "2025-03-10T08:30:00Z"},
         ["btcvh.ds.0031", "btcvh.gs.0012", "btcvh.gs.0013"]),
        ({"from": "2025-03-03", "set": "material:gom-su"}, ["btcvh.gs.0013", "hm.2003.1"]),
        ({"set": "material"}, [s for s in ALL if s != "x.9"]),
    ],
)  # fmt: skip
def test_from_until_and_sets_select_records(client, params, expected):
    found, pages = list_all(client, "ListIdentifiers", metadataPrefix="oai_dc", **params)
    assert found == [f"oai:sohoa:{slug}" for slug in expected]
    if len(pages) > 1:
        # The index cannot count a date range or a parent set without reading it all.
        assert token_of(pages[0]).get("completeListSize") is None


def test_a_record_damaged_in_the_bucket_is_left_out_and_the_harvest_goes_on(client, built):
    store = built.ctx.store
    good = store.get_bytes(record_key("x.9"))
    assert good is not None
    store.put_bytes(record_key("x.9"), b'{"object": "x.9"}', content_type="application/json")
    try:
        found, _ = list_all(client, "ListRecords", metadataPrefix="oai_dc")
    finally:
        store.put_bytes(record_key("x.9"), good[0], content_type="application/json")
    assert found == [f"oai:sohoa:{slug}" for slug in ALL if slug != "x.9"]


def test_post_requests_work_like_get(client):
    root = oai(client, "POST", verb="ListIdentifiers", metadataPrefix="oai_dc", set="period:tu-duc")
    assert len(identifiers(root)) == 2


def test_list_metadata_formats_for_one_item(client):
    root = oai(client, verb="ListMetadataFormats", identifier="oai:sohoa:x.9")
    assert root.findtext(".//oai:metadataPrefix", namespaces=NS) == "oai_dc"
    assert root.findtext(".//oai:metadataNamespace", namespaces=NS) == OAI_DC_NS


# --- every error --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Harvest"}, "badVerb"),
        ({"verb": ["Identify", "Identify"]}, "badVerb"),
        ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "oai_dc"]}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": ""}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-02-30"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-03-01",
          "until": "2025-03-09T00:00:00Z"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-03-09",
          "until": "2025-03-01"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"},
         "badArgument"),
        ({"verb": "GetRecord", "identifier": "oai:sohoa:x.9"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
        ({"verb": "GetRecord", "identifier": "oai:sohoa:x.9", "metadataPrefix": "marc21"},
         "cannotDisseminateFormat"),
        ({"verb": "GetRecord", "identifier": "oai:sohoa:nope", "metadataPrefix": "oai_dc"},
         "idDoesNotExist"),
        ({"verb": "GetRecord", "identifier": "x.9", "metadataPrefix": "oai_dc"},
         "idDoesNotExist"),
        ({"verb": "GetRecord", "identifier": "oai:sohoa:../records/x.9",
          "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"verb": "ListMetadataFormats", "identifier": "oai:sohoa:nope"}, "idDoesNotExist"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2030-01-01"},
         "noRecordsMatch"),
        ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "material:nhua"},
         "noRecordsMatch"),
        ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
        ({"verb": "ListSets", "resumptionToken": "anything"}, "badResumptionToken"),
    ],
)  # fmt: skip
def test_each_protocol_error_has_its_code(client, params, code):
    query = [(k, v) for k, values in params.items() for v in ([values] if isinstance(values, str)
             else values)]  # fmt: skip
    response = client.get("/oai", params=query)
    assert response.status_code == 200  # protocol errors are answers, not HTTP failures
    root = ET.fromstring(response.content)
    assert error_of(root) == code
    assert len(root) == 3  # responseDate, request, error: nothing else
    if code in ("badVerb", "badArgument"):
        assert request_attributes(root) == {}  # the protocol forbids echoing bad arguments
    else:
        assert request_attributes(root)


def test_tokens_made_for_another_verb_or_tampered_are_refused(client):
    token = token_of(oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc"))
    assert token is not None and token.text
    assert error_of(oai(client, verb="ListRecords", resumptionToken=token.text)) == (
        "badResumptionToken"
    )
    state = json.loads(base64.urlsafe_b64decode(token.text + "=" * (-len(token.text) % 4)))
    for field, value in (("o", -1), ("c", "2"), ("v", 99), ("from", "soon")):
        forged = base64.urlsafe_b64encode(json.dumps({**state, field: value}).encode()).decode()
        root = oai(client, verb="ListIdentifiers", resumptionToken=forged)
        assert error_of(root) == "badResumptionToken", field
    # A well-formed token beyond the end of the list: nothing left, said as the protocol says it.
    past = encode_token(ListState("ListIdentifiers", None, None, None, position=500, cursor=500))
    assert error_of(oai(client, verb="ListIdentifiers", resumptionToken=past)) == "noRecordsMatch"


def test_a_repository_without_materials_or_periods_has_no_set_hierarchy(built, tmp_path):
    settings = built.settings.model_copy(update={"catalogue_path": tmp_path / "empty.sqlite3"})
    SqliteIndex(settings.catalogue_index_path).close()
    options = ApiOptions(public_url="https://catalogue.example")
    with TestClient(create_app(settings, options=options)) as empty:
        assert error_of(oai(empty, verb="ListSets")) == "noSetHierarchy"
        assert error_of(oai(empty, verb="ListRecords", metadataPrefix="oai_dc")) == (
            "noRecordsMatch"
        )
        identify = oai(empty, verb="Identify")
        assert identify.findtext(".//oai:earliestDatestamp", namespaces=NS) == (
            "1970-01-01T00:00:00Z"
        )


# --- names --------------------------------------------------------------------------------------


def test_set_specs_fold_like_the_index_and_identifiers_accept_only_canonical_slugs():
    assert to_set_spec("material", "Gốm  Sứ") == "material:gom-su"
    assert to_set_spec("material", "gỗ sơn son thếp vàng") == "material:go-son-son-thep-vang"
    assert to_set_spec("period", "Đồng Khánh") == "period:dong-khanh"
    assert to_set_spec("period", "—") is None
    assert from_oai_identifier("oai:sohoa:hm.1998.45-pl") == "hm.1998.45-pl"
    for bad in ("oai:sohoa:", "oai:other:x.9", "oai:sohoa:HM.1", "oai:sohoa:a/b", "x.9"):
        assert from_oai_identifier(bad) is None, bad
