"""Feature set specifications are written with Entra ID, never the account's shared keys (Z1): the plan's
blob resources, and the provider's request as azure-storage-blob sends it through a recording transport."""

from __future__ import annotations

import yaml
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpResponse, HttpTransport

from mlstack.backends.azure.blobs import blob_client, upload


class Recorded(HttpResponse):
    def __init__(self, request) -> None:
        super().__init__(request, None)
        self.status_code = 201
        self.headers = {"ETag": '"0x1"', "Last-Modified": "Thu, 03 Dec 2026 05:00:00 GMT"}
        self.reason = "Created"
        self.content_type = None

    def body(self) -> bytes:
        return b""


class Transport(HttpTransport):
    def __init__(self) -> None:
        self.requests: list = []

    def __enter__(self):
        return self

    def __exit__(self, *args) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request, **kwargs):
        self.requests.append(request)
        return Recorded(request)


class Token:
    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        assert scopes == ("https://storage.azure.com/.default",)
        return AccessToken("entra-token", 4102444800)


def test_the_plan_writes_each_spec_with_entra_id_not_azure_natives_keyed_blob(fraud):
    plan = fraud(None)
    assert plan.of("Blob") == []
    blobs = {r.name: r.inputs for r in plan.of("Resource") if r.name.endswith("-spec")}
    assert set(blobs) == {"customer-txn-stats-spec", "merchant-risk-spec"}
    for blob in blobs.values():
        assert blob["content_type"] == "application/x-yaml" and blob["name"].endswith("/FeaturesetSpec.yaml")
        assert yaml.safe_load(blob["text"])["index_columns"]
    accounts = plan.of("StorageAccount")
    assert accounts and all(a.inputs["allowSharedKeyAccess"] is False for a in accounts)


def test_the_upload_is_a_bearer_token_put_of_the_spec_text():
    props = {
        "account_url": "https://fsfraud.blob.core.windows.net",
        "container": "featuresets",
        "name": "customer-txn-stats/1/FeaturesetSpec.yaml",
        "text": "source:\n  type: parquet\n",
        "content_type": "application/x-yaml",
    }
    transport = Transport()
    upload(blob_client(props, credential=Token(), transport=transport), props)
    (request,) = transport.requests
    assert request.method == "PUT"
    assert request.url.startswith("https://fsfraud.blob.core.windows.net/featuresets/customer-txn-stats/1/")
    assert request.headers["Authorization"] == "Bearer entra-token"
    assert request.headers["x-ms-blob-type"] == "BlockBlob"
    assert request.headers["x-ms-blob-content-type"] == "application/x-yaml"
    assert request.body == props["text"].encode()
