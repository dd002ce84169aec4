"""Scoring: run every check, decide the level, pick the next three steps.

How the level is scored: level 1 has no required checks (every repository starts
there, as at Google's and Microsoft's level 0). Level N (2 to 5) is reached when
every *required* check of level N passed or does not apply, and level N-1 is
reached. Recommended checks never change the level; they appear in the checklist
and become next steps once the required ones are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladder.maturity.checks import CHECKS, LEVELS, Check, Level, Status, level
from ladder.maturity.evidence import Evidence, Finding, gather_evidence, iso_date
from ladder.maturity.scan import ScanLimits

SCHEMA = "ladder.assess/1"
SCORING = (
    "Level 1 has no required checks. Level N (2-5) is reached when every required check of "
    "level N passed or is not applicable and level N-1 is reached; recommended checks do not "
    "change the level."
)
MAX_NEXT_STEPS = 3


@dataclass(frozen=True)
class CheckResult:
    id: str
    level: int
    title: str
    required: bool
    status: Status
    evidence: tuple[str, ...]
    why: str
    source: str
    next_step: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "title": self.title,
            "required": self.required,
            "status": self.status,
            "evidence": list(self.evidence),
            "why": self.why,
            "source": self.source,
            "next_step": self.next_step,
        }


@dataclass(frozen=True)
class LevelResult:
    level: Level
    reached: bool
    checks: tuple[CheckResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.number,
            "name": self.level.name,
            "google_level": self.level.google,
            "microsoft_level": self.level.microsoft,
            "summary": self.level.summary,
            "reached": self.reached,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class NextStep:
    check: str
    level: int
    title: str
    step: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "title": self.title, "step": self.step}


@dataclass(frozen=True)
class Assessment:
    """The result of ``assess``: the level, the checklist per level, next steps, findings."""

    path: str
    assessed_at: str
    level: int
    levels: tuple[LevelResult, ...]
    next_steps: tuple[NextStep, ...]
    findings: tuple[Finding, ...]
    sources: dict[str, Any]
    scan: dict[str, Any]

    @property
    def level_info(self) -> Level:
        return level(self.level)

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for lvl in self.levels for c in lvl.checks)

    def check(self, check_id: str) -> CheckResult:
        return next(c for c in self.checks if c.id == check_id)

    def failing(self, level_number: int | None = None, required_only: bool = True) -> list[str]:
        """Ids of failed checks (of one level), required ones only by default."""
        return [
            c.id
            for c in self.checks
            if c.status == "failed"
            and (level_number is None or c.level == level_number)
            and (c.required or not required_only)
        ]

    def to_dict(self) -> dict[str, Any]:
        info = self.level_info
        return {
            "schema": SCHEMA,
            "path": self.path,
            "assessed_at": self.assessed_at,
            "level": info.number,
            "level_name": info.name,
            "google_level": info.google,
            "microsoft_level": info.microsoft,
            "scoring": SCORING,
            "levels": [lvl.to_dict() for lvl in self.levels],
            "next_steps": [s.to_dict() for s in self.next_steps],
            "findings": [
                {"severity": f.severity, "source": f.source, "message": f.message}
                for f in self.findings
            ],
            "sources": self.sources,
            "scan": self.scan,
        }


def assess(path: str | Path = ".", limits: ScanLimits | None = None) -> Assessment:
    """Assess the repository at ``path``: raises ``AssessPathError`` for a path that is not a
    readable folder; every other problem (a corrupted store, an invalid file) is a finding."""
    evidence = gather_evidence(Path(path), limits)
    return score(evidence)


def score(evidence: Evidence) -> Assessment:
    results = [_run(check, evidence) for check in CHECKS]
    reached = 1
    levels = []
    for info in LEVELS:
        checks = tuple(r for r in results if r.level == info.number)
        passes = all(r.status != "failed" for r in checks if r.required)
        if info.number > 1 and passes and reached == info.number - 1:
            reached = info.number
        levels.append(LevelResult(info, info.number <= reached, checks))
    return Assessment(
        path=str(evidence.root),
        assessed_at=iso_date(evidence.now_ms),
        level=reached,
        levels=tuple(levels),
        next_steps=tuple(next_steps(results, reached)),
        findings=tuple(evidence.findings),
        sources=_sources(evidence),
        scan=_scan_summary(evidence),
    )


def _run(check: Check, evidence: Evidence) -> CheckResult:
    outcome = check.judge(evidence)
    return CheckResult(
        id=check.id,
        level=check.level,
        title=check.title,
        required=check.required,
        status=outcome.status,
        evidence=outcome.evidence,
        why=check.why,
        source=check.source,
        next_step=outcome.next_step if outcome.status == "failed" else None,
    )


def next_steps(results: list[CheckResult], reached: int) -> list[NextStep]:
    """The failed required checks of the next level first, then its recommended ones, then the
    level after; at most three, without repeating a step."""
    order: list[CheckResult] = []
    if reached == 5:
        order = [r for r in results if r.status == "failed"]  # only recommended checks are left
    for number in range(reached + 1, 6):
        at_level = [r for r in results if r.level == number and r.status == "failed"]
        order += [r for r in at_level if r.required] + [r for r in at_level if not r.required]
    steps: list[NextStep] = []
    seen: set[str] = set()
    for result in order:
        if result.next_step and result.next_step not in seen:
            seen.add(result.next_step)
            steps.append(NextStep(result.id, result.level, result.title, result.next_step))
        if len(steps) == MAX_NEXT_STEPS:
            break
    return steps


def _sources(e: Evidence) -> dict[str, Any]:
    store = e.store
    if store.location is None:
        store_status = "absent"
    elif store.problem and store.problem.startswith("no store yet"):
        store_status = "empty"
    elif store.problem:
        store_status = "unreadable"
    else:
        store_status = "read"
    return {
        "git": {
            "repository": e.git.root,
            "commits": e.git.commits,
            "head": e.git.head,
            "head_date": e.git.head_date,
            "uncommitted_changes": e.git.dirty_files,
        },
        "ladder_store": {
            "location": store.location,
            "project": store.project,
            "status": store_status,
            "problem": store.problem,
            "slices": {s.slice: s.status for s in store.slices},
        },
        "ladder_toml": {
            "path": e.config.path,
            "sections": {k: list(v) for k, v in e.config.entries.items()},
        },
        "mlflow": {
            "stores": list(e.mlflow.stores),
            "runs": e.mlflow.runs,
            "registered_models": list(e.mlflow.registered_models),
        },
        "dvc": {
            "initialised": e.dvc.initialised,
            "pointer_files": len(e.dvc.pointers),
            "stages": [s.name for s in e.dvc.stages],
            "remotes": list(e.dvc.remotes),
        },
        "ci": [
            {
                "path": c.path,
                "system": c.system,
                "runs": sorted(c.purposes),
                "schedules": list(c.schedules),
            }
            for c in e.ci
        ],
    }


def _scan_summary(e: Evidence) -> dict[str, Any]:
    scan = e.scan
    return {
        "files": len(scan.files),
        "files_read": scan.files_read,
        "read_truncated": scan.read_truncated,
        "seconds": round(scan.seconds, 3),
        "skipped_dirs": [{"path": s.path, "reason": s.reason} for s in scan.skipped[:50]],
        "skipped_dirs_total": len(scan.skipped),
        "data_dirs": [
            {"path": d.path, "entries": d.entries, "truncated": d.truncated}
            for d in scan.data_dirs[:50]
        ],
        "unreadable": scan.unreadable[:50],
    }
