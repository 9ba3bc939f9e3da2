"""Each kind of change a migration makes: what the spec becomes, how the report grades it and why."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

import pytest

from mlstack import targets
from mlstack.catalog import Sku, get_catalog
from mlstack.errors import format_path
from mlstack.migrate.migrate import migrate
from mlstack.migrate.report import Change, Report
from mlstack.spec import loads


def change(report: Report, path: str, grade: str | None = None) -> Change:
    found = [c for c in report.changes if format_path(c.path) == path and grade in (None, c.grade)]
    assert len(found) == 1, (path, [(format_path(c.path), c.grade) for c in report.changes])
    return found[0]


def difference(before: Sku, after: Sku) -> float | None:
    """What `after` costs more per hour; unknown (None) when either price is, never a difference against $0."""
    if before.price_usd_hour is None or after.price_usd_hour is None:
        return None
    return after.price_usd_hour - before.price_usd_hour


def line(text: str, number: int | None) -> str:
    assert number is not None
    return text.splitlines()[number - 1]


def test_pinned_skus_move_through_the_catalog_with_fidelity_and_price(wide):
    result = migrate(wide, "gcp")
    spec = loads(result.text).spec
    pinned = spec.compute["gpu-serving-profile-a10g"]
    assert (pinned.instance_type, pinned.accelerator_type, pinned.accelerator_count) == (
        "g2-standard-8",
        "NVIDIA_L4",
        1,
    )
    a10g = change(result.report, "compute.gpu-serving-profile-a10g.instance_type")
    assert a10g.grade == "approximate"
    assert "same class" in a10g.why and "A10G → 1×L4" in a10g.why
    catalog = get_catalog()
    assert a10g.price_delta_usd_hour == pytest.approx(
        difference(catalog.lookup("aws", "ml.g5.2xlarge"), catalog.lookup("gcp", "g2-standard-8"))
    )
    assert "# mlstack: was ml.g5.2xlarge on aws" in line(result.text, a10g.line)
    cpu = change(result.report, "endpoints[2].strategy.variants[0].compute.instance_type")  # an inline pin
    # the same vCPUs and RAM; the price too when both are known: graded on the machine, not the class alone
    source, target = catalog.lookup("aws", "ml.m5.large"), catalog.lookup("gcp", "e2-standard-2")
    assert cpu.after == "e2-standard-2" and (source.vcpus, source.memory_gb) == (target.vcpus, target.memory_gb)
    if source.price_usd_hour is None or target.price_usd_hour is None:
        assert cpu.grade == "exact" and "price not estimated" in cpu.why and "$" not in cpu.why
        return
    far = max(source.price_usd_hour, target.price_usd_hour) / min(source.price_usd_hour, target.price_usd_hour)
    assert cpu.grade == ("approximate" if far > 1.5 else "exact")
    assert (f"price ${source.price_usd_hour:g}/h → ${target.price_usd_hour:g}/h" in cpu.why) == (far > 1.5)


def test_neutral_profiles_stay_and_a_missing_gpu_model_becomes_its_counterpart(wide):
    result = migrate(wide, "azure")
    spec = loads(result.text).spec
    assert spec.compute["cpu"].model_dump(exclude_none=True) == {"vcpus": 4, "memory_gb": 16}
    cpu = change(result.report, "compute.cpu")  # kept as written, but the cheapest fit is twice the vCPUs
    assert cpu.grade == "approximate" and "not the same machine: vCPUs 4 → 8 (2.0×)" in cpu.why
    assert spec.compute["a10g"].gpu == "A10"
    gpu = change(result.report, "compute.a10g.gpu")
    assert gpu.grade == "approximate" and "has no A10G" in gpu.why


def test_a_gpu_profile_on_a_much_bigger_dearer_machine_is_not_exact(wide):
    """The GPU class alone does not make a migration exact: a 1-GPU profile that lands on a 36-vCPU,
    440 GiB size at a far higher hourly price is approximate, and the report says by how much."""
    result = migrate(wide, "azure")
    pinned = change(result.report, "compute.gpu-ser-5e34221c.instance_type")
    assert pinned.after == "Standard_NV36ads_A10_v5" and pinned.grade == "approximate"
    catalog = get_catalog()
    source, target = catalog.lookup("aws", "ml.g5.2xlarge"), catalog.lookup("azure", "Standard_NV36ads_A10_v5")
    known = source.price_usd_hour is not None and target.price_usd_hour is not None
    price = f"price ${source.price_usd_hour:g}/h → $" if known else "price not estimated"
    for words in ("vCPUs 8 → 36", "RAM 32 GiB → 440 GiB", price):
        assert words in pinned.why, pinned.why


def test_metrics_the_target_lacks_become_the_closest_of_their_kind(wide):
    gcp = migrate(wide, "gcp")
    metric = change(gcp.report, "monitors[0].metric")
    assert (metric.grade, metric.before, metric.after) == ("approximate", "psi", "jensen_shannon")
    assert "threshold 0.2 was chosen for psi" in metric.why
    assert loads(gcp.text).spec.monitors[0].metric == "jensen_shannon"
    azure = migrate(wide, "azure")
    assert change(azure.report, "monitors[2].metric").after == "accuracy"  # Azure ML has no auc
    assert change(azure.report, "monitors[1].metric").after == "ks"  # nor l_infinity
    assert not [c for c in azure.report.changes if format_path(c.path) == "monitors[0].metric"]  # psi is native


def test_schedules_become_the_nearest_the_target_runs(wide):
    result = migrate(wide, "gcp")
    schedule = change(result.report, "monitors[0].schedule")
    assert (schedule.before, schedule.after, schedule.grade) == ("0 */5 * * *", "0 */4 * * *", "approximate")
    overlay = change(result.report, "environments.prod.monitors.risk-drift.schedule")
    assert overlay.after == "0 */4 * * *"
    assert loads(result.text, env="prod").spec.monitors[0].schedule == "0 */4 * * *"


def test_strategy_limits_are_clamped(wide):
    azure = migrate(wide, "azure")
    shadow = change(azure.report, "endpoints[1].strategy.percent")
    assert shadow.grade == "approximate" and "at most 50%" in shadow.why
    assert loads(azure.text).spec.endpoints[1].strategy.percent == 50
    canary = wide.replace("percent: 40   # big canary", "percent: 70   # big canary").replace(
        "cloud: aws", "cloud: gcp"
    )
    back = migrate(canary, "aws")
    # two changes at the path: the clamp, and SageMaker's declared sizing of the canary in instances
    at = [c for c in back.report.changes if c.path == ("endpoints", 0, "strategy", "percent")]
    (clamp,) = [c for c in at if not c.what.startswith("on aws:")]
    assert clamp.after["percent"] == 50  # type: ignore[index]
    assert any(c.what == "on aws: strategy:canary" and "sized in instances" in c.why for c in at)
    assert "percent: 50   # big canary" in back.text


def test_a_strategy_the_target_lacks_falls_back_and_a_lost_challenger_is_unsupported(wide, monkeypatch):
    lacking = dataclasses.replace(
        targets.AZURE,
        unsupported_strategies={
            "canary": "no staged rollouts",
            "linear": "no staged rollouts",
            "shadow": "no mirroring",
        },
    )
    monkeypatch.setitem(targets.PROFILES, "azure", lacking)
    result = migrate(wide, "azure")
    canary = change(result.report, "endpoints[0].strategy.type")
    assert (canary.grade, loads(result.text).spec.endpoints[0].strategy.type) == ("approximate", "blue_green")
    shadow = change(result.report, "endpoints[1].strategy.type")
    assert shadow.grade == "unsupported" and "challenger no longer receives mirrored traffic" in shadow.why
    # The whole strategy comes back from its marker, as data: comments and flow style of the keys the
    # fallback removed are not in the marker.
    back = migrate(result.text, "aws")
    assert loads(back.text).spec == loads(wide).spec
    changed = [d[2:].strip() for d in difflib.ndiff(wide.splitlines(), back.text.splitlines()) if d[:1] in "+-"]
    assert changed and all(
        d.startswith(("percent: 40", "challenger:", "group: risk", "alias: challenger")) for d in changed
    )


def test_names_that_break_limits_are_fitted_and_every_reference_follows(wide):
    result = migrate(wide, "azure")
    spec = loads(result.text, env="prod").spec
    renamed = change(result.report, "endpoints[0].name")
    new = renamed.after
    assert renamed.grade == "approximate" and len(new) <= 32 and new.startswith("risk-scoring-endpoint")
    assert "3 references rewritten" in renamed.why
    assert spec.endpoints[0].name == new and spec.endpoints[0].instance_count == 2  # the prod overlay followed
    assert spec.monitors[0].endpoint == new
    assert spec.pipelines[0].steps[2].endpoint == new
    assert change(result.report, "compute.gpu-ser-5e34221c").after == "gpu-ser-5e34221c"
    assert change(result.report, "compute.gpu-ser-5e34221c").also == (("endpoints", 0, "compute"),)
    assert spec.endpoints[0].compute == "gpu-ser-5e34221c"
    assert [v.name for v in spec.endpoints[2].strategy.variants] == ["a-ca", "b-3e"]  # Azure needs 3 characters
    assert migrate(wide, "azure").text == result.text  # deterministic


def test_regions_move_to_the_nearest_and_the_settings_blocks_win(wide):
    gcp = migrate(wide, "gcp")
    region = change(gcp.report, "target.region")
    assert (region.after, region.grade) == ("europe-west2", "exact") and "London" in region.why
    stockholm = migrate(wide.replace("eu-west-2   #", "eu-north-1   #"), "gcp")
    assert change(stockholm.report, "target.region").grade == "approximate"
    own = migrate(
        wide.replace(
            "  gcp:\n    project: risk-platform\n", "  gcp:\n    project: risk-platform\n    region: us-west1\n"
        ),
        "gcp",
    )
    assert change(own.report, "target.gcp.region").grade == "exact"
    assert "region: eu-west-2   # the data must stay in London" in own.text  # untouched: gcp uses its own


def test_a_key_cannot_move_between_clouds(wide):
    result = migrate(wide, "gcp")
    key = change(result.report, "target.aws.kms_key")
    assert key.grade == "unsupported" and "set target.gcp.kms_key" in key.why
    target = loads(result.text).spec.target
    assert target.kms_key is None and target.aws is not None and target.aws.kms_key.startswith("arn:aws:kms")
    assert migrate(result.text, "aws").text == wide  # and it goes back where it was


def test_missing_settings_blocks_are_never_invented(wide):
    text = wide.replace(
        "  azure:\n    subscription_id: 00000000-1111-2222-3333-444444444444\n    resource_group: rg-risk\n"
        "    workspace: risk-ml\n",
        "",
    )
    result = migrate(text, "azure")
    block = change(result.report, "target.azure")
    assert block.grade == "unsupported" and "never invents account ids" in block.why
    assert not result.report.valid
    assert any("needs target.azure" in e.message for e in result.report.errors)
    assert "subscription_id" not in result.text


def test_data_locations_are_proposed_where_the_target_reads_only_its_own_storage(wide):
    result = migrate(wide, "gcp")
    artifact = change(result.report, "registry.model_groups[0].versions[0].artifact")
    assert (artifact.grade, artifact.after) == ("unsupported", "gs://risk-models/risk/1/model.tar.gz")
    assert "copy the data" in artifact.why
    assert change(result.report, "feature_store.views[0].source.uri").after == "bq://risk-platform.risk_data.card_stats"
    baseline = change(result.report, "monitors[0].baseline")  # Vertex reads parquet baselines through BigQuery
    assert baseline.after == "bq://risk-platform.risk_data.baseline"
    image = change(result.report, "pipelines[0].image")  # kept, but listed
    assert image.grade == "unsupported" and "Amazon ECR" in image.what
    assert "123456789012.dkr.ecr" in result.text
    azure = migrate(result.text, "azure")  # translated from the original s3 URI, not from the gs:// proposal
    moved = change(azure.report, "registry.model_groups[0].versions[0].artifact")
    assert moved.after == "azureml://datastores/workspaceblobstore/paths/risk-models/risk/1/model.tar.gz"
    assert migrate(azure.text, "aws").text == wide


def test_relative_data_moves_with_the_spec_and_a_data_root_is_used_for_proposals(wide):
    text = wide.replace("s3://risk-models/risk/1/model.tar.gz", "models/risk/1/").replace(
        "    project: risk-platform\n", "    project: risk-platform\n    data_root: gs://risk-lake/ml\n"
    )
    result = migrate(text, "gcp")
    assert "artifact: models/risk/1/\n" in result.text
    assert not [c for c in result.report.changes if format_path(c.path).endswith("versions[0].artifact")]
    assert change(result.report, "registry.model_groups[0].versions[1].artifact").after == (
        "gs://risk-lake/ml/risk-models/risk/2/model.tar.gz"
    )


def test_serverless_endpoints_are_left_for_the_user_where_the_target_has_none(wide):
    text = wide.replace(
        "    compute: a10g\n    data_capture: {sampling_percent: 50}\n    strategy:\n      type: ab",
        "    serverless: {memory_gb: 4, max_concurrency: 10}\n    strategy:\n      type: ab",
    )
    text = text.replace("          compute:\n            instance_type: ml.m5.large\n", "")
    text = text.replace("      type: ab\n      variants:", "      type: all_at_once\n      variants:")
    text = text.replace(
        "      variants:\n        - name: a\n          model: {group: risk, version: 1}\n          weight: 50\n"
        "        - name: b\n          model: {group: risk, version: 2}\n          weight: 50\n",
        "",
    )
    text = text.replace("  - name: risk-ab\n", "  - name: risk-ab\n    model: {group: risk, alias: champion}\n")
    loads(text)
    result = migrate(text, "gcp")
    assert change(result.report, "endpoints[2].serverless").grade == "unsupported"
    assert not result.report.valid


def test_untouched_lines_keep_their_comments_and_a_changed_line_keeps_the_users(wide):
    result = migrate(wide, "gcp")
    assert result.text.startswith("# A spec that exercises every kind of migration change.\n")
    assert "  gpu-serving-profile-a10g:   # a pinned instance\n" in result.text
    assert "region: europe-west2   # the data must stay in London  # mlstack: was eu-west-2 on aws" in result.text
    unchanged = set(wide.splitlines()) - set(result.text.splitlines())
    changed_lines = {line(wide, c.line) for c in migrate(result.text, "aws").report.changes if c.line}
    assert unchanged <= changed_lines | {"  kms_key: " + wide.split("kms_key: ")[1].splitlines()[0]}


def test_a_user_edit_after_a_migration_wins_over_the_marker(wide):
    on_gcp = migrate(wide, "gcp").text.replace("metric: jensen_shannon  # mlstack", "metric: l_infinity  # mlstack")
    back = migrate(on_gcp, "aws")
    assert loads(back.text).spec.monitors[0].metric == "l_infinity"


def test_every_line_the_migration_changed_is_in_the_report(wide):
    for to in ("gcp", "azure", "local"):
        result = migrate(wide, to)
        before, after = wide.splitlines(), result.text.splitlines()
        reported = result.report.lines("exact", "approximate", "unsupported")

        for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after).get_opcodes():
            if tag in ("replace", "insert"):
                for number in range(j1 + 1, j2 + 1):
                    owner = number
                    # lines added under a changed key (a pin's accelerator) belong to the key's change
                    while owner not in reported and owner > j1:
                        owner -= 1
                    assert owner in reported, (to, after[number - 1])


def test_the_example_gpu_profile_migrated_to_azure_is_graded_on_the_machine_it_buys():
    text = (Path(__file__).resolve().parents[2] / "specs" / "fraud-detection.yaml").read_text()
    catalog = get_catalog()
    before = catalog.resolve("aws", loads(text).spec.compute["gpu-inference"])
    after = catalog.resolve("azure", loads(text).spec.compute["gpu-inference"])
    gpu = change(migrate(text, "azure").report, "compute.gpu-inference")
    assert gpu.grade == "approximate" and f"resolves to {after.sku}" in gpu.what
    assert f"vCPUs {before.vcpus} → {after.vcpus}" in gpu.why and f"RAM {before.memory_gb:g} GiB" in gpu.why
    assert gpu.price_delta_usd_hour == pytest.approx(difference(before, after))


@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_serverless_and_async_endpoints_name_what_the_target_offers_instead(cloud):
    text = (Path(__file__).resolve().parents[2] / "specs" / "sporadic-scoring.yaml").read_text()
    result = migrate(text.replace("cloud: local", "cloud: aws"), cloud)
    serverless = change(result.report, "endpoints[0].serverless")
    queued = change(result.report, "endpoints[1].async")
    assert serverless.grade == queued.grade == "unsupported"
    assert targets.profile(cloud).serverless_instead in serverless.why
    assert targets.profile(cloud).async_instead in queued.why
    assert "batch" in queued.why
    assert not result.report.valid
