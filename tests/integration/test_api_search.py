"""The search as the API and the web page give it (issue #15): partial matches and corrections
said so, facet values reachable, pages' errors as pages, HEAD, /metrics, /docs offline, loose
accession numbers. One catalogue for the module (test_api's), in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.api.options import DEFAULT_VENDOR_DIR, ApiOptions
from tests.conftest import S3Server
from tests.integration.test_api import Built, accessions, assert_error, build_catalogue

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def built(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_catalogue(s3_server, tmp_path_factory.mktemp("api-search"))


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.settings, options=ApiOptions())) as test_client:
        yield test_client


def test_a_partial_match_and_a_correction_are_said_in_the_api_and_on_the_page(client):
    body = client.get("/api/objects", params={"q": "lư hương bằng đồng xanh"}).json()
    assert accessions(body) == ["BTCVH.ĐS.0031"] and body["partial"] is True
    body = client.get("/api/objects", params={"q": "ceramik"}).json()
    assert body["did_you_mean"] == "ceramic" and accessions(body) == ["BTCVH.GS.0013"]
    page = client.get("/", params={"q": "ceramik"}, headers=HTML).text
    assert "Did you mean" in page and "?q=ceramic" in page
    page = client.get("/", params={"q": "lư hương xanh"}, headers=HTML).text
    assert 'class="notice partial"' in page


def test_punctuation_alone_finds_nothing_with_a_message(client):
    body = client.get("/api/objects", params={"q": "?!…"}).json()
    assert (body["total"], body["hits"]) == (0, [])
    assert "no letters or digits" in body["message"]
    page = client.get("/", params={"q": "?!…"}, headers=HTML)
    assert page.status_code == 200 and "no letters or digits" in page.text


@pytest.mark.parametrize("typed", ["btcvhgs0012", "BTCVH.GS.12", "btcvh gs 0012", "BTCVH/GS/12"])
def test_an_accession_in_any_form_finds_its_object(client, typed):
    assert accessions(client.get("/api/objects", params={"q": typed}).json())[0] == (
        "BTCVH.GS.0012"
    )
    record = client.get(f"/api/objects/{typed}")
    assert record.status_code == 200 and record.json()["accession_number"] == "BTCVH.GS.0012"
    assert client.get(f"/objects/{typed}", headers=HTML).status_code == 200


def test_every_facet_value_is_reachable_by_a_facet_search(client):
    body = client.get(
        "/api/facets", params={"facet": "object_type", "contains": "huong", "limit": 1}
    ).json()
    assert body["facets"] == {"object_type": [{"value": "lư hương", "count": 1, "selected": False}]}
    assert body["facet_sizes"] == {"object_type": 1}
    everything = client.get("/api/facets", params={"facet": "object_type", "limit": 1}).json()
    assert len(everything["facets"]["object_type"]) == 1
    assert everything["facet_sizes"]["object_type"] == 6  # one shown, six to reach
    assert_error(client.get("/api/facets", params={"facet": "colour", "contains": "x"}), 422,
                 "INVALID_PARAMETER")  # fmt: skip


def test_the_page_lists_every_value_of_a_facet_on_demand(client):
    page = client.get("/", params={"more": "type", "fq": "hương"}, headers=HTML).text
    assert 'id="facet-type"' in page and 'name="fq"' in page
    facet = page.split('id="facet-type"')[1].split("</section>")[0]
    assert "lư hương" in facet and "bình" not in facet


@pytest.mark.parametrize(
    "params", [{"page": "0"}, {"page": "x"}, {"q": "x" * 1001}, {"qc": "maybe"}]
)
def test_bad_parameters_on_the_page_are_an_html_page(client, params):
    response = client.get("/", params=params, headers=HTML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Invalid parameters" in response.text and "Traceback" not in response.text
    # The API keeps answering JSON to the same mistake.
    assert_error(client.get("/api/objects", params=params), 422, "INVALID_PARAMETER")


def test_an_unknown_page_is_an_html_404_for_a_browser_and_json_for_the_api(client):
    response = client.get("/nothing-here", headers=HTML)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert_error(client.get("/api/nothing", headers=HTML), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "path", ["/", "/api/objects?q=gom", "/api/facets", "/healthz", "/objects/HM.2001.7",
             "/openapi.json", "/static/web/site.css", "/metrics", "/docs"],
)  # fmt: skip
def test_head_answers_every_get_route_without_a_body(client, path):
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200, path
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


def test_metrics_answer_at_their_path_without_a_redirect(client):
    response = client.get("/metrics", follow_redirects=False)
    assert response.status_code == 200 and "sohoa_" in response.text


@pytest.mark.skipif(
    not (DEFAULT_VENDOR_DIR / "swagger-ui-dist" / "swagger-ui-bundle.js").is_file(),
    reason="Swagger UI is not installed: make npm",
)
def test_docs_load_swagger_ui_from_sohoa_itself(client):
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static/vendor/swagger-ui/{asset}" in page
        assert client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200


def test_docs_without_swagger_ui_say_how_to_install_it(built, tmp_path: Path):
    app = create_app(built.settings, options=ApiOptions(vendor_dir=tmp_path))
    with TestClient(app) as bare:
        page = bare.get("/docs")
    assert page.status_code == 200 and "make npm" in page.text and "openapi.json" in page.text
