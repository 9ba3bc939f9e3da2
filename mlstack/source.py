"""Where the running mlstack was installed from (its PEP 610 direct_url.json), as a pip requirement another
machine can install: the review workflow's runner. Never the bare name `mlstack`:
on PyPI it belongs to another project."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlstack.errors import MlstackError


def installed_record() -> dict[str, Any] | None:
    try:
        recorded = distribution("mlstack").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    return json.loads(recorded) if recorded else None


def requirement_from(direct_url: dict[str, Any] | None, extra: str, repository: Path) -> str:
    """The pip requirement that installs, on a CI runner, the mlstack recorded in a PEP 610
    direct_url.json. Never `mlstack` by name: that name on PyPI is another project."""
    hint = "pass --requirement with what the review job should install, e.g. 'mlstack[aws] @ git+https://...@<commit>'"
    if not direct_url or "url" not in direct_url:
        raise MlstackError(f"cannot tell where this mlstack was installed from (no PEP 610 record); {hint}")
    url = direct_url["url"]
    if vcs := direct_url.get("vcs_info"):
        revision = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"mlstack[{extra}] @ {vcs['vcs']}+{url}" + (f"@{revision}" if revision else "")
    parsed = urlparse(url)
    if parsed.scheme in ("https", "http") and "archive_info" in direct_url:
        return f"mlstack[{extra}] @ {url}"
    if parsed.scheme == "file" and "dir_info" in direct_url:
        source = Path(unquote(parsed.path)).resolve()
        if repository.resolve() == source:  # the reviewed repository is mlstack's own source tree
            return f".[{extra}]"
    raise MlstackError(f"this mlstack was installed from {url}, which a CI runner cannot reach; {hint}")
