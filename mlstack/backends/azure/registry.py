"""Model groups as Azure ML models: ModelContainer/ModelVersion in the workspace, or, when the spec asks
for sharing across workspaces, an Azure ML Registry with RegistryModelContainer/RegistryModelVersion."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.checks import model_type_problem
from mlstack.backends.azure.context import Azure, after
from mlstack.errors import MlstackError
from mlstack.spec.models import ModelGroup, ModelVersion

# Without a serving image Azure deploys the artifact with no scoring code, which it does for MLflow models only.
MLFLOW_MODEL = "mlflow_model"
CUSTOM_MODEL = "custom_model"
TRITON_MODEL = "triton_model"


def model_type(version: ModelVersion) -> str:
    if problem := model_type_problem(version):
        raise MlstackError(problem)
    if version.image:
        return CUSTOM_MODEL
    return TRITON_MODEL if version.framework == "triton" else MLFLOW_MODEL


def version_tags(group: ModelGroup, version: ModelVersion) -> dict[str, str]:
    """Azure models have no aliases or approval state: both are kept as tags, which stay editable."""
    tags = {"framework": version.framework, "approval": version.approval}
    if version.aliases:
        tags["aliases"] = ",".join(version.aliases)
    return {**group.tags, **tags}


@dataclass
class Models:
    """Where each declared model version lives, as the id an online deployment's `model` takes."""

    ids: dict[tuple[str, int], pulumi.Output[str]] = field(default_factory=dict)

    def id_of(self, group: str, version: int) -> pulumi.Output[str]:
        return self.ids[(group, version)]


def registry_name(ctx: Azure) -> str:
    return ctx.name("models", max_length=33)


def _shared_registry(ctx: Azure) -> ml.Registry:
    assert ctx.platform is not None
    storage = ml.SystemCreatedStorageAccountArgs(
        storage_account_type="Standard_ZRS" if ctx.resolved.production else "Standard_LRS",
        allow_blob_public_access=False,
        storage_account_hns_enabled=False,
    )
    return ml.Registry(
        "model-registry",
        registry_name=registry_name(ctx),
        resource_group_name=ctx.platform.resource_group_name,
        location=ctx.location,
        identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
        public_network_access="Disabled" if ctx.platform.private else "Enabled",
        region_details=[
            ml.RegistryRegionArmDetailsArgs(
                location=ctx.location,
                acr_details=[
                    ml.AcrDetailsArgs(
                        system_created_acr_account=ml.SystemCreatedAcrAccountArgs(acr_account_sku="Premium")
                    )
                ],
                storage_account_details=[ml.StorageAccountDetailsArgs(system_created_storage_account=storage)],
            )
        ],
        tags=ctx.tags,
        opts=ctx.platform.component.child(),
    )


def build_registry(ctx: Azure) -> Models:
    assert ctx.platform is not None
    registry_spec = ctx.resolved.spec.registry
    models = Models()
    registry = _shared_registry(ctx) if registry_spec.shared and registry_spec.model_groups else None
    for group in registry_spec.model_groups:
        component = ctx.component("registry", group.name)
        promotion = registry_spec.promotion_of(group)
        container_props = ml.ModelContainerPropertiesArgs(
            description=group.description,
            tags={**group.tags, "approval-policy": group.approval, **(promotion.tags() if promotion else {})},
        )
        if registry is not None:
            where = {
                "registry_name": after(registry, registry_name(ctx)),
                "resource_group_name": ctx.platform.resource_group_name,
            }
            container = ml.RegistryModelContainer(
                group.name, model_name=group.name, properties=container_props, **where, opts=component.child()
            )
        else:
            where = ctx.in_workspace()
            container = ml.ModelContainer(
                group.name, name=group.name, properties=container_props, **where, opts=component.child()
            )
        for version in group.versions:
            props = ml.ModelVersionPropertiesArgs(
                model_uri=version.artifact,
                model_type=model_type(version),
                description=group.description,
                tags=version_tags(group, version),
                properties={f"metric.{k}": repr(v) for k, v in sorted(version.metrics.items())},
            )
            opts = component.child(depends_on=[container])
            label = f"{group.name}-v{version.version}"
            if registry is not None:
                resource = ml.RegistryModelVersion(
                    label, model_name=group.name, version=str(version.version), properties=props, **where, opts=opts
                )
                model_id = f"azureml://registries/{registry_name(ctx)}/models/{group.name}/versions/{version.version}"
            else:
                resource = ml.ModelVersion(
                    label, name=group.name, version=str(version.version), properties=props, **where, opts=opts
                )
                model_id = ctx.asset_id("models", group.name, str(version.version))
            models.ids[(group.name, version.version)] = after(resource, model_id)
        component.done()
    return models
