"""The catalogue index rebuilt from records in a real S3 server, written as publish writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.adapters.sqlite_index import DEFAULT_INDEX_NAME, SqliteIndex
from pipeline.core.catalogue import SearchQuery, SearchResult
from pipeline.core.inventory import InventoryRow
from pipeline.core.layout import record_key
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.errors import ConfigurationError
from pipeline.services.catalogue import index_object, reindex
from pipeline.services.context import Context
from tests.conftest import S3Server, make_settings

pytestmark = pytest.mark.integration

UNUSED_REDIS = "redis://127.0.0.1:6379/13"  # settings need one; nothing here talks to Redis

INVENTORY = [
    ("HM.1998.45/PL", "Đĩa pháp lam vẽ rồng", "Painted enamel dish", "pháp lam", "Minh Mạng"),
    ("BTCVH.GS.0012", "Bình gốm men lam", "Blue-and-white vase", "gốm sứ", "Thiệu Trị"),
    ("BTCVH.GS.0013", "Đồ gốm Huế", "Hue ceramic ware", "gốm sứ", "Tự Đức"),
    ("BTCVH.ĐS.0031", "Lư hương đồng", "Bronze censer", "đồng", "Tự Đức"),
    ("HM.2001.7", "Ấn vàng Thừa Thiên", "Gold seal", "vàng", "Gia Long"),
]

QUERIES = [
    SearchQuery(text="hue"),
    SearchQuery(text="thua thien"),
    SearchQuery(text="do gom"),
    SearchQuery(text="gốm"),
    SearchQuery(text="hm.1998.45/pl"),
    SearchQuery(),
    SearchQuery(filters={"material": ["gốm sứ"]}),
    SearchQuery(text="tu duc", sort="name"),
]


def make_record(accession: str, name_vi: str, name_en: str, material: str, period: str):
    return ArtefactRecord(
        object=to_object_slug(accession),
        accession_number=accession,
        inventory=InventoryRow(
            accession_number=accession,
            name_vi=name_vi,
            name_en=name_en,
            material=material,
            period=period,
            provenance="Huế" if "Huế" in name_vi else "Thừa Thiên",
        ),
        views=[],
        profile="default",
        pipeline_version="0.1.0",
        updated_at=datetime(2025, 3, 1, tzinfo=UTC),
    )


def write_record(ctx: Context, record: ArtefactRecord) -> None:
    """Store a record the way publish_record does: a compare-and-swap JSON update."""
    data = record.model_dump(mode="json")
    ctx.store.update_json(record_key(record.object), lambda current: data)


@pytest.fixture()
def ctx(s3_server: S3Server, tmp_path: Path) -> Context:
    built = Context.from_settings(make_settings(s3_server, UNUSED_REDIS, tmp_path / "var"))
    built.store.ensure_bucket(built.settings.bucket)
    for row in INVENTORY:
        write_record(built, make_record(*row))
    return built


@pytest.fixture()
def index_path(ctx: Context) -> Path:
    return ctx.settings.var_dir / DEFAULT_INDEX_NAME


@pytest.fixture()
def index(index_path: Path) -> Iterator[SqliteIndex]:
    opened = SqliteIndex(index_path)
    try:
        yield opened
    finally:
        opened.close()


def accessions(result: SearchResult) -> list[str]:
    return [hit.accession_number for hit in result.hits]


def test_reindex_makes_every_record_searchable(ctx, index):
    result = reindex(ctx, index)
    assert result.indexed == len(INVENTORY)
    assert result.rejected == []
    assert index.count() == len(INVENTORY)
    assert accessions(index.search(SearchQuery(text="hue"))) == ["BTCVH.GS.0013"]
    # "đồ" is a function word ("đồ bằng bạc"): it ranks "Đồ gốm" first, and blocks no "gốm".
    assert accessions(index.search(SearchQuery(text="do gom")))[0] == "BTCVH.GS.0013"
    assert set(accessions(index.search(SearchQuery(text="thua thien")))) == {
        "BTCVH.GS.0012", "BTCVH.ĐS.0031", "HM.1998.45/PL", "HM.2001.7",
    }  # fmt: skip
    assert index.find_accession("hm.1998.45-pl").name_vi == "Đĩa pháp lam vẽ rồng"
    facets = index.search(SearchQuery()).facets
    assert {c.value: c.count for c in facets["material"]} == {
        "gốm sứ": 2, "pháp lam": 1, "đồng": 1, "vàng": 1,
    }  # fmt: skip


def test_deleting_the_index_file_and_reindexing_gives_the_same_results(ctx, index_path):
    with SqliteIndex(index_path) as first:
        reindex(ctx, first)
        before = [first.search(q).model_dump() for q in QUERIES]
    for path in index_path.parent.glob(DEFAULT_INDEX_NAME + "*"):  # with -wal and -shm
        path.unlink()
    with SqliteIndex(index_path) as second:
        assert second.count() == 0
        reindex(ctx, second)
        after = [second.search(q).model_dump() for q in QUERIES]
    assert after == before
    assert all(result["total"] > 0 for result in after)


def test_a_corrupt_record_is_reported_and_the_rest_indexed(ctx, index):
    store = ctx.store
    store.put_bytes(
        "records/broken.json", b'{"object": "broken", ', content_type="application/json"
    )
    store.put_bytes("records/latin1.json", b'{"x": "Hu\xe9"}', content_type="application/json")
    store.put_bytes(
        "records/invalid.json",
        json.dumps({"object": "invalid", "accession_number": 12}).encode(),
        content_type="application/json",
    )
    moved = make_record("HM.9", "Chén", "Cup", "gốm sứ", "Tự Đức").model_dump(mode="json")
    store.put_bytes("records/elsewhere.json", json.dumps(moved).encode(), content_type="x")
    store.put_bytes("records/notes.txt", b"not a record", content_type="text/plain")

    result = reindex(ctx, index)

    assert result.indexed == len(INVENTORY)
    reasons = {r.key: r.reason for r in result.rejected}
    assert set(reasons) == {
        "records/broken.json", "records/latin1.json", "records/invalid.json",
        "records/elsewhere.json", "records/notes.txt",
    }  # fmt: skip
    assert "not valid JSON" in reasons["records/broken.json"]
    assert "UTF-8" in reasons["records/latin1.json"]
    assert "accession_number" in reasons["records/invalid.json"]
    assert "inventory: Field required" in reasons["records/invalid.json"]
    assert "hm.9" in reasons["records/elsewhere.json"]
    assert index.search(SearchQuery(text="gốm")).total == 2


def test_reindex_forgets_records_gone_from_the_bucket(ctx, index):
    reindex(ctx, index)
    ctx.store.delete(record_key(to_object_slug("HM.2001.7")))
    assert reindex(ctx, index).indexed == len(INVENTORY) - 1
    assert index.find_accession("HM.2001.7") is None


def test_index_object_follows_one_record_and_is_safe_to_repeat(ctx, index):
    reindex(ctx, index)
    new = make_record("HM.2024.1", "Chén ngọc Khải Định", "Jade cup", "ngọc", "Khải Định")
    write_record(ctx, new)
    for _ in range(2):
        outcome = index_object(ctx, index, new.object)
        assert outcome.status == "indexed"
        assert accessions(index.search(SearchQuery(text="khai dinh"))) == ["HM.2024.1"]
        assert index.count() == len(INVENTORY) + 1

    changed = new.model_copy(
        update={
            "inventory": new.inventory.model_copy(
                update={"name_vi": "Chén ngọc", "period": "Bảo Đại"}
            ),
            "updated_at": datetime(2025, 4, 1, tzinfo=UTC),
        }
    )
    write_record(ctx, changed)
    index_object(ctx, index, new.object)
    assert accessions(index.search(SearchQuery(text="bao dai"))) == ["HM.2024.1"]
    assert index.search(SearchQuery(text="khai dinh")).total == 0

    ctx.store.delete(record_key(new.object))
    for _ in range(2):
        assert index_object(ctx, index, new.object).status == "removed"
    assert index.count() == len(INVENTORY)

    ctx.store.put_bytes(record_key("hm.2001.7"), b"{", content_type="application/json")
    outcome = index_object(ctx, index, "hm.2001.7")
    assert outcome.status == "rejected"
    assert "not valid JSON" in (outcome.reason or "")
    assert index.find_accession("HM.2001.7") is None  # as a reindex would leave it


def test_a_storage_failure_aborts_the_rebuild_and_keeps_the_old_index(ctx, index):
    reindex(ctx, index)
    ctx.store.bucket = "no-such-bucket-" + ctx.settings.bucket
    with pytest.raises(ConfigurationError, match="no-such-bucket"):
        reindex(ctx, index)
    assert index.count() == len(INVENTORY)
    assert accessions(index.search(SearchQuery(text="hue"))) == ["BTCVH.GS.0013"]
