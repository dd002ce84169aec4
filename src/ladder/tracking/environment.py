"""What a run records about where it ran: git state, Python environment, command line."""

from __future__ import annotations

import contextlib
import getpass
import os
import platform
import shlex
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import orjson

from ladder.artifacts.digest import hash_bytes

GIT_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class GitState:
    root: str
    commit: str | None
    branch: str | None
    dirty: bool
    diff: bytes  # ``git diff HEAD --binary`` plus the untracked file list; empty when clean

    @property
    def diff_digest(self) -> str | None:
        return hash_bytes(self.diff) if self.dirty else None


@dataclass(frozen=True)
class Environment:
    python: str
    platform: str
    packages: tuple[str, ...]

    @property
    def digest(self) -> str:
        return hash_bytes(orjson.dumps([self.python, self.platform, list(self.packages)]))


@dataclass(frozen=True)
class Invocation:
    command: str
    entry_point: str
    cwd: str
    user: str
    host: str
    pid: int


_environment: Environment | None = None
_git_cache: dict[str, tuple[float, GitState | None]] = {}
_git_lock = threading.Lock()


def capture_environment() -> Environment:
    """The interpreter, platform and installed distributions (name==version), once per process."""
    global _environment
    if _environment is None:
        found = (_name_version(dist) for dist in metadata.distributions())
        packages = sorted({f"{name}=={version}" for name, version in found if name}, key=str.lower)
        _environment = Environment(
            python=platform.python_version(),
            platform=platform.platform(),
            packages=tuple(packages),
        )
    return _environment


def _name_version(dist: metadata.Distribution) -> tuple[str | None, str | None]:
    """A distribution's ``Name`` and ``Version``, read from its metadata's header block.

    ``dist.metadata`` runs the e-mail parser over the whole file (long
    descriptions included): 0.1–0.3 s for a few hundred packages, paid by the
    first run of every process. A file where either header is missing goes
    through the full parser.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    end = text.find("\n\n")
    name = version = None
    for line in (text if end < 0 else text[:end]).splitlines():
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            return name, version
    return dist.metadata["Name"], dist.version


def capture_git(cwd: Path | None = None) -> GitState | None:
    """The repository state around ``cwd`` (None outside a git work tree).

    Cached for a few seconds per folder: a script that opens many runs in a loop
    pays for ``git status`` once, not once per run.
    """
    folder = str((cwd or Path.cwd()).resolve())
    now = time.monotonic()
    with _git_lock:
        cached = _git_cache.get(folder)
        if cached and now - cached[0] < GIT_CACHE_SECONDS:
            return cached[1]
        state = _read_git(folder)
        _git_cache[folder] = (now, state)
        return state


def _git(folder: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", folder, *args],
        capture_output=True,
        timeout=30,
        check=False,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
    )


def _read_git(folder: str) -> GitState | None:
    try:
        status = _git(folder, "status", "--porcelain=v2", "--branch", "-z")
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if status.returncode != 0:
        return None
    commit = branch = None
    changes: list[bytes] = []
    for record in status.stdout.split(b"\0"):
        if record.startswith(b"# branch.oid "):
            oid = record[13:].decode()
            commit = None if oid == "(initial)" else oid
        elif record.startswith(b"# branch.head "):
            head = record[14:].decode()
            branch = None if head == "(detached)" else head
        elif record and not record.startswith(b"#"):
            changes.append(record)
    root = _git(folder, "rev-parse", "--show-toplevel").stdout.decode().strip()
    dirty = bool(changes)
    diff = b""
    if dirty:
        diff = _git(folder, "diff", "HEAD", "--binary").stdout if commit else b""
        diff += b"\0".join(sorted(changes))
    return GitState(root=root, commit=commit, branch=branch, dirty=dirty, diff=diff)


def capture_invocation(git_root: str | None) -> Invocation:
    """How this process was started, so the run can be re-run."""
    argv = list(sys.argv)
    script = argv[0] if argv else ""
    if not script or script in ("-c", "-"):
        entry_point = "<interactive>"
    else:
        path = Path(script).resolve()
        entry_point = str(path)
        if git_root:
            with contextlib.suppress(ValueError):  # a script outside the repository
                entry_point = str(path.relative_to(git_root))
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Invocation(
        command=shlex.join([sys.executable, *argv]),
        entry_point=entry_point,
        cwd=os.getcwd(),
        user=user,
        host=socket.gethostname(),
        pid=os.getpid(),
    )
