"""Is the Python environment pinned? Lock files, fully pinned requirements, conda environments."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from ladder.maturity.scan import LOCK_FILES, RepoScan

CONDA_FILES = frozenset({"environment.yml", "environment.yaml", "conda.yaml", "conda.yml"})
_REQUIREMENT_FILE = re.compile(r"(?:^|/)requirements[\w.-]*\.(?:txt|in)$")


@dataclass(frozen=True)
class PinnedFile:
    """A requirements or conda file: how many of its requirements name an exact version."""

    path: str
    pinned: int
    total: int

    @property
    def fully_pinned(self) -> bool:
        return self.total > 0 and self.pinned == self.total


@dataclass(frozen=True)
class PinEvidence:
    lock_files: tuple[str, ...]
    requirement_files: tuple[PinnedFile, ...]
    declared_only: tuple[str, ...]  # pyproject.toml / setup.py / Pipfile without a lock

    @property
    def pinned_files(self) -> list[str]:
        return [*self.lock_files, *(f.path for f in self.requirement_files if f.fully_pinned)]


def read_pins(scan: RepoScan) -> PinEvidence:
    locks = tuple(p for p in scan.files if p.rsplit("/", 1)[-1] in LOCK_FILES)
    files = []
    for path in scan.files:
        name = path.rsplit("/", 1)[-1]
        if _REQUIREMENT_FILE.search(path) and not name.endswith(".in") and path in scan.texts:
            files.append(_requirements(path, scan.texts[path]))
        elif name in CONDA_FILES and path in scan.texts:
            files.append(_conda(path, scan.texts[path]))
    declared = tuple(scan.named("pyproject.toml", "setup.py", "setup.cfg", "Pipfile"))
    return PinEvidence(locks, tuple(files), declared)


def requirement_is_pinned(line: str) -> bool:
    """``pkg==1.2``, ``pkg===1.2``, ``pkg @ https://…`` and hashed lines name one exact build."""
    return "==" in line or " @ " in line or "--hash" in line


def _requirements(path: str, text: str) -> PinnedFile:
    pinned = total = 0
    logical = text.replace("\\\n", " ")  # continuation lines (``--hash`` lists) join their line
    for raw in logical.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-r", "-c", "--", "-i", "-f", "-e")):
            continue
        total += 1
        pinned += requirement_is_pinned(line)
    return PinnedFile(path, pinned, total)


def _conda(path: str, text: str) -> PinnedFile:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return PinnedFile(path, 0, 0)
    dependencies = document.get("dependencies") if isinstance(document, dict) else None
    entries: list[str] = []
    for dependency in dependencies or []:
        if isinstance(dependency, str):
            entries.append(dependency)
        elif isinstance(dependency, dict):
            entries += [str(d) for d in dependency.get("pip") or []]
    pinned = sum(1 for e in entries if re.search(r"[^<>!~]=\s*\d", e) or requirement_is_pinned(e))
    return PinnedFile(path, pinned, len(entries))
