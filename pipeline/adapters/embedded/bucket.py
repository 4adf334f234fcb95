"""Buckets on an S3 endpoint: create them, public-read policy and CORS; stores no objects."""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.adapters.embedded.seaweedfs import make_s3_client
from pipeline.core.layout import PUBLIC_PREFIXES
from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)


def create_buckets(
    endpoint: str,
    *,
    access_key: str,
    secret_key: str,
    names: list[str],
    region: str = "us-east-1",
) -> list[str]:
    """Create the missing ones of these buckets, private except for anonymous GETs of
    PUBLIC_PREFIXES (set again on every call, so older buckets get it too); return those created.
    """
    client = make_s3_client(endpoint, access_key, secret_key, region)
    created = []
    for name in dict.fromkeys(names):
        try:
            client.head_bucket(Bucket=name)
            allow_public_read(client, name)
            continue
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status != 404:
                raise ConfigurationError(
                    f"Cannot check bucket {name!r} at {endpoint}: {_describe(exc)}; check the "
                    "S3 credentials in var/sohoa.env or the environment."
                ) from exc
        except BotoCoreError as exc:
            raise ConfigurationError(f"S3 at {endpoint} does not answer: {exc}") from exc
        try:
            client.create_bucket(Bucket=name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                continue
            raise ConfigurationError(
                f"Cannot create bucket {name!r} at {endpoint}: {_describe(exc)}; bucket names "
                "are 3-63 lowercase letters, digits, dots and hyphens."
            ) from exc
        except BotoCoreError as exc:
            raise ConfigurationError(f"S3 at {endpoint} does not answer: {exc}") from exc
        allow_public_read(client, name)
        created.append(name)
        logger.info("created bucket %s at %s", name, endpoint)
    return created


def public_read_policy(bucket: str, prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> dict[str, Any]:
    """An S3 bucket policy letting anyone GET (not list) the objects under these prefixes."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SohoaPublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in prefixes],
            }
        ],
    }


def allow_public_read(client: Any, bucket: str) -> None:
    """Put public_read_policy on the bucket, and CORS rules letting any page GET from it.

    SeaweedFS evaluates bucket policies for anonymous requests (PutBucketPolicy), which the
    identities file cannot do for buckets whose names it does not know in advance.
    """
    try:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read_policy(bucket)))
        # A viewer page is served from another origin than S3: its tile GETs need CORS.
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": ["*"],
                        "AllowedMethods": ["GET", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 3600,
                    }
                ]
            },
        )
    except ClientError as exc:
        raise ConfigurationError(
            f"Cannot make the public prefixes of bucket {bucket!r} readable: {_describe(exc)}; "
            "the S3 key needs the Admin action (see var/sohoa.env)."
        ) from exc
    except BotoCoreError as exc:
        raise ConfigurationError(f"S3 does not answer: {exc}") from exc


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')} ({error.get('Message', '').strip() or 'no message'})"
