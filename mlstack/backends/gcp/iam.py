"""Service accounts and the narrowest predefined roles each needs, bound at the smallest scope that works.

Why these roles (README.md has the table):
- `roles/aiplatform.user` is the narrowest predefined role that can create pipeline jobs, upload models
  and deploy them; no smaller predefined Vertex role covers `pipelineJobs.create`, `models.upload` and
  `endpoints.deploy`. Only the pipelines account (it registers and rolls out models), the monitors account
  (its monitoring pipelines run as it: a pipeline job's account needs `aiplatform.metadataStores.get`) and
  the workflows account (it starts retraining runs and reverts traffic) get it.
- Storage and BigQuery access is bound on the platform's bucket and dataset, not the project; only
  `roles/bigquery.jobUser` (run queries) has no narrower scope than the project.
- The serving account gets no role: the prediction container needs none, and Vertex copies the model
  artifacts with its own service agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp.context import Gcp

# account -> (description, project-level roles)
ACCOUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pipelines": (
        "Runs mlstack's Vertex pipelines: training steps, model registration and rollouts.",
        ("roles/aiplatform.user", "roles/bigquery.jobUser"),
    ),
    "serving": ("Identity of the prediction containers; holds no role.", ()),
    "monitors": (
        "Runs mlstack's monitoring pipelines over the request-response logs.",
        # a pipeline job's service account needs aiplatform.metadataStores.get (Vertex AI User) to run it
        ("roles/aiplatform.user", "roles/bigquery.jobUser"),
    ),
    "workflows": (
        "Runs the retrain and rollback workflows started by monitor alerts.",
        ("roles/aiplatform.user", "roles/workflows.invoker", "roles/eventarc.eventReceiver"),
    ),
}
# account -> roles on the platform bucket
BUCKET_ROLES = {
    "pipelines": "roles/storage.objectUser",
    "monitors": "roles/storage.objectUser",
    "workflows": "roles/storage.objectViewer",
}
# account -> roles on the platform dataset (logging tables, monitoring results)
DATASET_ROLES = {"pipelines": "roles/bigquery.dataEditor", "monitors": "roles/bigquery.dataViewer"}
KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


@dataclass(frozen=True)
class Accounts:
    accounts: dict[str, gcp.serviceaccount.Account]

    def email(self, name: str) -> pulumi.Output[str]:
        return self.accounts[name].email

    def member(self, name: str) -> pulumi.Output[str]:
        return self.accounts[name].email.apply(lambda email: f"serviceAccount:{email}")


def service_accounts(ctx: Gcp, component: SpecComponent) -> Accounts:
    accounts: dict[str, gcp.serviceaccount.Account] = {}
    for name, (description, roles) in ACCOUNTS.items():
        account = gcp.serviceaccount.Account(
            f"sa-{name}",
            account_id=ctx.name(name, max_length=30),
            display_name=f"mlstack {ctx.spec_name} {name}",
            description=description,
            project=ctx.project,
            opts=ctx.opts(component),
        )
        accounts[name] = account
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        for role in roles:
            gcp.projects.IAMMember(
                f"sa-{name}-{role.split('/')[-1].replace('.', '-')}",
                project=ctx.project,
                role=role,
                member=member,
                opts=ctx.opts(component),
            )
    found = Accounts(accounts)
    # Vertex runs pipeline tasks and deployed models as these accounts: whoever launches them must be
    # allowed to act as them. Granted on the one account, not project-wide.
    for actor, target in (("pipelines", "pipelines"), ("pipelines", "serving"), ("workflows", "pipelines")):
        gcp.serviceaccount.IAMMember(
            f"sa-{actor}-actas-{target}",
            service_account_id=accounts[target].name,
            role="roles/iam.serviceAccountUser",
            member=found.member(actor),
            opts=ctx.opts(component),
        )
    return found


def data_access(
    ctx: Gcp, component: SpecComponent, accounts: Accounts, bucket: gcp.storage.Bucket, dataset: gcp.bigquery.Dataset
) -> None:
    for name, role in BUCKET_ROLES.items():
        gcp.storage.BucketIAMMember(
            f"bucket-{name}", bucket=bucket.name, role=role, member=accounts.member(name), opts=ctx.opts(component)
        )
    for name, role in DATASET_ROLES.items():
        gcp.bigquery.DatasetIamMember(
            f"dataset-{name}",
            dataset_id=dataset.dataset_id,
            project=ctx.project,
            role=role,
            member=accounts.member(name),
            opts=ctx.opts(component),
        )


def source_readers(ctx: Gcp, component: SpecComponent, accounts: Accounts, datasets: list[tuple[str, str]]) -> None:
    """Read access for pipelines to each feature source dataset, at dataset scope."""
    for project, dataset in datasets:
        gcp.bigquery.DatasetIamMember(
            f"source-{project}-{dataset}",
            dataset_id=dataset,
            project=project,
            role="roles/bigquery.dataViewer",
            member=accounts.member("pipelines"),
            opts=ctx.opts(component),
        )


def key_users(ctx: Gcp, component: SpecComponent) -> list[pulumi.Resource]:
    """Let the service agents that encrypt mlstack's data use the CMEK key (on the key, not the project);
    encrypted resources depend on these grants."""
    if not ctx.kms_key:
        return []
    members: dict[str, pulumi.Input[str]] = {}
    # artifactregistry: the runtime image repository (platform.py) is encrypted with the key too
    for service in ("aiplatform.googleapis.com", "pubsub.googleapis.com", "artifactregistry.googleapis.com"):
        identity = gcp.projects.ServiceIdentity(
            f"agent-{service.split('.')[0]}", project=ctx.project, service=service, opts=ctx.opts(component)
        )
        members[service.split(".")[0]] = identity.member
    invoke = pulumi.InvokeOptions(provider=ctx.provider)
    storage_agent = gcp.storage.get_project_service_account_output(project=ctx.project, opts=invoke)
    members["storage"] = storage_agent.email_address.apply(lambda email: f"serviceAccount:{email}")
    bigquery_agent = gcp.bigquery.get_default_service_account_output(project=ctx.project, opts=invoke)
    members["bigquery"] = bigquery_agent.email.apply(lambda email: f"serviceAccount:{email}")
    return [
        gcp.kms.CryptoKeyIAMMember(
            f"kms-{service}", crypto_key_id=ctx.kms_key, role=KMS_ROLE, member=member, opts=ctx.opts(component)
        )
        for service, member in members.items()
    ]
