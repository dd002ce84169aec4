"""The repository scan: one breadth-first walk that lists files and reads the few that matter.

The walk never follows symlinks, never enters version-control folders, virtual
environments, ``node_modules`` or caches, and treats data folders as names only
(it looks for DVC pointer files there and reads nothing). Files are read only
when their kind can carry evidence (Python, notebooks, YAML, Dockerfiles, CI and
lock files), at most ``ScanLimits.read_bytes`` of each and at most
``ScanLimits.max_read_files`` in all, shallow files first, so a huge repository
costs a bounded amount of I/O.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

# Folders never entered: what they hold is not the team's code, or is read by a dedicated reader.
SKIPPED_DIRS = {
    ".git": "version control internals",
    ".hg": "version control internals",
    ".svn": "version control internals",
    ".venv": "virtual environment",
    "venv": "virtual environment",
    ".conda": "virtual environment",
    "site-packages": "installed packages",
    "node_modules": "JavaScript packages",
    "__pycache__": "bytecode cache",
    ".ipynb_checkpoints": "notebook autosaves",
    ".tox": "test environments",
    ".nox": "test environments",
    ".mypy_cache": "tool cache",
    ".ruff_cache": "tool cache",
    ".pytest_cache": "tool cache",
    ".hypothesis": "tool cache",
    ".eggs": "build output",
    ".ladder": "Ladder store (read through Ladder)",
    ".dvc": "DVC internals and cache (its config is read by the DVC reader)",
    "mlruns": "MLflow file store (read by the MLflow reader)",
    "mlartifacts": "MLflow artifacts",
    "wandb": "W&B run files",
    "lightning_logs": "training logs",
}
# Folder names that hold data by convention; one that holds Python files is code all the same.
DATA_DIR_NAMES = frozenset({"data", "datasets", "dataset", "raw_data", "data_raw", "images"})
# A folder with this many entries, nearly all of them non-code files, is treated as data.
DATA_DIR_MIN_ENTRIES = 1_000
DATA_DIR_CODE_SHARE = 0.1

CODE_SUFFIXES = (".py", ".ipynb")
CONFIG_SUFFIXES = (".yml", ".yaml", ".toml", ".dvc", ".cfg")
# Files read whole (up to the byte cap) because their name says what they are.
NAMED_FILES = frozenset(
    {
        "Dockerfile",
        "Jenkinsfile",
        "MLproject",
        "Makefile",
        "dvc.lock",
        ".gitattributes",
        "Pipfile",
        "Chart.yaml",
    }
)
# Lock files: their presence is the evidence; they can be megabytes, so they are not read.
LOCK_FILES = frozenset(
    {
        "poetry.lock",
        "uv.lock",
        "Pipfile.lock",
        "pdm.lock",
        "conda-lock.yml",
        "conda-lock.yaml",
        "pixi.lock",
        "requirements.lock",
    }
)

ML_LIBRARIES = frozenset(
    {
        "sklearn",
        "torch",
        "tensorflow",
        "keras",
        "xgboost",
        "lightgbm",
        "catboost",
        "jax",
        "transformers",
        "statsmodels",
    }
)
# Top-level modules whose import is evidence of a practice or a tool.
KNOWN_MODULES = ML_LIBRARIES | frozenset(
    {
        # tracking
        "ladder",
        "mlflow",
        "wandb",
        # pipelines and orchestration
        "airflow",
        "kfp",
        "prefect",
        "zenml",
        "metaflow",
        "dagster",
        # monitoring
        "evidently",
        "nannyml",
        "whylogs",
        "alibi_detect",
        # serving metrics
        "prometheus_client",
        "prometheus_fastapi_instrumentator",
        # data validation
        "great_expectations",
        "pandera",
        "deepchecks",
        "tensorflow_data_validation",
        # serving
        "fastapi",
        "flask",
        "bentoml",
    }
)


# A notebook's code lines are JSON strings, so an import may follow a quote.
_IMPORT = re.compile(r'^[ \t"]*(?:from|import)[ \t]+([A-Za-z_]\w*)', re.MULTILINE)


@dataclass(frozen=True)
class CallMarker:
    """A practice shown by a call. ``literals`` are cheap substring tests: the pattern only
    runs on text that contains one of them (regular expressions are the scan's costliest part)."""

    literals: tuple[str, ...]
    pattern: re.Pattern[str]

    def found_in(self, text: str) -> bool:
        for literal in self.literals:  # a plain loop: any() with a generator costs twice as much
            if literal in text:
                return self.pattern.search(text) is not None
        return False


# Calls that show a practice, whatever library spells it.
CALL_MARKERS: dict[str, CallMarker] = {
    "log_params": CallMarker(
        ("log_param", "wandb.config", "log_hyperparams"),
        re.compile(r"\b(?:mlflow|ladder|run)\.log_params?\b|\bwandb\.config\b|\.log_hyperparams\b"),
    ),
    "log_metrics": CallMarker(
        ("log_metric", "wandb.log"),
        re.compile(r"\b(?:mlflow|ladder|run)\.log_metrics?\b|\bwandb\.log\b"),
    ),
    "autolog": CallMarker(("autolog",), re.compile(r"\b(?:mlflow|ladder)(?:\.\w+)?\.autolog\b")),
    "start_run": CallMarker(
        ("start_run", "wandb.init"),
        re.compile(r"\b(?:mlflow|ladder)\.start_run\b|\bwandb\.init\b"),
    ),
    "register_model": CallMarker(
        ("register_model", "registered_model_name"),
        re.compile(
            r"\bmlflow\.register_model\b|\bregistered_model_name\s*=|\bcreate_registered_model\b"
            r"|\bladder\.register_model\b|\bregister_model\("
        ),
    ),
    "model_uri": CallMarker(("models:/", "@champion"), re.compile(r"models:/|@champion\b")),
    "dataset_link": CallMarker(
        ("log_input", "use_dataset", "dataset."),
        re.compile(r"\bmlflow\.log_input\b|\.use_dataset\(|\bladder\.dataset\.(?:add|get)\b"),
    ),
    "data_validation": CallMarker(
        ("validate", "DataFrameSchema", "ExpectationSuite", "checkpoint", "data_integrity"),
        re.compile(
            r"\bladder\.dataset\.validate\b|\bdataset\.validate\(|\bDataFrameSchema\b"
            r"|\bExpectationSuite\b|\bcheckpoint\.run\b|\bdata_integrity\("
        ),
    ),
    "ladder_pipeline": CallMarker(("@ladder.",), re.compile(r"@ladder\.(?:pipeline|step)\b")),
    "schedule": CallMarker(
        ("schedule", "cron", "Schedule"),
        re.compile(
            r"\bschedule_interval\s*=|\bschedule\s*=\s*['\"@(]|@schedule\b|\bcron\s*="
            r"|\bCronSchedule\b|\bIntervalSchedule\b"
        ),
    ),
    "gate": CallMarker(
        ("ladder.gate", "ladder.promote", "mlflow.evaluate"),
        re.compile(r"\bladder\.(?:gate|promote)\b|\bmlflow\.evaluate\b"),
    ),
    "fit": CallMarker(
        (".fit(", ".train(", "trainer.fit"), re.compile(r"\.fit\(|\.train\(|\btrainer\.fit\b")
    ),
}


# A data file named in code (``pd.read_csv("data/train.csv")``): what a next step should version.
_DATA_SUFFIXES = (".csv", ".parquet", ".tsv", ".jsonl", ".feather", ".xlsx")
_DATA_PATH = re.compile(r"""["']([\w./-]+\.(?:csv|parquet|tsv|jsonl|feather|xlsx))["']""")


@dataclass(frozen=True)
class ScanLimits:
    """Bounds that keep a scan of a huge tree to seconds."""

    max_read_files: int = 20_000
    read_bytes: int = 512 * 1024
    data_dir_entries: int = 5_000


@dataclass(frozen=True)
class SkippedDir:
    path: str
    reason: str


@dataclass(frozen=True)
class DataDir:
    """A folder scanned by name only: how many entries it holds (up to the entry budget)."""

    path: str
    entries: int
    truncated: bool


@dataclass
class RepoScan:
    """What the walk found. Paths are relative to ``root``, POSIX style, sorted."""

    root: Path
    files: list[str] = field(default_factory=list)
    # text of the configuration-like files read (YAML, TOML, Dockerfiles, CI, requirements)
    texts: dict[str, str] = field(default_factory=dict)
    modules: dict[str, list[str]] = field(default_factory=dict)  # module -> files importing it
    calls: dict[str, list[str]] = field(default_factory=dict)  # CALL_MARKERS name -> files
    data_references: dict[str, list[str]] = field(default_factory=dict)  # data path -> files
    dvc_pointers: list[str] = field(default_factory=list)
    data_dirs: list[DataDir] = field(default_factory=list)
    skipped: list[SkippedDir] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    files_read: int = 0
    read_truncated: bool = False
    seconds: float = 0.0

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in self.files:
            index.setdefault(path.rsplit("/", 1)[-1], []).append(path)
        return index

    def named(self, *names: str) -> list[str]:
        """Files whose base name is one of ``names``."""
        return sorted(p for name in set(names) for p in self._by_name.get(name, []))

    def matching(self, pattern: str) -> list[str]:
        """Files whose relative path fully matches the regular expression ``pattern``."""
        compiled = re.compile(pattern)
        return [p for p in self.files if compiled.fullmatch(p)]

    def with_suffix(self, *suffixes: str) -> list[str]:
        return [p for p in self.files if p.endswith(suffixes)]

    def importing(self, *modules: str) -> list[str]:
        return sorted({path for m in modules for path in self.modules.get(m, [])})

    def calling(self, *markers: str) -> list[str]:
        return sorted({path for m in markers for path in self.calls.get(m, [])})

    # Computed once: the checks ask for these many times, and a big tree has many files.
    @cached_property
    def notebooks(self) -> list[str]:
        return self.with_suffix(".ipynb")

    @cached_property
    def python_files(self) -> list[str]:
        return self.with_suffix(".py")

    @cached_property
    def test_files(self) -> list[str]:
        return [p for p in self.python_files if is_test_path(p)]

    @cached_property
    def code_files(self) -> list[str]:
        """Python files that are not tests."""
        tests = set(self.test_files)
        return [p for p in self.python_files if p not in tests]


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or "/tests/" in f"/{path}"
    )


def _is_virtualenv(path: str) -> bool:
    return os.path.exists(os.path.join(path, "pyvenv.cfg")) or os.path.isdir(
        os.path.join(path, "conda-meta")
    )


_TEXT_SUFFIXES = (*CODE_SUFFIXES, *CONFIG_SUFFIXES, ".Dockerfile")


def _wants_text(name: str) -> bool:
    return (
        name.endswith(_TEXT_SUFFIXES)
        or name in NAMED_FILES
        or name.startswith(("Dockerfile", "requirements"))
    )


def _keeps_text(name: str) -> bool:
    """Configuration-like files whose text later readers need (code is reduced to markers)."""
    return not name.endswith(CODE_SUFFIXES)


def scan_repository(
    root: Path, limits: ScanLimits | None = None, ignored: frozenset[str] = frozenset()
) -> RepoScan:
    """Walk ``root`` breadth first and return what it holds (see the module docstring).

    ``ignored`` names folders (relative paths) to skip because git ignores them.
    """
    limits = limits or ScanLimits()
    started = time.perf_counter()
    scan = RepoScan(root=root)
    modules: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    references: dict[str, set[str]] = {}
    queue: deque[str] = deque([""])
    base = str(root)
    while queue:
        rel_dir = queue.popleft()
        full_dir = os.path.join(base, rel_dir) if rel_dir else base
        try:
            with os.scandir(full_dir) as iterator:
                entries = sorted(iterator, key=lambda e: e.name)
        except OSError as exc:
            scan.unreadable.append(f"{rel_dir or '.'}: {exc.strerror or exc}")
            continue
        if rel_dir and _looks_like_data(rel_dir, entries):
            _scan_data_dir(rel_dir, entries, limits, scan)
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    reason = SKIPPED_DIRS.get(entry.name)
                    if reason is None and rel in ignored:
                        reason = "ignored by git"
                    if reason is None and _is_virtualenv(entry.path):
                        reason = "virtual environment"
                    if reason is not None:
                        scan.skipped.append(SkippedDir(rel, reason))
                    else:
                        queue.append(rel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
            except OSError:
                scan.unreadable.append(rel)
                continue
            scan.files.append(rel)
            if entry.name.endswith(".dvc"):
                scan.dvc_pointers.append(rel)
            if not _wants_text(entry.name):
                continue
            if scan.files_read >= limits.max_read_files:
                scan.read_truncated = True
                continue
            text = _read_text(entry.path, limits.read_bytes)
            if text is None:
                scan.unreadable.append(rel)
                continue
            scan.files_read += 1
            if _keeps_text(entry.name):
                scan.texts[rel] = text
            else:
                _record_markers(rel, text, modules, calls, references)
    scan.files.sort()
    scan.dvc_pointers.sort()
    scan.modules = {k: sorted(v) for k, v in sorted(modules.items())}
    scan.calls = {k: sorted(v) for k, v in sorted(calls.items())}
    scan.data_references = {k: sorted(v) for k, v in sorted(references.items())}
    scan.seconds = time.perf_counter() - started
    return scan


def _looks_like_data(rel_dir: str, entries: list[os.DirEntry[str]]) -> bool:
    name = rel_dir.rsplit("/", 1)[-1]
    if name in DATA_DIR_NAMES and not any(e.name.endswith((".py", ".ipynb")) for e in entries):
        return True
    if len(entries) < DATA_DIR_MIN_ENTRIES:
        return False
    code = sum(1 for e in entries if _wants_text(e.name))
    return code < DATA_DIR_CODE_SHARE * len(entries)


def _scan_data_dir(
    rel_dir: str,
    entries: list[os.DirEntry[str]],
    limits: ScanLimits,
    scan: RepoScan,
) -> None:
    """Count a data folder's files by name, keeping only DVC pointers, within the entry budget."""
    seen = 0
    pending: deque[tuple[str, list[os.DirEntry[str]] | None]] = deque([(rel_dir, entries)])
    truncated = False
    while pending and not truncated:
        rel, listed = pending.popleft()
        if listed is None:
            try:
                with os.scandir(os.path.join(str(scan.root), rel)) as iterator:
                    listed = list(iterator)
            except OSError:
                scan.unreadable.append(rel)
                continue
        for entry in listed:
            seen += 1
            if seen > limits.data_dir_entries:
                truncated = True
                break
            child = f"{rel}/{entry.name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((child, None))
                elif entry.name.endswith(".dvc"):
                    scan.files.append(child)
                    scan.dvc_pointers.append(child)
            except OSError:
                scan.unreadable.append(child)
    scan.data_dirs.append(DataDir(rel_dir, min(seen, limits.data_dir_entries), truncated))


def _read_text(path: str, limit: int) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def _record_markers(
    rel: str,
    text: str,
    modules: dict[str, set[str]],
    calls: dict[str, set[str]],
    references: dict[str, set[str]],
) -> None:
    for module in set(_IMPORT.findall(text)) & KNOWN_MODULES:
        modules.setdefault(module, set()).add(rel)
    for name, marker in CALL_MARKERS.items():
        if marker.found_in(text):
            calls.setdefault(name, set()).add(rel)
    for suffix in _DATA_SUFFIXES:
        if suffix in text:
            for path in _DATA_PATH.findall(text):
                references.setdefault(path, set()).add(rel)
            break
