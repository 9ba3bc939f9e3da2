"""The wheel of the mlstack that is running, built from its installed files.

The runtime images the stack builds install mlstack from this file, never from a package index by
name (`mlstack` on PyPI is another project). The wheel is reproducible: files in sorted order with a
fixed timestamp and mode, so the same installation gives the same bytes, and images tagged by content
keep their tag."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import mlstack
from mlstack.paths import TEMPLATES

NAME = "mlstack"
TAG = "py3-none-any"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class Wheel:
    path: Path
    sha256: str


def filename() -> str:
    return f"{NAME}-{mlstack.__version__}-{TAG}.whl"


def _files(root: Path, prefix: str) -> dict[str, bytes]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or _SKIP_DIRS & set(path.relative_to(root).parts) or path.suffix in _SKIP_SUFFIXES:
            continue
        found[f"{prefix}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return found


def _from_pyproject(path: Path) -> tuple[str, str]:
    """METADATA and entry_points.txt from a source checkout's pyproject.toml (core metadata 2.1)."""
    import tomllib

    project = tomllib.loads(path.read_text())["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {mlstack.__version__}"]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {r}" for r in project.get("dependencies", [])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    scripts = project.get("scripts", {})
    entry_points = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    return "\n".join(lines) + "\n", entry_points


def _metadata() -> tuple[str, str]:
    """METADATA and entry_points.txt of the running mlstack (dependencies and extras included): from the
    source checkout it runs from, else from its installed distribution."""
    source = Path(mlstack.__file__).resolve().parent.parent / "pyproject.toml"
    if source.is_file():
        return _from_pyproject(source)
    try:
        dist = importlib.metadata.distribution(NAME)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    metadata = dist.read_text("METADATA") if dist else None
    if not metadata:
        metadata = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {mlstack.__version__}\n"
    # The running code's version wins over whatever metadata an older install left behind.
    lines = [
        f"Version: {mlstack.__version__}" if line.startswith("Version:") else line for line in metadata.splitlines()
    ]
    entry_points = (
        dist.read_text("entry_points.txt") if dist else None
    ) or "[console_scripts]\nmlstack = mlstack.cli:main\n"
    return "\n".join(lines) + "\n", entry_points


def contents() -> dict[str, bytes]:
    """Every file of the wheel, by its path inside it (RECORD last)."""
    package = Path(mlstack.__file__).resolve().parent
    files = _files(package, NAME)
    if TEMPLATES.is_dir() and not TEMPLATES.resolve().is_relative_to(package):
        # mlstack.paths finds the templates beside the package; keep that layout in site-packages.
        files.update(_files(TEMPLATES, TEMPLATES.name))
    info = f"{NAME}-{mlstack.__version__}.dist-info"
    metadata, entry_points = _metadata()
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: mlstack\nRoot-Is-Purelib: true\nTag: {TAG}\n".encode()
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return files


def build(directory: Path) -> Wheel:
    """Write the wheel into `directory` (created if needed), unless the same bytes are already there."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename()
    # plans run side by side (a review plans base and head at once): each writes its own scratch file
    tmp = directory / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents().items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    data = tmp.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if path.is_file() and path.read_bytes() == data:
        tmp.unlink()
    else:
        tmp.replace(path)
    return Wheel(path, sha)
