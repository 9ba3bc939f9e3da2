"""Where a model came from: a hash of its data and the commit (or hash) of its code."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlstack.runtime.lineage import file_sha256


def code(workdir: str, files: list[str]) -> dict[str, Any]:
    """The git commit of the spec's folder (and whether the step files differ from it), plus a hash
    of the step files themselves, which identifies the code even outside git."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(Path(name).read_bytes() if Path(name).is_file() else b"")
    out: dict[str, Any] = {"code_sha256": digest.hexdigest(), "code_commit": None, "code_dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", workdir, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return out  # not a git checkout, or no git: the file hash still identifies the code
    out["code_commit"] = commit
    # Step files outside the checkout are not in the commit: git refuses to say whether they changed,
    # and the step hashes identify them instead.
    root = Path(workdir).resolve()
    inside = [f for f in files if Path(workdir, f).resolve().is_relative_to(root)]
    try:
        status = subprocess.run(
            ["git", "-C", workdir, "status", "--porcelain", "--", *inside],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return out
    out["code_dirty"] = bool(status)
    return out


def steps_and_image(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Each code step's file hash (a module entrypoint is named, not hashed: its file is found only by
    importing it), and what ran the steps. Locally that is the emulator's own interpreter, not an image,
    so there is no image digest to record; the clouds' plans record their step image's content tag."""
    step_code = {
        s["name"]: file_sha256(Path(s["entrypoint"])) if Path(s["entrypoint"]).is_file() else None
        for s in steps
        if s.get("entrypoint")
    }
    runtime = f"local: {sys.executable} (Python {platform.python_version()})"
    return {"step_code_sha256": step_code, "image": runtime, "image_digest": None}
