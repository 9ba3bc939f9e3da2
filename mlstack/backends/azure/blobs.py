"""A small text blob written with Entra ID, for feature set specifications.

pulumi-azure-native's `storage.Blob` writes with the account's shared keys (pulumi-azure-native#3719), which
the platform's storage accounts refuse (`allowSharedKeyAccess: false`: KeyBasedAuthenticationNotPermitted).
This dynamic resource writes with the deployer's own Azure credential instead (Storage Blob Data
Contributor on the container, granted by the stack); with private endpoints the deployer reaches the
account through its private endpoint, from inside the network (README: private networking)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

_KEYS = ("account_url", "container", "name", "text", "content_type")


def blob_client(props: dict[str, Any], credential: Any = None, **kwargs: Any) -> Any:
    from azure.storage.blob import BlobClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return BlobClient(props["account_url"], props["container"], props["name"], credential=credential, **kwargs)


def upload(client: Any, props: dict[str, Any]) -> None:
    from azure.storage.blob import ContentSettings

    client.upload_blob(
        props["text"].encode(), overwrite=True, content_settings=ContentSettings(content_type=props["content_type"])
    )


class TextBlobProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        upload(blob_client(props), props)
        return CreateResult(id_=f"{props['account_url']}/{props['container']}/{props['name']}", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        upload(blob_client(news), news)
        return UpdateResult(outs=news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _KEYS if olds.get(k) != news.get(k)]
        moved = [k for k in changed if k in ("account_url", "container", "name")]
        return DiffResult(changes=bool(changed), replaces=moved, delete_before_replace=False)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        blob_client(props).delete_blob()


class TextBlob(pulumi.dynamic.Resource):
    def __init__(
        self,
        name: str,
        *,
        account_url: pulumi.Input[str],
        container: pulumi.Input[str],
        blob_name: str,
        text: str,
        content_type: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "account_url": account_url,
            "container": container,
            "name": blob_name,
            "text": text,
            "content_type": content_type,
        }
        super().__init__(TextBlobProvider(), name, props, opts)
