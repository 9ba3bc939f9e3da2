"""Reading the jobs' inputs from S3 (`s3://bucket/key`) or from a local path, the same way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlstack.jobs.failures import JobFailed

_URI = re.compile(r"s3://(?P<bucket>[^/]+)/?(?P<key>.*)")


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def split(uri: str) -> tuple[str, str]:
    match = _URI.fullmatch(uri)
    if not match:
        raise JobFailed(f"'{uri}' is not an S3 URI (s3://bucket/key)")
    return match["bucket"], match["key"]


class Storage:
    """Files under local paths or S3 URIs; the S3 client is made on first use."""

    def __init__(self) -> None:
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def read(self, location: str) -> bytes:
        if not is_s3(location):
            path = Path(location)
            if not path.is_file():
                raise JobFailed(f"{location} does not exist or is not a file")
            return path.read_bytes()
        bucket, key = split(location)
        client = self.client
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            raise JobFailed(f"{location} does not exist") from None

    def files(self, location: str, suffix: str) -> Iterator[str]:
        """Every file ending in `suffix` below a local directory or an S3 prefix, in name order."""
        if not is_s3(location):
            root = Path(location)
            if not root.is_dir():
                raise JobFailed(f"{location} does not exist or is not a directory")
            yield from (str(p) for p in sorted(root.rglob(f"*{suffix}")) if p.is_file())
            return
        bucket, prefix = split(location)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"].endswith(suffix):
                    yield f"s3://{bucket}/{item['Key']}"
