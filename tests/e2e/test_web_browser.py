"""The catalogue's web page in headless Chromium, against the real stack and a real `sohoa serve`.

Debian's chromium (installed by `make system-deps`) is driven by Playwright's Python client with
executable_path: no browser download. OpenSeadragon comes from `make npm` (node_modules/).
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image

from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store
from pipeline.api.app import create_app
from pipeline.api.options import DEFAULT_VENDOR_DIR, OPENSEADRAGON_BUILD, ApiOptions
from pipeline.api.web.render import VIEWER_MISSING
from tests.conftest import QUEUE_PREFIX, S3Server, Stack, make_settings, settings_env

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
OSD_DIR = DEFAULT_VENDOR_DIR / OPENSEADRAGON_BUILD
# An untrusted inventory value: it must reach the page as text, never as markup.
HOSTILE_NAME = 'Ấn <img src=x onerror="window.pwned=1"> & "vàng"'
QUADRANTS = [(200, 30, 30), (30, 160, 40), (40, 60, 200), (230, 200, 40)]  # TL, TR, BL, BR


@dataclass
class Site:
    stack: Stack
    url: str  # where `sohoa serve` answers
    bucket_url: str  # the public base URL (S3 endpoint + bucket)
    quadrants_sha: str


def free_port() -> int:
    return embedded.find_free_ports(1, grpc_twins=False)[0]


def wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def write_quadrants(path: Path, width: int = 2000, height: int = 1500) -> None:
    """Four flat colours with a little texture: tiles at every level, checkable on screen."""
    pixels = np.zeros((height, width, 3), np.float32)
    for index, colour in enumerate(QUADRANTS):
        row, col = divmod(index, 2)
        pixels[
            row * height // 2 : (row + 1) * height // 2, col * width // 2 : (col + 1) * width // 2
        ] = colour
    pixels += np.random.default_rng(3).normal(0, 4, pixels.shape)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=92)


@pytest.fixture(scope="module")
def site(
    s3_server: S3Server, redis_base: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """Scans ingested by a real worker, the index rebuilt, and `sohoa serve` on a free port."""
    if not OSD_DIR.is_dir():
        pytest.skip(f"OpenSeadragon is not installed in {OSD_DIR}: run `make npm`")
    home = tmp_path_factory.mktemp("web")
    bucket = "w-" + secrets.token_hex(6)
    settings = make_settings(
        s3_server,
        redis_base,
        home / "var",
        bucket=bucket,
        public_base_url=f"{s3_server.endpoint}/{bucket}",
    )
    store = S3Store.from_settings(settings)
    store.ensure_bucket(bucket)
    embedded.allow_public_read(store.client, bucket)
    stack = Stack(settings=settings, env=settings_env(settings), store=store, home=home)
    server: subprocess.Popen[bytes] | None = None
    try:
        from pipeline.samples import generate_collection

        shown = {"BTCVH.GS.0012", "HM.1998.45/PL"}
        collection = generate_collection(home / "collection", size=1000, only=shown)
        drop = home / "drop"
        drop.mkdir()
        for scan in collection.scans:
            if scan.accession in shown:
                shutil.copy(scan.path, drop / scan.path.name)
        lines = collection.inventory_csv.read_text("utf-8").splitlines()
        keep = [lines[0]] + [
            line for line in lines[1:] if line.startswith(("BTCVH.GS.0012,", "HM.1998.45/PL,"))
        ]
        (drop / "inventory.csv").write_text("\n".join(keep) + "\n", "utf-8")
        other = home / "other"
        other.mkdir()
        write_quadrants(other / "HM.2001.7_front_1.jpg")
        with (other / "inventory.csv").open("w", encoding="utf-8", newline="") as sheet:
            writer = csv.writer(sheet)
            writer.writerow(["accession_number", "name_vi", "name_en", "material",
                             "current_location"])  # fmt: skip
            writer.writerow(["HM.2001.7", HOSTILE_NAME, "Gold seal", "vàng", "Kho B, tủ 9"])

        stack.start_worker()
        for folder in (drop, other):
            done = stack.sohoa("ingest", str(folder), "--inventory", str(folder / "inventory.csv"),
                               "--wait")  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        stack.stop_workers()
        indexed = stack.sohoa("reindex")
        assert indexed.returncode == 0, indexed.stdout + indexed.stderr

        record, _ = store.read_json("records/hm.2001.7.json")
        port = free_port()
        log = home / "serve.log"
        server = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port)],
            env=stack.env,
            cwd=home,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz", server, log)
        yield Site(stack, url, settings.public_base_url, record["views"][0]["scan_id"])
    finally:
        if server is not None:
            stop(server)
        stack.stop_workers()
        client = redis.Redis.from_url(redis_base)
        for key in client.scan_iter(match=f"*{QUEUE_PREFIX}*"):
            client.delete(key)
        client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: run `make system-deps` (as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def region_stats(png: bytes) -> tuple[np.ndarray, float]:
    """Mean colour and pixel standard deviation of a screenshot."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.float32)
    return pixels.reshape(-1, 3).mean(axis=0), float(pixels.std())


def wait_until_drawn(page: object) -> dict[str, object]:
    """Wait for the viewer to open and load every tile it needs for the view; its counters."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const s = window.sohoaViewer; if (!s || s.error) return !!(s && s.error);"
        " const item = s.viewer.world.getItemAt(0);"
        " return s.opened > 0 && item && item.getFullyLoaded() && s.tilesLoaded > 0; }",
        timeout=30_000,
    )
    state: dict[str, object] = page.evaluate(  # type: ignore[attr-defined]
        "() => ({opened: window.sohoaViewer.opened, tilesLoaded: window.sohoaViewer.tilesLoaded,"
        " tilesFailed: window.sohoaViewer.tilesFailed, error: window.sohoaViewer.error})"
    )
    return state


def test_search_without_diacritics_then_zoom_into_the_object(
    site: Site, browser: object, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    bucket_responses: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: (
            bucket_responses.append((r.url, r.status))
            if r.url.startswith(site.bucket_url)
            else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Console errors include Content-Security-Policy violations and failed loads.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(site.url + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_label("Tìm hiện vật").fill("binh gom")  # typed without diacritics
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_url("**/?q=binh+gom*")
    card = page.locator("#results .card", has_text="Bình gốm men lam vẽ rồng")
    assert card.count() == 1
    assert card.locator("img").get_attribute("alt") == "Bình gốm men lam vẽ rồng"
    assert page.locator(".facet a", has_text="gốm sứ").count() == 1  # a facet with its count
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    card.locator("a").click()
    page.wait_for_url("**/objects/btcvh.gs.0012")
    assert page.locator("h1").inner_text() == "Bình gốm men lam vẽ rồng"
    about = page.locator(".about").inner_text()
    assert "Blue-and-white porcelain vase with dragon" in page.content()
    assert "Cao 42 cm" in about and "Minh Mạng" in about
    assert "Kho A" not in page.content()  # the shelf location stays private

    state = wait_until_drawn(page)
    assert state["error"] is None, state
    assert state["tilesLoaded"] > 0 and state["tilesFailed"] == 0, state  # type: ignore[operator]
    assert page.locator("#viewer canvas").count() >= 1
    tiles = [(u, s) for u, s in bucket_responses if "/iiif/" in u and u.endswith(".jpg")]
    assert tiles and all(status == 200 for _, status in tiles), bucket_responses
    assert not errors, errors

    shot = page.locator("#viewer").screenshot(path=str(tmp_path / "object-viewer.png"))
    mean, spread = region_stats(shot)
    assert spread > 10, f"the viewer looks blank (std {spread:.1f}, mean {mean})"

    page.screenshot(path=str(tmp_path / "object.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(tmp_path / "object-phone.png"), full_page=True)

    # Another view, from the picker: the viewer opens its own tiles.
    opened = state["opened"]
    page.locator("button.view").nth(1).click()
    page.wait_for_function(f"() => window.sohoaViewer.opened > {opened}", timeout=30_000)
    page.close()


def test_plain_openseadragon_opens_a_tiled_image_from_the_bucket(
    site: Site, browser: object, tmp_path: Path
) -> None:
    """Issue #3's acceptance: a viewer opens static level-0 tiles straight from S3."""
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(OSD_DIR / "openseadragon.min.js", root / "openseadragon.min.js")
    info = f"{site.bucket_url}/iiif/{site.quadrants_sha}/info.json"
    (root / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<script src='openseadragon.min.js'></script></head><body style='margin:0'>"
        "<div id='v' style='width:800px;height:600px;background:#000'></div><script>"
        "window.sohoaViewer = {opened: 0, tilesLoaded: 0, tilesFailed: 0, error: null};"
        "const v = OpenSeadragon({element: document.getElementById('v'), showNavigationControl:"
        f" false, crossOriginPolicy: 'Anonymous', tileSources: {json.dumps(info)}}});"
        "window.sohoaViewer.viewer = v;"
        "v.addHandler('open', () => window.sohoaViewer.opened++);"
        "v.addHandler('tile-loaded', () => window.sohoaViewer.tilesLoaded++);"
        "v.addHandler('tile-load-failed', () => window.sohoaViewer.tilesFailed++);"
        "v.addHandler('open-failed', e => window.sohoaViewer.error = String(e.message));"
        "</script></body></html>",
        "utf-8",
    )
    port = free_port()
    log = tmp_path / "http.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(root)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/index.html", server, log)
        page = browser.new_page(viewport={"width": 800, "height": 600})  # type: ignore[attr-defined]
        page.goto(f"http://127.0.0.1:{port}/index.html")
        state = wait_until_drawn(page)
        assert state["error"] is None and state["tilesFailed"] == 0, state
        assert state["tilesLoaded"] > 0, state  # type: ignore[operator]
        # Zoom into the top-left quadrant: more tiles, from a deeper level.
        before = state["tilesLoaded"]
        zoom = "v.viewport.zoomTo(4, new OpenSeadragon.Point(0.2, 0.15), true)"
        page.evaluate(f"() => {{ const v = window.sohoaViewer.viewer; {zoom}; }}")
        page.wait_for_function(
            f"() => window.sohoaViewer.tilesLoaded > {before} &&"
            " window.sohoaViewer.viewer.world.getItemAt(0).getFullyLoaded()",
            timeout=30_000,
        )
        shot = page.locator("#v").screenshot(path=str(tmp_path / "osd-zoomed.png"))
        mean, _ = region_stats(shot)
        # Zoomed into the red quadrant: the view is red, not black, not another quadrant.
        assert np.allclose(mean, QUADRANTS[0], atol=25), mean
        page.evaluate("() => window.sohoaViewer.viewer.viewport.goHome(true)")
        page.wait_for_function(
            "() => window.sohoaViewer.viewer.world.getItemAt(0).getFullyLoaded()", timeout=30_000
        )
        whole = page.locator("#v").screenshot(path=str(tmp_path / "osd-home.png"))
        pixels = np.asarray(Image.open(io.BytesIO(whole)).convert("RGB"), np.float32)
        height, width, _ = pixels.shape
        # The image (4:3) fills the 4:3 box: each quadrant of the screenshot shows its colour.
        for index, colour in enumerate(QUADRANTS):
            row, col = divmod(index, 2)
            patch = pixels[
                row * height // 2 + height // 8 : (row + 1) * height // 2 - height // 8,
                col * width // 2 + width // 8 : (col + 1) * width // 2 - width // 8,
            ]
            assert np.allclose(patch.reshape(-1, 3).mean(axis=0), colour, atol=25), (index, colour)
        page.close()
    finally:
        stop(server)


def test_untrusted_metadata_is_shown_as_text(site: Site, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(site.url + "/objects/HM.2001.7")  # the accession number works as well as the slug
    assert page.locator("h1").inner_text() == HOSTILE_NAME
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("main img[src=x]").count() == 0
    assert "Kho B" not in page.content()
    page.goto(site.url + "/?q=" + urllib.request.quote('"><script>window.pwned=2</script>'))
    assert page.evaluate("() => window.pwned") is None
    assert page.get_by_label("Tìm hiện vật").input_value() == '"><script>window.pwned=2</script>'
    page.close()


def test_pages_work_without_the_viewer_installed(site: Site, tmp_path: Path) -> None:
    """No node_modules: the object page shows a still image and says how to get the viewer."""
    app = create_app(site.stack.settings, options=ApiOptions(vendor_dir=tmp_path / "none"))
    with TestClient(app) as client:
        found = client.get("/objects/btcvh.gs.0012")
        assert found.status_code == 200
        assert "openseadragon" not in found.text.lower().replace("`make npm`", "")
        assert "make npm" in found.text and VIEWER_MISSING.split(":")[0] in found.text
        assert 'class="fallback"' in found.text
        assert client.get("/static/vendor/openseadragon/openseadragon.min.js").status_code == 404
        missing = client.get("/objects/NO.SUCH.1")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        assert client.get("/", headers={"Accept": "application/json"}).json()["links"]["web"]
