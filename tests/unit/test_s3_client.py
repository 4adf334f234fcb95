"""The S3 client's timestamp parser: botocore's answers, at a fraction of its cost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.utils import parse_timestamp

from config.settings import SohoaSettings
from pipeline.adapters.s3_client import make_client, parse_s3_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-03T18:00:00.000Z",  # a listing's LastModified (S3, SeaweedFS)
        "2026-12-03T18:00:00Z",
        "2026-12-03T18:00:00.123456+07:00",
        "Thu, 03 Dec 2026 18:00:00 GMT",  # an HTTP date (Last-Modified, Expires)
        "2026-12-03T18:00:00",  # naive: left to botocore
        "1764784800",  # epoch seconds
    ],
)
def test_every_form_parses_as_botocore_parses_it(value: str) -> None:
    ours, theirs = parse_s3_timestamp(value), parse_timestamp(value)
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()


def test_a_listing_timestamp_is_aware_utc() -> None:
    assert parse_s3_timestamp("2026-12-03T18:00:00.000Z") == datetime(2026, 12, 3, 18, tzinfo=UTC)


def test_the_client_parses_responses_with_it() -> None:
    client = make_client(SohoaSettings(s3_endpoint_url="http://127.0.0.1:9"))
    # botocore keeps the parser its factory was given on the client's endpoint
    parser = client._endpoint._response_parser_factory._defaults["timestamp_parser"]
    assert parser is parse_s3_timestamp
