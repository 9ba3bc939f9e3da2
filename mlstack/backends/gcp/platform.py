"""The `platform` component: the explicit provider, service accounts, the staging bucket (pipeline root,
pipeline specs) and the BigQuery dataset holding the endpoints' request-response logs, all private and
encrypted with the CMEK key when one is set."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp import iam
from mlstack.backends.gcp.context import Gcp
from mlstack.backends.gcp.sources import bigquery_table
from mlstack.backends.runtime_images import RuntimeImages
from mlstack.runtime import images


@dataclass(frozen=True)
class Platform:
    component: SpecComponent
    accounts: iam.Accounts
    bucket: gcp.storage.Bucket
    bucket_name: str
    dataset: gcp.bigquery.Dataset
    dataset_id: str
    key_grants: list[pulumi.Resource]
    images: RuntimeImages | None = field(default=None)

    def runtime_image(self) -> str:
        """mlstack's runtime image (gates, registration, deployment, monitors, replay), built by this stack."""
        assert self.images is not None
        return self.images.reference(images.runtime_image("gcp"))

    def step_image(self, base: str) -> str:
        """`base` with mlstack's step adapter added, built by this stack."""
        assert self.images is not None
        return self.images.reference(images.step_image(base))

    def images_pushed(self) -> list[pulumi.Resource]:
        """What a pipeline spec or schedule that runs these images waits for."""
        return self.images.resources if self.images else []

    def gcs(self, *path: str) -> str:
        return "/".join((f"gs://{self.bucket_name}", *path))

    def bigquery(self, table: str) -> str:
        return f"{self.dataset_id}.{table}"


def build_platform(ctx: Gcp) -> Platform:
    component = SpecComponent("platform", ctx.spec_name)
    ctx.provider = gcp.Provider(
        "gcp", project=ctx.project, region=ctx.region, opts=pulumi.ResourceOptions(parent=component)
    )
    accounts = iam.service_accounts(ctx, component)
    grants = iam.key_users(ctx, component)
    after_grants = {"depends_on": grants} if grants else {}
    bucket_name = ctx.name(ctx.project, max_length=63)
    bucket = gcp.storage.Bucket(
        "bucket",
        name=bucket_name,
        project=ctx.project,
        location=ctx.region.upper(),
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning={"enabled": True},
        encryption={"default_kms_key_name": ctx.kms_key} if ctx.kms_key else None,
        labels=ctx.labels,
        opts=ctx.opts(component, **after_grants),
    )
    dataset_id = ctx.vertex_id(max_length=1024)
    dataset = gcp.bigquery.Dataset(
        "dataset",
        dataset_id=dataset_id,
        project=ctx.project,
        location=ctx.region,
        description=f"mlstack {ctx.spec_name}: request-response logs and monitoring results.",
        default_encryption_configuration={"kms_key_name": ctx.kms_key} if ctx.kms_key else None,
        labels=ctx.labels,
        opts=ctx.opts(component, **after_grants),
    )
    iam.data_access(ctx, component, accounts, bucket, dataset)
    sources = sorted(
        {
            (table.project, table.dataset)
            for view in ctx.resolved.spec.feature_store.views
            if (table := bigquery_table(view.source.uri)) is not None
        }
    )
    iam.source_readers(ctx, component, accounts, sources)
    component.done({"bucket": bucket.name, "dataset": dataset.dataset_id})
    return Platform(
        component,
        accounts,
        bucket,
        bucket_name,
        dataset,
        f"{ctx.project}.{dataset_id}",
        grants,
        _runtime_images(ctx, component, after_grants),
    )


def _runtime_images(ctx: Gcp, component: SpecComponent, after_grants: dict[str, object]) -> RuntimeImages:
    """The Artifact Registry repository of mlstack's runtime and step images, and their builds, pushed
    with the deployer's own Google credentials (an OAuth access token)."""
    repository_id = ctx.name("mlstack")
    repository = gcp.artifactregistry.Repository(
        "runtime-images",
        repository_id=repository_id,
        project=ctx.project,
        location=ctx.region,
        format="DOCKER",
        description=f"mlstack {ctx.spec_name}: runtime and step images, tagged by content",
        kms_key_name=ctx.kms_key,
        labels=ctx.labels,
        opts=ctx.opts(component, **after_grants),
    )
    host = f"{ctx.region}-docker.pkg.dev"
    token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=ctx.provider))
    return RuntimeImages(
        repository=f"{host}/{ctx.project}/{repository_id}",
        opts=ctx.opts(component, depends_on=[repository]),
        registries=[{"address": host, "username": "oauth2accesstoken", "password": token.access_token}],
    )
