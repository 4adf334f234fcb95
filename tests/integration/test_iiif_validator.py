"""The official IIIF Image API validator, level 0, against make_iiif_tiles' files served over HTTP.

The server is as static as S3: one key per URI path, a Content-Type per key, 404 otherwise.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from urllib.request import urlopen

import numpy as np
import pytest
from iiif_validator import validator
from PIL import Image

from pipeline.core.iiif import IiifTileSet, make_iiif_tiles, to_media_type
from tests.unit.iiif_client import client_paths, pattern_image

pytestmark = pytest.mark.integration

PREFIX = "iiif"
LEVEL_0_TESTS = ["info_json", "id_basic", "id_squares", "format_jpg", "size_nofull"]


@dataclass
class StaticServer:
    """Files by URI path, served on a free port of 127.0.0.1."""

    host: str
    files: dict[str, tuple[bytes, str]]

    def publish(self, identifier: str, tiles: IiifTileSet) -> None:
        for path, data in tiles.files:
            self.files[f"/{PREFIX}/{identifier}/{path}"] = (data, to_media_type(path))

    def image_id(self, identifier: str) -> str:
        return f"http://{self.host}/{PREFIX}/{identifier}"


@pytest.fixture()
def server() -> Iterator[StaticServer]:
    files: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(urlsplit(self.path).path)
            if found is None:
                self.send_error(404)
                return
            data, media_type = found
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield StaticServer(f"127.0.0.1:{httpd.server_address[1]}", files)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def validate(server: StaticServer, identifier: str, test: str) -> validator.ImageAPI:
    """Run one validator test as its own command line does; the result carries any failure."""
    result = validator.ImageAPI(identifier, server.host, PREFIX, "http", "", "3.0", debug=False)
    validator.TestSuite(validator.ValidationInfo()).run_test(test, result)
    return result


def describe(result: validator.ImageAPI) -> str:
    error = result.exception
    return f"{error} (urls {result.urls}, warning {getattr(error, 'warning', None)})"


def validator_squares() -> Image.Image:
    """The validator's 1000×1000 test pattern, drawn from its own colour table: square (x, y),
    x across and y down in 100 px steps, is colorInfo[x][y] (see do_test_square)."""
    colours = validator.ValidationInfo().colorInfo
    pixels = np.zeros((1000, 1000, 3), np.uint8)
    for x in range(10):
        for y in range(10):
            pixels[y * 100 : (y + 1) * 100, x * 100 : (x + 1) * 100] = colours[x][y]
    return Image.fromarray(pixels)


def test_level_0_tests_are_the_ones_the_validator_lists_for_image_api_3():
    listed = validator.TestSuite(validator.ValidationInfo()).list_tests("3.0")
    assert sorted(name for name, test in listed.items() if test["level"] == 0) == sorted(
        LEVEL_0_TESTS
    )


def test_the_validator_passes_every_level_0_test_on_the_test_pattern(server):
    identifier = hashlib.sha256(b"validator squares").hexdigest()
    tiles = make_iiif_tiles(validator_squares(), image_id=server.image_id(identifier))
    server.publish(identifier, tiles)
    for test in LEVEL_0_TESTS:
        result = validate(server, identifier, test)
        assert result.exception is None, f"{test}: {describe(result)}"
    # id_squares samples 5 random squares: look at all of them, with the validator's own rule.
    with urlopen(f"{server.image_id(identifier)}/full/max/0/default.jpg", timeout=10) as reply:
        full = Image.open(io.BytesIO(reply.read()))
        full.load()
    assert full.size == (1000, 1000)
    check = validator.ValidationInfo()
    squares = validator.ImageAPI(identifier, server.host, PREFIX, version="3.0", debug=False)
    wrong = [
        (x, y)
        for x in range(10)
        for y in range(10)
        if not check.do_test_square(
            full.crop((x * 100 + 13, y * 100 + 13, x * 100 + 87, y * 100 + 87)), x, y, squares
        )
    ]
    assert wrong == []


def test_the_validator_fails_a_wrong_picture(server):
    """id_squares can fail: the pattern turned by 90° is not the validator's pattern."""
    identifier = hashlib.sha256(b"turned squares").hexdigest()
    turned = validator_squares().transpose(Image.Transpose.ROTATE_90)
    server.publish(identifier, make_iiif_tiles(turned, image_id=server.image_id(identifier)))
    assert validate(server, identifier, "id_squares").exception is not None


def test_the_validator_fails_an_info_json_with_a_foreign_id(server):
    identifier = hashlib.sha256(b"foreign id").hexdigest()
    tiles = make_iiif_tiles(pattern_image(600, 400), image_id="http://elsewhere.invalid/x")
    server.publish(identifier, tiles)
    assert validate(server, identifier, "info_json").exception is not None


def test_a_large_limited_scan_passes_and_every_tile_a_viewer_asks_for_is_there(server):
    identifier = hashlib.sha256(b"limited scan").hexdigest()
    tiles = make_iiif_tiles(
        pattern_image(2100, 1300), image_id=server.image_id(identifier), max_long_edge=1000
    )
    server.publish(identifier, tiles)
    for test in ("info_json", "id_basic", "format_jpg", "size_nofull"):
        result = validate(server, identifier, test)
        assert result.exception is None, f"{test}: {describe(result)}"

    base = server.image_id(identifier)
    with urlopen(f"{base}/info.json", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("application/ld+json")
        info = json.load(reply)
    assert info["maxWidth"] == 1000
    for path in sorted(client_paths(info)):
        with urlopen(f"{base}/{path}", timeout=10) as reply:
            assert reply.status == 200, path
            assert reply.headers["Content-Type"] == "image/jpeg"
            image = Image.open(io.BytesIO(reply.read()))
            image.load()
        if path.startswith("full/max/"):
            assert image.size == (1000, 619)
        else:
            width, height = map(int, path.split("/")[1].split(","))
            assert image.size == (width, height), path
