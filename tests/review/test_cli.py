"""`mlstack diff` and `mlstack init-ci` as a user and a CI job run them: exit codes like
`terraform plan -detailed-exitcode`, located errors, and the review workflow's own shell steps and
comment script, run here against a real git repository and a stand-in for GitHub's API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.errors import MlstackError
from mlstack.review.render import MARKER
from mlstack.review.workflow import TEMPLATE, fill, requirement_from
from tests.review.conftest import git, pull_request_checkout, small, write_pair

ROOT = Path(__file__).resolve().parents[2]


def mlstack(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlstack", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def test_exit_codes_and_formats(tmp_path: Path) -> None:
    head = small()
    head["endpoints"][0]["strategy"]["percent"] = 20
    base, changed = write_pair(tmp_path, small(), head)
    same = mlstack("diff", str(base), str(base), "--target", "local", cwd=tmp_path)
    assert same.returncode == 0 and "No changes." in same.stdout
    diff = mlstack("diff", str(base), str(changed), "--target", "local", "--format", "json", cwd=tmp_path)
    assert diff.returncode == 2, diff.stderr
    assert json.loads(diff.stdout)["summary"] == ["endpoint rank: canary 10% → 20%"]
    again = mlstack("diff", str(base), str(changed), "--target", "local", "--format", "json", cwd=tmp_path)
    assert again.stdout == diff.stdout, "byte-identical for the same inputs"


def test_invalid_spec_is_a_located_error_and_exit_1(tmp_path: Path) -> None:
    broken = small()
    broken["endpoints"][0]["instance_count"] = 0
    base, head = write_pair(tmp_path, small(), broken)
    result = mlstack("diff", str(base), str(head), "--target", "local", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert f"{head}:" in result.stderr and "endpoints[0].instance_count" in result.stderr
    assert "Traceback" not in result.stderr
    missing = mlstack("diff", "nope.yaml", str(head), cwd=tmp_path)
    assert missing.returncode == 1 and "nope.yaml: no such file" in missing.stderr


# --- init-ci ---------------------------------------------------------------------------------------------


def test_init_ci_writes_the_workflow_for_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "shop.yaml").write_text(yaml.safe_dump(small()))
    runner = CliRunner()
    source = "mlstack[aws] @ git+https://example.invalid/platform/mlstack@0123abc"
    result = runner.invoke(app, ["init-ci", "-f", "specs/shop.yaml", "--env", "prod", "--requirement", source])
    assert result.exit_code == 0, result.output
    written = tmp_path / ".github" / "workflows" / "mlstack-review.yml"
    assert result.output.strip() == f"wrote {Path('.github/workflows/mlstack-review.yml')}"
    flow = yaml.safe_load(written.read_text())
    trigger = flow[True]["pull_request"]["paths"]  # YAML 1.1 reads the key `on` as true
    assert trigger == ["specs/shop.yaml", ".github/workflows/mlstack-review.yml"]
    assert flow["env"]["MLSTACK_SPEC"] == "specs/shop.yaml" and flow["env"]["MLSTACK_ENV"] == "prod"
    assert flow["env"]["MLSTACK_PACKAGE"] == source
    assert flow["permissions"] == {"contents": "read", "pull-requests": "write"}
    template_lines = TEMPLATE.read_text().splitlines()
    changed = [
        n for n, (a, b) in enumerate(zip(template_lines, written.read_text().splitlines(), strict=True)) if a != b
    ]
    assert all("# mlstack:" in template_lines[n] for n in changed), "only the marked options change"
    again = runner.invoke(app, ["init-ci", "-f", "specs/shop.yaml", "--env", "prod", "--requirement", source])
    assert again.exit_code == 0, "writing the same file twice is fine"
    refused = runner.invoke(app, ["init-ci", "-f", "specs/shop.yaml", "--requirement", source])
    assert refused.exit_code == 1 and "exists and differs; pass --force" in str(refused.exception)
    assert runner.invoke(app, ["init-ci", "-f", "specs/shop.yaml", "--force", "--requirement", source]).exit_code == 0


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        (
            {"url": "https://github.com/acme/mlstack", "vcs_info": {"vcs": "git", "commit_id": "0123abc"}},
            "mlstack[gcp] @ git+https://github.com/acme/mlstack@0123abc",
        ),
        (
            {"url": "https://files.acme.invalid/mlstack-0.1.0-py3-none-any.whl", "archive_info": {}},
            "mlstack[gcp] @ https://files.acme.invalid/mlstack-0.1.0-py3-none-any.whl",
        ),
    ],
)
def test_the_workflow_installs_the_mlstack_that_runs_here(recorded: dict[str, Any], expected: str) -> None:
    assert requirement_from(recorded, "gcp", Path("/elsewhere")) == expected


def test_a_source_tree_is_installed_from_the_checkout_only_when_it_is_the_reviewed_repository(tmp_path: Path) -> None:
    recorded = {"url": tmp_path.as_uri(), "dir_info": {"editable": True}}
    assert requirement_from(recorded, "aws", tmp_path) == ".[aws]"
    with pytest.raises(MlstackError, match="which a CI runner cannot reach; pass --requirement"):
        requirement_from(recorded, "aws", tmp_path / "other")
    with pytest.raises(MlstackError, match="no PEP 610 record"):
        requirement_from(None, "aws", tmp_path)  # e.g. installed from an index: by name, so not trusted here


def test_without_a_requirement_init_ci_says_what_to_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.yaml").write_text(yaml.safe_dump(small()))
    monkeypatch.setattr("mlstack.source.distribution", _NoRecord)
    result = CliRunner().invoke(app, ["init-ci", "-f", "shop.yaml"])
    assert result.exit_code == 1 and "pass --requirement" in str(result.exception)
    assert not (tmp_path / ".github").exists()


class _NoRecord:
    def __init__(self, name: str) -> None:
        self.name = name

    def read_text(self, filename: str) -> None:
        return None


def test_init_ci_refuses_a_spec_that_does_not_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["init-ci", "-f", "missing.yaml"])
    assert result.exit_code == 1 and not (tmp_path / ".github").exists()


# --- the workflow's steps, run for real ------------------------------------------------------------------


def _step(name: str, values: dict[str, str] | None = None) -> dict[str, Any]:
    flow = yaml.safe_load(fill(TEMPLATE.read_text(), values or {}))
    return next(s for s in flow["jobs"]["review"]["steps"] if s.get("name") == name)


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    pull_request_checkout(tmp_path, tmp_path / "shop.yaml")
    return tmp_path


def _run_step(name: str, repo: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    outputs = repo / "github-output"
    outputs.write_text("")
    environment = {
        **os.environ,
        "MLSTACK_SPEC": "shop.yaml",
        "MLSTACK_ENV": "",
        "MLSTACK_TARGET": "local",
        "BASE_REF": "main",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(repo / "summary.md"),
        **env,
    }
    done = subprocess.run(
        ["bash", "-e", "-c", _step(name)["run"]], cwd=repo, env=environment, capture_output=True, text=True, timeout=300
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return done, values


def test_validate_and_diff_steps_against_the_base_branch(pull_request: Path) -> None:
    # `validate --target local` also checks that the files the spec names are in the checkout
    validated, _ = _run_step("Validate the spec", pull_request)
    assert validated.returncode == 1 and "models/ranker/1/model.joblib does not exist" in validated.stderr
    for name in ("baselines/train.csv", "models/ranker/1/model.joblib", "models/ranker/2/model.joblib"):
        (pull_request / name).parent.mkdir(parents=True, exist_ok=True)
        (pull_request / name).write_text("a,b\n1,2\n")
    validated, _ = _run_step("Validate the spec", pull_request)
    assert validated.returncode == 0, validated.stderr
    done, outputs = _run_step("Diff against the base branch", pull_request)
    assert done.returncode == 0, done.stderr
    assert outputs == {"changed": "true"}
    comment = (pull_request / "mlstack-review.md").read_text()
    assert comment.startswith(MARKER) and "canary 10% → 20%" in comment
    assert (pull_request / "summary.md").read_text() == comment


def test_diff_step_with_a_spec_the_base_lacks_and_with_no_change(pull_request: Path) -> None:
    (pull_request / "new.yaml").write_text(yaml.safe_dump(small()))
    done, outputs = _run_step("Diff against the base branch", pull_request, MLSTACK_SPEC="new.yaml")
    assert done.returncode == 0 and outputs == {"changed": "true"}
    assert "`/dev/null` → `new.yaml`" in (pull_request / "mlstack-review.md").read_text()
    git(pull_request, "commit", "-qam", "raise the canary")
    git(pull_request, "update-ref", "refs/remotes/origin/main", "HEAD")
    done, outputs = _run_step("Diff against the base branch", pull_request)
    assert done.returncode == 0 and outputs == {"changed": "false"}


def test_diff_step_fails_the_job_on_an_invalid_spec(pull_request: Path) -> None:
    broken = small()
    broken["endpoints"][0]["instance_count"] = 0
    (pull_request / "shop.yaml").write_text(yaml.safe_dump(broken))
    done, outputs = _run_step("Diff against the base branch", pull_request)
    assert done.returncode == 1 and "instance_count" in done.stderr and outputs == {}


HARNESS = """
const fs = require("fs");
const [script, comments, changed] = [fs.readFileSync(process.argv[2], "utf8"), JSON.parse(process.argv[3]), process.argv[4]];
const calls = [];
const github = {
  paginate: async (method, params) => { calls.push(["list", params]); return comments; },
  rest: { issues: {
    listComments: "listComments",
    updateComment: async (params) => calls.push(["update", params]),
    createComment: async (params) => calls.push(["create", params]),
  } },
};
const context = { repo: { owner: "acme", repo: "platform" }, issue: { number: 7 } };
process.env.CHANGED = changed;
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction("require", "github", "context", script)(require, github, context)
  .then(() => console.log(JSON.stringify(calls)), (e) => { console.error(e); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs actions/github-script; CI has it")
@pytest.mark.parametrize(
    ("comments", "changed", "expected"),
    [
        ([], "true", [("create", None)]),
        ([], "false", []),
        ([{"id": 3, "user": {"type": "Bot"}, "body": f"{MARKER}\nold"}], "false", [("update", 3)]),
        ([{"id": 4, "user": {"type": "User"}, "body": f"quoting {MARKER}"}], "true", [("create", None)]),
        (
            [
                {"id": 5, "user": {"type": "Bot"}, "body": "another bot"},
                {"id": 6, "user": {"type": "Bot"}, "body": MARKER},
            ],
            "true",
            [("update", 6)],
        ),
    ],
)
def test_comment_script_keeps_one_comment(
    tmp_path: Path, comments: list[Any], changed: str, expected: list[Any]
) -> None:
    (tmp_path / "script.js").write_text(_step("Comment on the pull request")["with"]["script"])
    (tmp_path / "harness.js").write_text(HARNESS)
    (tmp_path / "mlstack-review.md").write_text(f"{MARKER}\nthe review")
    done = subprocess.run(
        ["node", "harness.js", "script.js", json.dumps(comments), changed],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    calls = json.loads(done.stdout)
    assert calls[0] == ["list", {"owner": "acme", "repo": "platform", "issue_number": 7, "per_page": 100}]
    made = [(kind, params.get("comment_id")) for kind, params in calls[1:]]
    assert made == expected
    for _, params in calls[1:]:
        assert params["body"] == f"{MARKER}\nthe review" and params["owner"] == "acme"
