"""Version control facts from ``git``: is the folder in a repository, with what history."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class GitFacts:
    """The repository around the assessed folder; ``root`` is None when there is none."""

    root: str | None
    commits: int
    head: str | None
    head_date: str | None  # ISO 8601 with offset, as git prints it
    dirty_files: int | None  # tracked files with changes (untracked files are not counted)
    problem: str | None  # why git could not answer, when it could not

    @property
    def is_repository(self) -> bool:
        return self.root is not None


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )


def read_git(folder: Path) -> GitFacts:
    """Ask git about ``folder``; a missing git binary or a timeout is reported, not raised."""
    if shutil.which("git") is None:
        marker = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
        problem = "the git command is not installed"
        return GitFacts(str(marker) if marker else None, 0, None, None, None, problem)
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
        if top.returncode != 0:
            return GitFacts(None, 0, None, None, None, None)
        root = top.stdout.strip()
        head = _git(folder, "log", "-1", "--format=%H %cI")
        if head.returncode != 0 or not head.stdout.strip():
            return GitFacts(root, 0, None, None, None, None)  # a repository without commits
        commit, _, date = head.stdout.strip().partition(" ")
        count = _git(folder, "rev-list", "--count", "HEAD")
        commits = int(count.stdout.strip()) if count.returncode == 0 else 1
        status = _git(folder, "status", "--porcelain", "--untracked-files=no")
        dirty = len(status.stdout.splitlines()) if status.returncode == 0 else None
        return GitFacts(root, commits, commit, date, dirty, None)
    except subprocess.TimeoutExpired:
        return GitFacts(None, 0, None, None, None, f"git did not answer in {GIT_TIMEOUT_S:.0f} s")
    except OSError as exc:
        return GitFacts(None, 0, None, None, None, f"git could not run: {exc}")


def ignored_dirs(folder: Path) -> frozenset[str]:
    """Folders under ``folder`` that git ignores (relative POSIX paths), so the scan can skip
    build output and scratch data; empty outside a repository or when git cannot answer."""
    if shutil.which("git") is None:
        return frozenset()
    try:
        listed = _git(
            folder, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z"
        )
    except (subprocess.TimeoutExpired, OSError):
        return frozenset()
    if listed.returncode != 0:
        return frozenset()
    return frozenset(p.rstrip("/") for p in listed.stdout.split("\0") if p.endswith("/"))
