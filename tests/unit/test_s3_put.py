"""The lean tile PUT signs exactly as botocore does (botocore is the oracle), and is used only
where it can do what boto3 would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from pydantic import SecretStr

from config.settings import SohoaSettings
from pipeline.adapters.s3_put import LeanPutter

NOW = datetime(2026, 11, 28, 3, 4, 5, tzinfo=UTC)


def botocore_authorization(
    putter: LeanPutter, url: str, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """What botocore's S3 SigV4 signer puts in Authorization for the same PUT."""
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    request = AWSRequest(method="PUT", url=url, data=b"tile bytes", headers=dict(headers))
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    credentials = Credentials(putter.access_key, putter.secret_key, putter.session_token)
    botocore_auth.S3SigV4Auth(credentials, "s3", putter.region).add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("endpoint", "key", "token"),
    [
        ("http://127.0.0.1:8333", "iiif/ab12/0,0,512,512/512,/0/default.jpg", None),
        ("https://s3.ap-southeast-1.amazonaws.com", "iiif/ab12/info.json", None),
        ("http://storage.museum.vn", "iiif/Đĩa men lam/full/max/0/default.jpg", "session-token"),
        ("http://127.0.0.1:9000/prefix", "iiif/a+b=c&d/x y.jpg", None),
    ],
)
def test_the_signature_is_botocores(
    endpoint: str, key: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    putter = LeanPutter(
        endpoint,
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="ap-southeast-1",
        session_token=token,
    )
    path = putter.path_of("sohoa-hue", key)
    extra = {
        "Content-Type": "image/jpeg",
        "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
    }
    ours = putter.signed_headers(path, extra, now=NOW)

    scheme_host = endpoint.split("/", 3)
    url = f"{scheme_host[0]}//{scheme_host[2]}{path}"
    theirs = botocore_authorization(putter, url, extra, monkeypatch)

    assert ours["Authorization"] == theirs
    assert ours["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert ours["Host"] == scheme_host[2].removesuffix(":443")
    assert "%" in path or key.isascii(), "non-ASCII keys are percent-encoded"


def test_the_signing_key_is_computed_once_a_day() -> None:
    putter = LeanPutter("http://127.0.0.1:1", access_key="a", secret_key="s", region="r")
    first = putter._signing_key("20261128")
    assert putter._signing_key("20261128") is first
    assert putter._signing_key("20261129") != first


def _settings(**changes: object) -> SohoaSettings:
    base: dict[str, object] = {
        "s3_endpoint_url": "http://127.0.0.1:8333",
        "s3_access_key": SecretStr("key"),
        "s3_secret_key": SecretStr("secret"),
    }
    return SohoaSettings(**{**base, **changes})


def test_it_is_used_only_where_it_does_what_boto3_would(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert LeanPutter.from_settings(_settings()) is not None
    # No static keys: boto3's credential chain (roles, files) is needed.
    assert LeanPutter.from_settings(_settings(s3_access_key=SecretStr(""))) is None
    assert LeanPutter.from_settings(_settings(s3_lean_put=False)) is None
    # AWS itself when no endpoint is set: its regional endpoint, over TLS.
    aws = LeanPutter.from_settings(_settings(s3_endpoint_url=None, s3_region="ap-southeast-1"))
    assert aws is not None and (aws.scheme, aws.host) == (
        "https",
        "s3.ap-southeast-1.amazonaws.com",
    )
    # An HTTP proxy for the endpoint: boto3 goes through it, the lean path would not.
    monkeypatch.setenv("http_proxy", "http://proxy.museum.vn:3128")
    assert LeanPutter.from_settings(_settings(s3_endpoint_url="http://storage.museum.vn")) is None
