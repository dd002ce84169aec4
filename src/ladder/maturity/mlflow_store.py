"""MLflow evidence read straight from its stores: ``mlflow.db`` (SQLite) and ``mlruns/`` files.

MLflow itself is not imported: the SQLite file is opened read-only with
``sqlite3`` and the file store is read by its layout
(``mlruns/<experiment>/<run>/{meta.yaml,params,metrics,tags,inputs}`` and
``mlruns/models/<name>/version-<n>/meta.yaml``), so the assessment works on any
machine and never migrates or locks a team's MLflow database.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ladder.maturity.scan import RepoScan

COMMIT_TAG = "mlflow.source.git.commit"
# Reading every run's meta.yaml of a huge file store would take long; beyond this, runs are counted.
MAX_RUN_DETAILS = 10_000


@dataclass(frozen=True)
class MlflowEvidence:
    """What the MLflow stores in the repository hold (summed across stores)."""

    stores: tuple[str, ...]
    runs: int = 0
    runs_with_params: int = 0
    runs_with_metrics: int = 0
    runs_with_commit: int = 0
    runs_with_inputs: int = 0
    latest_run_id: str | None = None
    latest_run_ms: int | None = None
    registered_models: tuple[str, ...] = ()
    model_versions: int = 0
    versions_with_run: int = 0
    aliases: tuple[str, ...] = ()  # "name@alias"
    staged_versions: int = 0  # versions in the Staging or Production stage
    problems: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.stores)


def read_mlflow(scan: RepoScan) -> MlflowEvidence:
    """Read every ``mlflow*.db`` and ``mlruns/`` store found by the scan."""
    parts: list[MlflowEvidence] = []
    for path in scan.files:
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".db") and "mlflow" in name.lower():
            parts.append(_read_database(scan.root / path, path))
    for skipped in scan.skipped:
        if skipped.path.rsplit("/", 1)[-1] == "mlruns":
            parts.append(_read_file_store(scan.root / skipped.path, skipped.path))
    return _combine(parts)


def _combine(parts: list[MlflowEvidence]) -> MlflowEvidence:
    latest = max(
        (p for p in parts if p.latest_run_ms is not None),
        key=lambda p: p.latest_run_ms or 0,
        default=None,
    )
    return MlflowEvidence(
        stores=tuple(s for p in parts for s in p.stores),
        runs=sum(p.runs for p in parts),
        runs_with_params=sum(p.runs_with_params for p in parts),
        runs_with_metrics=sum(p.runs_with_metrics for p in parts),
        runs_with_commit=sum(p.runs_with_commit for p in parts),
        runs_with_inputs=sum(p.runs_with_inputs for p in parts),
        latest_run_id=latest.latest_run_id if latest else None,
        latest_run_ms=latest.latest_run_ms if latest else None,
        registered_models=tuple(sorted({m for p in parts for m in p.registered_models})),
        model_versions=sum(p.model_versions for p in parts),
        versions_with_run=sum(p.versions_with_run for p in parts),
        aliases=tuple(sorted({a for p in parts for a in p.aliases})),
        staged_versions=sum(p.staged_versions for p in parts),
        problems=tuple(q for p in parts for q in p.problems),
    )


def _count(cursor: sqlite3.Cursor, sql: str) -> int:
    row = cursor.execute(sql).fetchone()
    return int(row[0] or 0) if row else 0


def _tables(cursor: sqlite3.Cursor) -> set[str]:
    return {r[0] for r in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _read_database(path: Path, label: str) -> MlflowEvidence:
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return MlflowEvidence(stores=(), problems=(f"{label}: cannot be opened ({exc})",))
    try:
        cursor = connection.cursor()
        tables = _tables(cursor)
        if "runs" not in tables:
            return MlflowEvidence(
                stores=(), problems=(f"{label}: not an MLflow database (no runs table)",)
            )
        active = "lifecycle_stage = 'active'"
        runs = _count(cursor, f"SELECT COUNT(*) FROM runs WHERE {active}")
        in_active = f"run_uuid IN (SELECT run_uuid FROM runs WHERE {active})"
        with_params = _count(
            cursor, f"SELECT COUNT(DISTINCT run_uuid) FROM params WHERE {in_active}"
        )
        metric_table = "latest_metrics" if "latest_metrics" in tables else "metrics"
        with_metrics = _count(
            cursor, f"SELECT COUNT(DISTINCT run_uuid) FROM {metric_table} WHERE {in_active}"
        )
        with_commit = _count(
            cursor,
            f"SELECT COUNT(DISTINCT run_uuid) FROM tags WHERE key = '{COMMIT_TAG}' "
            f"AND value <> '' AND {in_active}",
        )
        with_inputs = 0
        if "inputs" in tables:
            with_inputs = _count(
                cursor,
                "SELECT COUNT(DISTINCT destination_id) FROM inputs "
                "WHERE source_type = 'DATASET' AND destination_type = 'RUN'",
            )
        latest = cursor.execute(
            f"SELECT run_uuid, start_time FROM runs WHERE {active} ORDER BY start_time DESC LIMIT 1"
        ).fetchone()
        models: tuple[str, ...] = ()
        versions = versions_with_run = staged = 0
        aliases: tuple[str, ...] = ()
        if "registered_models" in tables:
            models = tuple(r[0] for r in cursor.execute("SELECT name FROM registered_models"))
        if "model_versions" in tables:
            versions = _count(cursor, "SELECT COUNT(*) FROM model_versions")
            versions_with_run = _count(
                cursor,
                "SELECT COUNT(*) FROM model_versions WHERE run_id IS NOT NULL AND run_id <> ''",
            )
            staged = _count(
                cursor,
                "SELECT COUNT(*) FROM model_versions "
                "WHERE current_stage IN ('Staging', 'Production')",
            )
        if "registered_model_aliases" in tables:
            aliases = tuple(
                f"{name}@{alias}"
                for alias, name in cursor.execute(
                    "SELECT alias, name FROM registered_model_aliases"
                )
            )
    except sqlite3.Error as exc:
        return MlflowEvidence(stores=(), problems=(f"{label}: cannot be read ({exc})",))
    finally:
        connection.close()
    return MlflowEvidence(
        stores=(label,),
        runs=runs,
        runs_with_params=with_params,
        runs_with_metrics=with_metrics,
        runs_with_commit=with_commit,
        runs_with_inputs=with_inputs,
        latest_run_id=latest[0] if latest else None,
        latest_run_ms=int(latest[1]) if latest and latest[1] is not None else None,
        registered_models=models,
        model_versions=versions,
        versions_with_run=versions_with_run,
        aliases=aliases,
        staged_versions=staged,
    )


_FIELD = re.compile(r"^(\w+):\s*'?([^'\n]*)'?\s*$", re.MULTILINE)


def _meta(path: Path) -> dict[str, str]:
    """The top-level scalar fields of an MLflow ``meta.yaml`` (read without a YAML parser: fast)."""
    try:
        return dict(_FIELD.findall(path.read_text(errors="replace")))
    except OSError:
        return {}


def _non_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def _read_file_store(root: Path, label: str) -> MlflowEvidence:
    runs = with_params = with_metrics = with_commit = with_inputs = 0
    latest_id: str | None = None
    latest_ms: int | None = None
    try:
        experiments = [
            e for e in os.scandir(root) if e.is_dir() and e.name not in (".trash", "models")
        ]
    except OSError as exc:
        return MlflowEvidence(stores=(), problems=(f"{label}: cannot be read ({exc.strerror})",))
    for experiment in sorted(experiments, key=lambda e: e.name):
        try:
            run_dirs = [
                Path(r.path)
                for r in os.scandir(experiment.path)
                if r.is_dir()
                and r.name != "datasets"
                and os.path.exists(os.path.join(r.path, "meta.yaml"))
            ]
        except OSError:
            continue
        for run_dir in run_dirs:
            if runs >= MAX_RUN_DETAILS:
                runs += 1
                continue
            meta = _meta(run_dir / "meta.yaml")
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            runs += 1
            with_params += _non_empty(run_dir / "params")
            with_metrics += _non_empty(run_dir / "metrics")
            with_inputs += _non_empty(run_dir / "inputs")
            with_commit += (run_dir / "tags" / COMMIT_TAG).is_file()
            start = meta.get("start_time", "")
            if start.isdigit() and (latest_ms is None or int(start) > latest_ms):
                latest_ms, latest_id = int(start), meta.get("run_id") or run_dir.name
    models: list[str] = []
    versions = versions_with_run = staged = 0
    aliases: list[str] = []
    registry = root / "models"
    if registry.is_dir():
        for model_dir in sorted(p for p in registry.iterdir() if p.is_dir()):
            meta_text = model_dir / "meta.yaml"
            name = _meta(meta_text).get("name") or model_dir.name
            models.append(name)
            aliases += [f"{name}@{a.name}" for a in sorted((model_dir / "aliases").glob("*"))]
            for version_dir in model_dir.glob("version-*"):
                version = _meta(version_dir / "meta.yaml")
                versions += 1
                versions_with_run += bool(version.get("run_id") and version["run_id"] != "null")
                staged += version.get("current_stage") in ("Staging", "Production")
    return MlflowEvidence(
        stores=(label,),
        runs=runs,
        runs_with_params=with_params,
        runs_with_metrics=with_metrics,
        runs_with_commit=with_commit,
        runs_with_inputs=with_inputs,
        latest_run_id=latest_id,
        latest_run_ms=latest_ms,
        registered_models=tuple(models),
        model_versions=versions,
        versions_with_run=versions_with_run,
        aliases=tuple(aliases),
        staged_versions=staged,
    )
