"""Where the emulator keeps its state: one directory, by default `.mlstack/` next to the spec."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from mlstack.emulator.errors import OutsideStateDir
from mlstack.errors import MlstackError

MARKER = "emulator-state"
TOKEN_BYTES = 32


@dataclass(frozen=True)
class StateDir:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def token_file(self) -> Path:
        return self.root / "token"

    @property
    def server_file(self) -> Path:
        """Written by a running server: pid, host, port. Stale after a crash; check the pid."""
        return self.root / "server.json"

    @property
    def lock_file(self) -> Path:
        """Held (flock) by the one server process of this directory for its lifetime."""
        return self.root / "server.lock"

    @property
    def log_file(self) -> Path:
        return self.root / "emulator.log"

    @property
    def database(self) -> Path:
        """Control plane and registry: one file, so that registering a model and recording the
        step that did it commit in one transaction."""
        return self.root / "state.db"

    @property
    def online_database(self) -> Path:
        return self.root / "online.db"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def offline(self) -> Path:
        return self.root / "offline"

    @property
    def captures(self) -> Path:
        return self.root / "captures"

    def exists(self) -> bool:
        return self.marker.exists()

    def create(self) -> None:
        """Make the directory private to this user and mark it as ours."""
        if self.root.exists() and any(self.root.iterdir()) and not self.marker.exists():
            raise MlstackError(
                f"{self.root} exists and is not an mlstack state directory; "
                "set target.local.state_dir to an empty or new directory"
            )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.marker.touch(exist_ok=True)

    def ensure_token(self) -> str:
        """The control-plane token, made at first start: random, readable by this user only.

        Written whole or not at all (a temporary file, fsync'ed, then linked into place), so a full
        disk leaves no empty token behind; of two first starts, the first link wins."""
        if self.token_file.exists():
            return self.read_token()
        staging = self.root / f".token-{secrets.token_hex(8)}"
        try:
            fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_urlsafe(TOKEN_BYTES).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(FileExistsError):
                os.link(staging, self.token_file)
        finally:
            staging.unlink(missing_ok=True)
        return self.read_token()

    def read_token(self) -> str:
        try:
            token = self.token_file.read_text().strip()
        except FileNotFoundError:
            raise MlstackError(f"no emulator token in {self.root}; start the emulator with `mlstack up`") from None
        if not token:
            raise MlstackError(f"{self.token_file} is empty (written by an older mlstack on a full disk?); delete it")
        return token


def inside(root: Path, *parts: str) -> Path:
    """`root/parts`, proven to stay inside `root` once resolved (`..`, absolute parts and symlinks
    included). Every path the emulator writes or deletes under its state directory comes from here."""
    path = root.joinpath(*parts)
    base = root.resolve()
    resolved = path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise OutsideStateDir(f"'{'/'.join(parts)}' does not name a place inside {root}")
    return path


def state_dir_for(spec_file: Path, configured: str) -> StateDir:
    """The state directory a spec names (`target.local.state_dir`), relative to the spec's folder."""
    path = Path(configured).expanduser()
    if not path.is_absolute():
        path = spec_file.resolve().parent / path
    return StateDir(path.resolve())
