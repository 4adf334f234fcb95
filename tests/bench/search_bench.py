"""`make bench-search`: search speed over 10,000 generated records; prints figures, asserts none.

The records mix the sample collection's vocabulary (object types, materials, reigns, places,
decoration) at random from a fixed seed. The index is built once; then a mix of visitor queries
(Vietnamese with and without diacritics, English, natural phrasing, periods, years, typos,
prefixes, accession numbers, partial matches, facet filters) is run through the API's search and
the web page (one client, in process, a warm app), and `sohoa search` is timed as a new process.
Wall times on a shared machine are noisy: the CLI's CPU time is printed beside its wall time.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDS = int(os.environ.get("SOHOA_BENCH_RECORDS", "10000"))
ROUNDS = int(os.environ.get("SOHOA_BENCH_ROUNDS", "5"))

TYPES = [("bình", "vase"), ("bát", "bowl"), ("đĩa", "plate"), ("chén", "cup"), ("hũ", "jar"),
         ("lư hương", "incense burner"), ("hộp", "box"), ("ấn", "seal"), ("chuông", "bell"),
         ("bia", "stele"), ("sắc phong", "decree"), ("bổ tử", "rank badge"), ("tượng", "statue"),
         ("khay", "tray"), ("ấm", "teapot"), ("mâm", "platter"), ("đỉnh", "censer")]  # fmt: skip
MATERIALS = [("gốm sứ", "porcelain"), ("đồng", "bronze"), ("pháp lam", "painted enamel"),
             ("gỗ sơn son thếp vàng", "red-lacquered gilded wood"), ("ngọc", "jade"),
             ("vàng", "gold"), ("bạc", "silver"), ("đá", "stone"), ("thủy tinh", "glass"),
             ("giấy", "paper"), ("vải", "silk")]  # fmt: skip
REIGNS = [("Gia Long", 1802, 1819), ("Minh Mạng", 1820, 1840), ("Thiệu Trị", 1841, 1847),
          ("Tự Đức", 1848, 1883), ("Đồng Khánh", 1885, 1888), ("Thành Thái", 1889, 1907),
          ("Duy Tân", 1907, 1916), ("Khải Định", 1916, 1925), ("Bảo Đại", 1926, 1945)]  # fmt: skip
DECOR = [("vẽ rồng", "with dragon"), ("vẽ hoa sen", "with lotus"), ("chạm rồng mây",
         "chased with dragon and clouds"), ("men rạn", "crackle-glazed"), ("thêu phượng",
         "embroidered phoenix"), ("khắc chữ Hán", "with Chinese inscription"),
         ("vẽ tứ quý", "with the four seasons"), ("men lam", "blue-and-white")]  # fmt: skip
PLACES = ["Đại Nội Huế", "Cung Diên Thọ", "Lăng Tự Đức", "Điện Thái Hòa", "Văn Thánh Huế",
          "Cung An Định", "Hiến tặng năm 2005", "Sưu tầm tại Huế"]  # fmt: skip
SERIES = ["GS", "ĐS", "GG", "NG", "V", "B", "Đ", "GI", "VA", "TT", "PL"]

QUERIES = [
    "bình gốm", "binh gom", "lư hương đồng", "chén bằng vàng", "porcelain vase", "bronze bell",
    "embroidery", "inscriptions", "bronse", "porcelian vase", "chuon", "lư hươ",
    "triều Nguyễn", "Thánh Tổ", "thế kỷ XIX", "19th century", "1845", "bình 1830",
    "btcvhgs0012", "BTCVH.GS.12", "HM.1998.45/PL", "ấn ngọc xanh đỏ", "hue", "rồng",
    "a vase made of glass", "the gold cup with a dragon", "?!", "",
]  # fmt: skip
FILTERED = [("bình", {"material": ["gốm sứ"]}), ("", {"period": ["Tự Đức"]}),
            ("rồng", {"object_type": ["bát", "đĩa"]})]  # fmt: skip


def generate(count: int, seed: int = 15) -> Iterator[object]:
    from pipeline.core.catalogue import to_index_document
    from pipeline.core.inventory import InventoryRow
    from pipeline.core.naming import to_object_slug
    from pipeline.core.records import ArtefactRecord
    from pipeline.core.tagging import tags_from_inventory

    rng = random.Random(seed)
    for n in range(count):
        kind, kind_en = rng.choice(TYPES)
        material, material_en = rng.choice(MATERIALS)
        reign, start, end = rng.choice(REIGNS)
        decor, decor_en = rng.choice(DECOR)
        accession = f"BTCVH.{rng.choice(SERIES)}.{n:04d}" if n % 7 else f"HM.{1990 + n % 30}.{n}/B"
        year = rng.randint(start, end)
        row = InventoryRow(
            accession_number=accession,
            name_vi=f"{kind.capitalize()} {material} {decor}",
            name_en=f"{material_en.capitalize()} {kind_en} {decor_en}",
            object_type=kind,
            material=material,
            period=f"{reign} ({start}–{end})",
            date_range=str(year) if n % 3 == 0 else "",
            provenance=rng.choice(PLACES),
            notes=rng.choice(["", "Hiệu đề niên chế dưới đáy", "Bong men nhỏ", "Gỉ xanh"]),
        )
        record = ArtefactRecord(
            object=to_object_slug(accession),
            accession_number=accession,
            inventory=row,
            views=[],
            tags=tags_from_inventory(row),
            profile="default",
            pipeline_version="bench",
            updated_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        yield to_index_document(record)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_requests(client: object, paths: list[tuple[str, dict]], rounds: int) -> list[float]:
    times = []
    for path, params in paths:  # warm every query once
        client.get(path, params=params)  # type: ignore[attr-defined]
    for _ in range(rounds):
        for path, params in paths:
            started = time.perf_counter()
            response = client.get(path, params=params)  # type: ignore[attr-defined]
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, params, response.text[:200])
    return times


def time_cli(env: dict[str, str], query: str, runs: int = 5) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of `sohoa search QUERY` as a new process."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline.cli", "search", *query.split()],
                       env=env, check=True, capture_output=True)  # fmt: skip
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    from fastapi.testclient import TestClient

    from config.settings import SohoaSettings
    from pipeline.adapters.sqlite_index import SqliteIndex
    from pipeline.api.app import create_app
    from pipeline.api.options import ApiOptions

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {
            **os.environ,
            "SOHOA_VAR_DIR": str(home / "var"),
            "SOHOA_QUEUE_PREFIX": os.environ.get("SOHOA_QUEUE_PREFIX", "bench-search"),
            "SOHOA_S3_ENDPOINT_URL": "http://127.0.0.1:9",  # never reached: nothing is signed
        }
        settings = SohoaSettings(
            var_dir=home / "var",
            s3_endpoint_url="http://127.0.0.1:9",
            queue_prefix=env["SOHOA_QUEUE_PREFIX"],
        )
        started = time.perf_counter()
        with SqliteIndex(settings.catalogue_index_path) as index:
            count = index.replace_all(generate(RECORDS))
        print(f"indexed {count} generated records in {time.perf_counter() - started:.1f} s")
        app = create_app(settings, options=ApiOptions())
        api = [("/api/objects", {"q": q}) for q in QUERIES]
        api += [("/api/objects", {"q": q, **f}) for q, f in FILTERED]
        page = [("/", {"q": q}) for q in QUERIES] + [("/", {"q": q, **f}) for q, f in FILTERED]
        with TestClient(app) as client:
            api_ms = time_requests(client, api, ROUNDS)
            page_ms = time_requests(client, page, ROUNDS)
            slowest = sorted(
                ((time_requests(client, [p], 3)[-1], p[1].get("q", "")) for p in api),
                reverse=True,
            )[:3]
        print(f"{'route':<22} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, values in (("API /api/objects", api_ms), ("page /", page_ms)):
            print(f"{name:<22} {len(values):>8} {percentile(values, 0.5):>8.1f} "
                  f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}")  # fmt: skip
        print("slowest API queries: " + ", ".join(f"{q!r} {ms:.1f} ms" for ms, q in slowest))
        for query in ("binh gom", "btcvhgs0012"):
            wall, cpu = time_cli(env, query)
            print(f"sohoa search {query!r}: {wall:.2f} s wall, {cpu:.2f} s CPU (median of 5)")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
