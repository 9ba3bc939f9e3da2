"""What the cloud step adapter records of the data a step read, in the step's output folder
(`mlstack-lineage.json`: the data's path, SHA-256 and size); a cloud's register job reads it from the
training step's output into the registry's metadata. The emulator keeps lineage with its runs and hashes
files the same way. Standard library only: the adapter and mlstack's own jobs both import it."""

from __future__ import annotations

import hashlib
from pathlib import Path

LINEAGE_FILE = "mlstack-lineage.json"
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, or of a folder's files in name order."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
