"""`make bench-search`: search speed over 10,000 generated records; prints figures, asserts none.

The records mix the sample collection's vocabulary (object types, materials, reigns, places,
decoration) at random from a fixed seed. The index is built once; then a mix of visitor queries
(Vietnamese with and without diacritics, English, natural phrasing, periods, years, typos,
prefixes, accession numbers, partial matches, facet filters) is run through the API's search and
the web page (one client, in process, a warm app), and `sohoa search` is timed as a new process.
Every figure is printed beside its target, with CPU time beside wall time: on a shared machine
wall times are upper bounds, CPU times are what the search itself costs.
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
ACCESSIONS: list[str] = []  # what generate() numbered, in order
SERIES = ["GS", "ĐS", "GG", "NG", "V", "B", "Đ", "GI", "VA", "TT", "PL"]

# A visitor's questions over the generated collection; every kind the search answers, the hard
# ones included (partial matches, typos, prefixes, periods and years, accession forms). The
# accession forms are of a generated object's number (ACCESSION), typed as visitors type it.
ACCESSION_N = 12
QUERIES = [
    "bình gốm", "binh gom", "lư hương đồng", "chén bằng vàng", "porcelain vase", "bronze bell",
    "embroidery", "inscriptions", "bronse", "porcelian vase", "chuon", "lư hươ", "dragn",
    "triều Nguyễn", "Nguyễn dynasty", "Thánh Tổ", "thế kỷ XIX", "19th century", "1845",
    "bình 1830", "1880s", "{loose}", "{spaced}", "{unpadded}", "HM.2010.140/B", "hm 2010 140 b",
    "ấn ngọc xanh đỏ", "hue", "rồng", "a vase made of glass", "the gold cup with a dragon",
    "?!", "",
]  # fmt: skip
FILTERED = [("bình", {"material": ["gốm sứ"]}), ("", {"period": ["Tự Đức (1848–1883)"]}),
            ("rồng", {"object_type": ["bát", "đĩa"]})]  # fmt: skip
TARGETS_MS = {"API /api/objects": 20.0, "page /": 30.0}
CLI_TARGET_S = 0.5


def to_accession(n: int, series: str) -> str:
    return f"BTCVH.{series}.{n:04d}" if n % 7 else f"HM.{1990 + n % 30}.{n}/B"


def visitor_queries(accession: str) -> list[str]:
    """QUERIES with the accession forms filled in: 'btcvhgs0012', 'btcvh gs 0012', 'BTCVH.GS.12'."""
    prefix, series, number = accession.split(".")
    forms = {
        "loose": f"{prefix}{series}{number}".lower(),
        "spaced": f"{prefix} {series} {number}".lower(),
        "unpadded": f"{prefix}.{series}.{int(number)}",
    }
    return [q.format(**forms) for q in QUERIES]


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
        accession = to_accession(n, rng.choice(SERIES))
        ACCESSIONS.append(accession)
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


def time_requests(
    client: object, paths: list[tuple[str, dict]], rounds: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each request, every query warmed once first. CPU time is
    the process's (the app runs in the client's portal thread): what other programs on a loaded
    machine do not add."""
    walls, cpus = [], []
    for path, params in paths:  # warm every query once
        client.get(path, params=params)  # type: ignore[attr-defined]
    for _ in range(rounds):
        for path, params in paths:
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(path, params=params)  # type: ignore[attr-defined]
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
            assert response.status_code == 200, (path, params, response.text[:200])
    return walls, cpus


def time_searches(
    index: object, queries: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of the index's own search (no HTTP, no client), warmed once."""
    from pipeline.core.catalogue import SearchQuery

    requests = [SearchQuery(text=q) for q in queries]
    requests += [SearchQuery(text=q, filters=f) for q, f in FILTERED]
    walls, cpus = [], []
    for query in requests:
        index.search(query)  # type: ignore[attr-defined]
    for _ in range(rounds):
        for query in requests:
            wall, cpu = time.perf_counter(), time.process_time()
            index.search(query)  # type: ignore[attr-defined]
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
    return walls, cpus


def time_cli(env: dict[str, str], args: list[str], runs: int = 5) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of `python ARGS` as a new process, after one
    run that is not counted (it writes the bytecode caches a first run after an install does)."""
    walls, cpus = [], []
    subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT met"


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
        # An installed sohoa runs from bytecode; without it, each run compiles ~0.1 s of source.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        settings = SohoaSettings(
            var_dir=home / "var",
            s3_endpoint_url="http://127.0.0.1:9",
            queue_prefix=env["SOHOA_QUEUE_PREFIX"],
        )
        started = time.perf_counter()
        with SqliteIndex(settings.catalogue_index_path) as index:
            count = index.replace_all(generate(RECORDS))
        queries = visitor_queries(ACCESSIONS[ACCESSION_N])
        print(f"input: {count} generated records (seed 15) indexed in "
              f"{time.perf_counter() - started:.1f} s; {len(queries)} visitor queries and "
              f"{len(FILTERED)} filtered ones, each warmed once then run {ROUNDS} times, one "
              "client in process:")  # fmt: skip
        print("  " + ", ".join(repr(q) for q in queries))
        print("  filtered: " + ", ".join(f"{q!r} {f}" for q, f in FILTERED))
        api = [("/api/objects", {"q": q}) for q in queries]
        api += [("/api/objects", {"q": q, **f}) for q, f in FILTERED]
        page = [("/", {"q": q}) for q in queries] + [("/", {"q": q, **f}) for q, f in FILTERED]
        with TestClient(create_app(settings, options=ApiOptions())) as client:
            # A fresh app: the first search reads the index's bit sets; each query's first run
            # reads its words' sets from the index (cold), later runs find them in memory.
            wall, cpu = time.perf_counter(), time.process_time()
            client.get("/api/objects", params={"q": "bình"})
            first = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
            cold_wall, cold_cpu = time_requests(client, [], 0)
            for path, params in api:
                wall, cpu = time.perf_counter(), time.process_time()
                client.get(path, params=params)
                cold_cpu.append((time.process_time() - cpu) * 1000)
                cold_wall.append((time.perf_counter() - wall) * 1000)
            client_only = time_requests(client, [("/api", {})], ROUNDS * 10)
            api_ms = time_requests(client, api, ROUNDS)
            page_ms = time_requests(client, page, ROUNDS)
            slowest = sorted(
                ((min(time_requests(client, [p], 3)[1]), p[1].get("q", "")) for p in api),
                reverse=True,
            )[:3]
        print(f"{'route':<26} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
              f"{'p50 CPU':>7} {'p95 CPU':>7}  target (p95)")  # fmt: skip
        with SqliteIndex(settings.catalogue_index_path) as index:
            index_ms = time_searches(index, queries, ROUNDS)
        rows = [("API /api/objects", api_ms), ("page /", page_ms),
                ("API, each query's 1st run", (cold_wall, cold_cpu)),
                ("index.search alone", index_ms)]  # fmt: skip
        for name, (walls, cpus) in rows:
            target = TARGETS_MS.get(name)
            p95, p95_cpu = percentile(walls, 0.95), percentile(cpus, 0.95)
            goal = (f"≤ {target:.0f} ms: wall {verdict(p95, target)}, CPU "
                    f"{verdict(p95_cpu, target)}" if target else "(no target)")  # fmt: skip
            p50, p50_cpu = percentile(walls, 0.5), percentile(cpus, 0.5)
            print(f"{name:<26} {len(walls):>8} {p50:>7.1f} {p95:>7.1f} {max(walls):>7.1f} "
                  f"{p50_cpu:>7.1f} {p95_cpu:>7.1f}  {goal}")  # fmt: skip
        print(f"the in-process client's own cost (GET /api, a fixed answer): "
              f"{percentile(client_only[0], 0.5):.1f} ms wall, "
              f"{percentile(client_only[1], 0.5):.1f} ms CPU (median; included above)")  # fmt: skip
        print(f"first search of a fresh app (reads the bit sets): {first[0]:.0f} ms wall, "
              f"{first[1]:.0f} ms CPU (no target)")  # fmt: skip
        print("slowest API queries (CPU, best of 3): "
              + ", ".join(f"{q!r} {ms:.1f} ms" for ms, q in slowest))  # fmt: skip
        wall, cpu = time_cli(env, ["-c", "pass"])
        print(f"python itself (python -c pass): {wall:.2f} s wall, {cpu:.2f} s CPU (median of 5)")
        for query in ("binh gom", queries[QUERIES.index("{loose}")], "triều Nguyễn"):
            wall, cpu = time_cli(env, ["-m", "pipeline.cli", "search", *query.split()])
            print(f"sohoa search {query!r}: {wall:.2f} s wall, {cpu:.2f} s CPU (median of 5); "
                  f"target ≤ {CLI_TARGET_S} s: wall {verdict(wall, CLI_TARGET_S)}, CPU "
                  f"{verdict(cpu, CLI_TARGET_S)}")  # fmt: skip
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(wall times above 1 per core are upper bounds; CPU times hold)")  # fmt: skip


if __name__ == "__main__":
    main()
