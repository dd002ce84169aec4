"""All the evidence about one repository, gathered once and read by every check."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ladder.errors import AssessPathError
from ladder.maturity.ci import CiConfig, read_ci
from ladder.maturity.deployment_files import DeploymentEvidence, read_deployment
from ladder.maturity.dvc_files import DvcEvidence, read_dvc
from ladder.maturity.environment_pins import PinEvidence, read_pins
from ladder.maturity.git import GitFacts, ignored_dirs, read_git
from ladder.maturity.ladder_config import LadderConfigEvidence, read_ladder_config
from ladder.maturity.mlflow_store import MlflowEvidence, read_mlflow
from ladder.maturity.scan import RepoScan, ScanLimits, scan_repository
from ladder.maturity.store_evidence import StoreEvidence, read_store


@dataclass(frozen=True)
class Finding:
    """Something the assessment met on the way that the reader should know about."""

    severity: str  # error | warning | info
    source: str  # scan, git, ladder store, mlflow, dvc, ci, ladder.toml
    message: str


@dataclass
class Evidence:
    root: Path
    now_ms: int
    scan: RepoScan
    git: GitFacts
    ci: list[CiConfig]
    mlflow: MlflowEvidence
    dvc: DvcEvidence
    pins: PinEvidence
    deployment: DeploymentEvidence
    config: LadderConfigEvidence
    store: StoreEvidence
    findings: list[Finding] = field(default_factory=list)


def iso_date(ms: int) -> str:
    """A millisecond timestamp as an ISO 8601 UTC date-time (seconds precision)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_folder(path: Path) -> Path:
    """``path`` resolved, or ``AssessPathError`` when it is not a folder that can be listed."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (UnicodeEncodeError, ValueError):
        shown = str(path).encode("utf-8", "backslashreplace").decode()
        raise AssessPathError(
            f"assess {shown}: expected a repository folder, got a path that is not valid in "
            "the file system's encoding"
        ) from None
    if not resolved.exists():
        raise AssessPathError(f"assess {path}: expected a repository folder, nothing exists there")
    if not resolved.is_dir():
        raise AssessPathError(f"assess {path}: expected a repository folder, got a file")
    try:
        with os.scandir(resolved) as entries:
            next(entries, None)
    except OSError as exc:
        raise AssessPathError(
            f"assess {path}: expected a readable folder, listing it failed ({exc.strerror})"
        ) from None
    return resolved


def gather_evidence(path: Path, limits: ScanLimits | None = None) -> Evidence:
    """Scan ``path`` and read every source of evidence; problems become findings."""
    root = check_folder(path)
    git = read_git(root)
    scan = scan_repository(root, limits, ignored_dirs(root) if git.is_repository else frozenset())
    boundary = Path(git.root).resolve() if git.root else None
    evidence = Evidence(
        root=root,
        now_ms=int(time.time() * 1000),
        scan=scan,
        git=git,
        ci=read_ci(scan),
        mlflow=read_mlflow(scan),
        dvc=read_dvc(scan),
        pins=read_pins(scan),
        deployment=read_deployment(scan),
        config=read_ladder_config(root),
        store=read_store(root, boundary),
    )
    evidence.findings.extend(_findings(evidence))
    return evidence


def _findings(e: Evidence) -> list[Finding]:
    found: list[Finding] = []
    scan = e.scan
    if scan.read_truncated:
        found.append(
            Finding(
                "warning",
                "scan",
                f"read {scan.files_read:,} files and then stopped reading (the limit); files "
                "beyond it were listed but not searched for tool usage",
            )
        )
    for path in scan.unreadable[:20]:
        found.append(Finding("warning", "scan", f"could not read {path}"))
    if len(scan.unreadable) > 20:
        found.append(Finding("warning", "scan", f"{len(scan.unreadable) - 20} more unreadable"))
    for data_dir in scan.data_dirs:
        if data_dir.truncated:
            found.append(
                Finding(
                    "info",
                    "scan",
                    f"{data_dir.path}/ is a data folder; only its first {data_dir.entries:,} "
                    "entries were listed (for DVC pointer files)",
                )
            )
    if e.git.problem:
        found.append(Finding("warning", "git", e.git.problem))
    if e.store.problem and e.store.location:
        severity = "info" if e.store.problem.startswith("no store yet") else "error"
        message = f"Ladder store {e.store.location}: {e.store.problem}"
        if severity == "error":
            message += "; the assessment continued without its evidence"
        found.append(Finding(severity, "ladder store", message))
    for name, problem in e.store.failures.items():
        found.append(
            Finding("error", "ladder store", f"the {name} records could not be read: {problem}")
        )
    found += [Finding("warning", "mlflow", p) for p in e.mlflow.problems]
    found += [Finding("warning", "dvc", p) for p in e.dvc.problems]
    found += [Finding("warning", "ci", f"{c.path}: {c.problem}") for c in e.ci if c.problem]
    if e.config.problem:
        found.append(Finding("error", "ladder.toml", e.config.problem))
    return found
