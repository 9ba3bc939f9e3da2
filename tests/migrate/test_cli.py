"""`mlstack migrate` from the shell: files written, reports in both forms, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mlstack.spec import load
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlstack", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_migrate_writes_the_spec_and_both_reports(tmp_path: Path):
    out, md, js = tmp_path / "gcp.yaml", tmp_path / "r.md", tmp_path / "r.json"
    result = run(
        "migrate",
        "specs/fraud-detection.yaml",
        "--to",
        "gcp",
        "-o",
        str(out),
        "--report",
        str(md),
        "--json-report",
        str(js),
        "--no-plan",
    )
    assert result.returncode == 0, result.stderr
    assert "migrate fraud-detection: aws → gcp" in result.stderr and "validates" in result.stderr
    assert load(out).cloud == "gcp"
    report = json.loads(js.read_text())
    assert report["valid"] is True and report["planned"] is None
    assert report["counts"]["exact"] == sum(1 for c in report["changes"] if c["grade"] == "exact") > 0
    cloud = next(c for c in report["changes"] if c["path"] == "target.cloud")
    assert (cloud["before"], cloud["after"], cloud["line"]) == ("aws", "gcp", 12)
    assert md.read_text().startswith("# migrate fraud-detection: aws → gcp\n")


def test_a_spec_that_does_not_validate_yet_is_written_and_exits_1_with_located_errors(tmp_path: Path):
    out = tmp_path / "q.yaml"
    result = run("migrate", "specs/quickstart.yaml", "--to", "azure", "-o", str(out))
    assert result.returncode == 1
    assert out.exists() and "cloud: azure" in out.read_text()
    assert f"{out}:" in result.stderr and "needs target.azure" in result.stderr
    assert "decide: target.azure is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_prints_to_stdout_and_plans_by_default():
    result = run("migrate", "specs/fraud-detection.yaml", "--to", "aws")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "specs" / "fraud-detection.yaml").read_text()
    assert "validates and plans offline" in result.stderr


def test_bad_input_and_usage():
    missing = run("migrate", "no/such.yaml", "--to", "gcp")
    assert missing.returncode == 1 and "no/such.yaml:1:1: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert run("migrate", "specs/quickstart.yaml", "--to", "moon").returncode == 2


def test_import_reads_a_live_endpoint_and_reports_what_the_account_would_not_tell(tmp_path: Path):
    """`mlstack import` as a user runs it, against moto's server on 127.0.0.1 (no feature groups or
    monitoring schedules there: the report must say they were not read)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        sm = boto3.client(
            "sagemaker",
            region_name="eu-west-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/serve:1"
        sm.create_model(
            ModelName="scorer-model",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"Image": image, "ModelDataUrl": "s3://models/scorer.tar.gz"},
        )
        sm.create_endpoint_config(
            EndpointConfigName="scorer-config",
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": "scorer-model",
                    "InstanceType": "ml.c5.xlarge",
                    "InitialInstanceCount": 3,
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        sm.create_endpoint(EndpointName="scorer", EndpointConfigName="scorer-config")
        out, report = tmp_path / "imported.yaml", tmp_path / "import.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlstack",
                "import",
                "--from",
                "aws",
                "--region",
                "eu-west-1",
                "--owner",
                "ml@example.com",
                "-o",
                str(out),
                "--json-report",
                str(report),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "validates and plans offline" in result.stderr
    spec = load(out).spec
    assert spec.target.region == "eu-west-1"
    assert [(e.name, e.compute, e.instance_count) for e in spec.endpoints] == [("scorer", "c5-xlarge", 3)]
    assert spec.compute["c5-xlarge"].instance_type == "ml.c5.xlarge"
    unread = [c["what"] for c in json.loads(report.read_text())["changes"] if c["what"].startswith("could not read")]
    assert unread == ["could not read feature groups", "could not read monitoring schedules"]


def test_import_without_credentials_says_so(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "mlstack", "import", "--from", "aws", "--region", "us-east-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1
    assert "no AWS credentials" in result.stderr and "Traceback" not in result.stderr
