"""The catalogue of checks: five levels, each check with its id, level, title, why it matters,
source, and the function that judges it from the evidence.

A check returns an ``Outcome``: passed, failed or not applicable, the evidence it
found (paths, counts, dates, run ids), and, when it failed, the next step that
would make it pass, written for this repository.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ladder.maturity.evidence import Evidence, iso_date
from ladder.maturity.scan import ML_LIBRARIES
from ladder.maturity.store_evidence import RECENT_DAYS, TrackingEvidence, recent

Status = Literal["passed", "failed", "not_applicable"]

GOOGLE = "Google Cloud, MLOps: Continuous delivery and automation pipelines in ML"
MICROSOFT = "Microsoft, Machine Learning operations maturity model"
LADDER = "Ladder's five-level synthesis (DESIGN.md)"


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    google: int  # Google Cloud level 0-2
    microsoft: int  # Microsoft level 0-4
    summary: str


LEVELS: tuple[Level, ...] = (
    Level(1, "Manual", 0, 0, "experiments by hand, in notebooks or scripts"),
    Level(2, "Repeatable", 0, 1, "code in git; runs tracked with their commit and environment"),
    Level(3, "Reproducible", 1, 2, "versioned data, pipelines with lineage, a model registry"),
    Level(4, "Automated deployment", 2, 3, "CI tests data and models; gated, progressive releases"),
    Level(5, "Continuous improvement", 2, 4, "monitoring drives retraining, gating and promotion"),
)


def level(number: int) -> Level:
    return LEVELS[number - 1]


@dataclass(frozen=True)
class Outcome:
    status: Status
    evidence: tuple[str, ...]
    next_step: str | None = None


@dataclass(frozen=True)
class Check:
    id: str
    level: int
    title: str
    why: str
    source: str
    required: bool
    judge: Callable[[Evidence], Outcome]


def passed(*evidence: str) -> Outcome:
    return Outcome("passed", tuple(e for e in evidence if e))


def failed(step: str, *evidence: str) -> Outcome:
    return Outcome("failed", tuple(e for e in evidence if e), step)


def not_applicable(*evidence: str) -> Outcome:
    return Outcome("not_applicable", tuple(e for e in evidence if e))


# -- wording helpers --------------------------------------------------------------------------


def listed(paths: list[str] | tuple[str, ...], limit: int = 3) -> str:
    """``a.py, b.py (+4 more)``."""
    shown = ", ".join(paths[:limit])
    return f"{shown} (+{len(paths) - limit} more)" if len(paths) > limit else shown


def day(ms: int | None) -> str:
    return iso_date(ms)[:10] if ms is not None else "unknown date"


def training_entry(e: Evidence) -> str:
    """The file a next step should name: a ``train*.py``, a script that fits, or a notebook."""
    code = set(e.scan.code_files)
    named = [p for p in code if p.rsplit("/", 1)[-1].startswith("train")]
    fitting = [p for p in e.scan.calling("fit") if p in code]
    ml = [p for p in e.scan.importing(*ML_LIBRARIES) if p in code]
    for candidates in (named, fitting, ml):
        if candidates:
            return min(candidates, key=lambda p: (len(p), p))
    if e.scan.notebooks:
        return e.scan.notebooks[0]
    return "train.py"


def data_candidates(e: Evidence) -> list[str]:
    """Data to version: files the code reads, then data folders, then data files."""
    referenced = list(e.scan.data_references)
    folders = [d.path for d in e.scan.data_dirs]
    files = e.scan.with_suffix(".csv", ".parquet", ".jsonl", ".feather", ".tsv")
    loose = [f for f in files if not any(f.startswith(d + "/") for d in folders)]
    return list(dict.fromkeys(referenced + folders + loose))


def data_name(path: str) -> str:
    stem = path.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    return stem or "training-data"


def model_hint(e: Evidence) -> str:
    """The model a next step should name: one the registry, MLflow or ladder.toml knows."""
    registry = e.store.registry
    known = [
        *(registry.names if registry else ()),
        *e.mlflow.registered_models,
        *e.config.declared("models"),
    ]
    return known[0] if known else "<model>"


def dataset_hint(e: Evidence) -> str:
    data = e.store.data
    if data and data.names:
        return data.names[0]
    candidates = [*e.dvc.tracked, *data_candidates(e)]
    return data_name(candidates[0]) if candidates else "<dataset>"


def deployment_hint(e: Evidence) -> str:
    serving = e.store.serving
    known = [*(serving.deployments if serving else ()), *e.config.declared("deployments")]
    if known:
        return known[0]
    model = model_hint(e)
    return model if model != "<model>" else "<deployment>"


def test_command(e: Evidence) -> str:
    """How this repository installs itself and runs its tests, from its lock or requirements."""
    names = {p.rsplit("/", 1)[-1] for p in e.pins.lock_files}
    if "uv.lock" in names:
        return "uv sync && uv run pytest"
    if "poetry.lock" in names:
        return "poetry install && poetry run pytest"
    if "Pipfile.lock" in names:
        return "pipenv sync --dev && pipenv run pytest"
    requirements = [f.path for f in e.pins.requirement_files if f.path.endswith(".txt")]
    if requirements:
        return f"pip install -r {requirements[0]} && pytest"
    return "pip install -e . && pytest"


def ci_file(e: Evidence) -> str:
    """The CI file a next step should edit (or create)."""
    return e.ci[0].path if e.ci else ".github/workflows/ci.yml"


def ladder_runs(e: Evidence) -> int:
    tracking = e.store.tracking
    return tracking.runs if tracking else 0


def examined(tracking: TrackingEvidence) -> str:
    """``the last 1000 runs`` when the store holds more than were read, else ``5 runs``."""
    return f"the last {tracking.runs} runs" if tracking.more else f"{tracking.runs} runs"


# -- level 1: manual -------------------------------------------------------------------------


def judge_ml_code(e: Evidence) -> Outcome:
    ml = e.scan.importing(*ML_LIBRARIES)
    notebooks = e.scan.notebooks
    found = []
    if ml:
        libraries = sorted(m for m in ML_LIBRARIES if e.scan.modules.get(m))
        found.append(f"{len(ml)} file(s) import {', '.join(libraries)}: {listed(ml)}")
    if notebooks:
        found.append(f"{len(notebooks)} notebook(s): {listed(notebooks)}")
    if ladder_runs(e) or e.mlflow.runs:
        found.append(
            f"training runs recorded: {ladder_runs(e)} in the Ladder store, "
            f"{e.mlflow.runs} in MLflow"
        )
    if found:
        return passed(*found)
    return failed(
        "add the training code (a script or notebook) to the repository",
        f"no ML library imports in {len(e.scan.python_files)} Python file(s) and no notebooks",
    )


def judge_scripts(e: Evidence) -> Outcome:
    notebooks = e.scan.notebooks
    ml = set(e.scan.importing(*ML_LIBRARIES))
    scripts = [p for p in e.scan.code_files if p in ml]
    if scripts:
        return passed(f"training code in scripts: {listed(scripts)}")
    if not notebooks:
        return not_applicable("no notebooks and no ML scripts found")
    first = notebooks[0]
    return failed(
        f"export the training code of {first} to a script "
        f"(`jupyter nbconvert --to script {first}`) and run it as `python "
        f"{first.rsplit('.', 1)[0]}.py`",
        f"only notebooks hold ML code: {listed(notebooks)}",
    )


# -- level 2: repeatable ---------------------------------------------------------------------


def judge_version_control(e: Evidence) -> Outcome:
    git = e.git
    if git.is_repository and git.commits > 0:
        return passed(
            f"git repository at {git.root}: {git.commits} commit(s), HEAD {(git.head or '')[:10]} "
            f"({(git.head_date or '')[:10]})"
        )
    if git.is_repository:
        return failed(
            f"commit the code: `git -C {e.root} add -A && git commit -m 'Initial commit'`",
            f"git repository at {git.root} has no commits",
        )
    return failed(
        f"put the code under git: `git -C {e.root} init && git add -A && git commit -m "
        "'Initial commit'` (ignore data folders and .ladder/ in .gitignore)",
        git.problem or f"{e.root} is not inside a git repository",
    )


def _remote_tracking(e: Evidence) -> list[str]:
    """Files that log params and metrics to a tracker whose records are not in the repository."""
    logging = set(e.scan.calling("log_params", "autolog")) & set(
        e.scan.calling("log_metrics", "autolog")
    )
    return sorted(logging)


def judge_runs_tracked(e: Evidence) -> Outcome:
    found: list[str] = []
    tracking = e.store.tracking
    if tracking and tracking.with_params_and_metrics:
        found.append(
            f"Ladder: {tracking.with_params_and_metrics} of {examined(tracking)} carry "
            f"params and metrics (e.g. run {tracking.example_tracked}); latest run "
            f"{tracking.latest_run_id} on {day(tracking.latest_run_ms)}"
        )
    mlflow = e.mlflow
    if mlflow.runs_with_params and mlflow.runs_with_metrics:
        found.append(
            f"MLflow ({listed(mlflow.stores)}): {mlflow.runs} runs, {mlflow.runs_with_params} with "
            f"params, {mlflow.runs_with_metrics} with metrics; latest run {mlflow.latest_run_id} "
            f"on {day(mlflow.latest_run_ms)}"
        )
    tracked_stages = [s for s in e.dvc.stages if s.params and s.metrics and s.locked]
    if tracked_stages:
        found.append(
            "DVC: stage(s) "
            + listed([f"{s.name} ({s.file})" for s in tracked_stages])
            + " record params and metrics in dvc.lock"
        )
    if found:
        return passed(*found)
    remote = _remote_tracking(e)
    if remote:
        return passed(
            f"{listed(remote)} log params and metrics to a tracking server (its records are "
            "not in the repository, so they were not inspected)"
        )
    script = training_entry(e)
    empty = []
    if tracking is not None:
        empty.append(f"Ladder store: {tracking.runs} runs, none with both params and metrics")
    if mlflow.found:
        empty.append(f"MLflow ({listed(mlflow.stores)}): {mlflow.runs} runs without params+metrics")
    return failed(
        f"track each training run: in {script}, wrap training in `with ladder.start_run() as "
        "run:` and add `run.log_params({...})` and `run.log_metrics({...})`",
        *(empty or ["no tracked runs (Ladder, MLflow or DVC) and no tracking calls in the code"]),
    )


def _majority(part: int, whole: int) -> bool:
    return whole > 0 and 2 * part >= whole


def judge_runs_commit(e: Evidence) -> Outcome:
    tracking = e.store.tracking
    mlflow = e.mlflow
    found: list[str] = []
    lacking: list[str] = []
    if tracking and tracking.runs:
        text = f"Ladder: {tracking.with_commit} of {examined(tracking)} record a commit"
        (found if _majority(tracking.with_commit, tracking.runs) else lacking).append(text)
    if mlflow.runs:
        text = (
            f"MLflow: {mlflow.runs_with_commit} of {mlflow.runs} runs carry "
            "mlflow.source.git.commit"
        )
        (found if _majority(mlflow.runs_with_commit, mlflow.runs) else lacking).append(text)
    locked = [s for s in e.dvc.stages if s.locked]
    if locked and e.git.is_repository:
        found.append(
            f"DVC: dvc.lock records {len(locked)} stage result(s) and is versioned with the code"
        )
    if found:
        return passed(*found, *lacking)
    if lacking:
        return failed(
            "run training from inside the git repository (Ladder and MLflow then record the "
            "commit of every run); commit the code before each run",
            *lacking,
        )
    if _remote_tracking(e):
        return not_applicable(
            "runs are stored on a tracking server outside the repository; MLflow and W&B record "
            "the commit when a script runs inside a git repository"
        )
    return failed(
        f"start tracked runs inside the git repository: `ladder.start_run()` in "
        f"{training_entry(e)} records the commit, dirty flag and command by itself",
        "no tracked runs to link to a commit",
    )


def judge_environment_pinned(e: Evidence) -> Outcome:
    pins = e.pins
    found = []
    if pins.pinned_files:
        found.append(f"pinned: {listed(pins.pinned_files)}")
    tracking = e.store.tracking
    if tracking and tracking.with_environment:
        found.append(
            f"Ladder: {tracking.with_environment} of {examined(tracking)} recorded "
            "their Python environment (every installed package and version)"
        )
    partial = [
        f"{f.path} pins {f.pinned} of {f.total} requirements"
        for f in pins.requirement_files
        if not f.fully_pinned
    ]
    if found:
        return passed(*found, *partial)
    if pins.declared_only and any(p.endswith("pyproject.toml") for p in pins.declared_only):
        step = "lock the environment: `uv lock` (or `poetry lock`) and commit the lock file"
    elif pins.requirement_files:
        first = next(f for f in pins.requirement_files if not f.fully_pinned)
        step = (
            f"pin every requirement in {first.path} to an exact version: `pip freeze > "
            f"{first.path}` in the training environment, or compile it with `uv pip compile`"
        )
    else:
        step = (
            "record the environment: `pip freeze > requirements.txt` in the training environment "
            "and commit it (Ladder runs also record the environment of each run)"
        )
    evidence = partial + (
        [f"declared but not locked: {listed(pins.declared_only)}"] if pins.declared_only else []
    )
    return failed(
        step,
        *(evidence or ["no lock file, no pinned requirements file, no recorded run environment"]),
    )


def judge_rerun_command(e: Evidence) -> Outcome:
    found = []
    tracking = e.store.tracking
    if tracking and tracking.with_command:
        found.append(
            f"Ladder: {tracking.with_command} of {examined(tracking)} record their command line"
        )
    if e.scan.named("MLproject"):
        found.append(f"MLproject entry points: {listed(e.scan.named('MLproject'))}")
    if e.dvc.stages:
        found.append(f"DVC stage commands in {listed(sorted({s.file for s in e.dvc.stages}))}")
    if found:
        return passed(*found)
    return failed(
        f"record how each run was started: run {training_entry(e)} under `ladder.start_run()` "
        "(the command line is recorded), or declare it as an MLproject entry point or dvc.yaml "
        "stage",
        "no recorded run commands, MLproject or dvc.yaml",
    )


# -- level 3: reproducible -------------------------------------------------------------------

_DATA_EXTENSIONS = (".csv", ".parquet", ".tsv", ".jsonl", ".npy", ".h5", ".feather", ".zip")


def _lfs_patterns(e: Evidence) -> list[str]:
    patterns = []
    for path in e.scan.named(".gitattributes"):
        for line in e.scan.texts.get(path, "").splitlines():
            if "filter=lfs" in line:
                patterns.append(line.split()[0])
    return patterns


def judge_data_versioned(e: Evidence) -> Outcome:
    found = []
    data = e.store.data
    if data and data.versions:
        found.append(
            f"Ladder datasets: {listed(data.datasets)}; latest version {day(data.latest_ms)}"
        )
    if e.dvc.tracked:
        found.append(f"DVC tracks {len(e.dvc.tracked)} path(s): {listed(e.dvc.tracked)}")
    deps = sorted({d for s in e.dvc.stages if s.locked for d in s.deps if not d.endswith(".py")})
    if deps and not e.dvc.tracked:
        found.append(f"DVC pipeline dependencies hashed in dvc.lock: {listed(deps)}")
    lfs = [p for p in _lfs_patterns(e) if p.endswith(_DATA_EXTENSIONS) or "data" in p]
    if lfs:
        found.append(f"Git LFS versions data files matching {listed(lfs)}")
    if found:
        if e.dvc.tracked and not e.dvc.remotes:
            found.append("no DVC remote configured: data versions live on this machine only")
        return passed(*found)
    candidates = data_candidates(e)
    if candidates:
        target = candidates[0]
        readers = e.scan.data_references.get(target)
        step = (
            f"version the training data: `ladder data add {data_name(target)} {target}` (or "
            f"`dvc add {target}`)" + (f"; {listed(readers, 1)} reads it" if readers else "")
        )
    else:
        step = (
            f"version the training data: `ladder data add <dataset> <the data "
            f"{training_entry(e)} trains on>` (or `dvc add` it)"
        )
    return failed(
        step,
        f"unversioned data: {listed(candidates)}" if candidates else "",
        "no Ladder datasets, DVC-tracked paths or Git LFS data patterns",
    )


def judge_data_linked(e: Evidence) -> Outcome:
    found = []
    tracking = e.store.tracking
    if tracking and tracking.dataset_links:
        found.append(
            f"Ladder: {tracking.runs_with_datasets} run(s) recorded {tracking.dataset_links} "
            f"dataset input(s), e.g. {tracking.example_dataset_link}"
        )
    registry = e.store.registry
    if registry and registry.versions_with_datasets:
        found.append(
            f"Ladder registry: {registry.versions_with_datasets} model version(s) name their "
            "datasets"
        )
    if e.mlflow.runs_with_inputs:
        found.append(f"MLflow: {e.mlflow.runs_with_inputs} run(s) logged dataset inputs")
    locked = [s for s in e.dvc.stages if s.locked and s.deps]
    if locked:
        found.append(
            "DVC: dvc.lock pins the input hashes of stage(s) " + listed([s.name for s in locked])
        )
    if found:
        return passed(*found)
    script = training_entry(e)
    return failed(
        f"record which data each run used: in {script}, load the data with "
        f"`train = ladder.dataset.get('{dataset_hint(e)}@latest')` and call "
        "`run.use_dataset(train)`"
        + (
            " (with MLflow: `mlflow.log_input(mlflow.data.from_pandas(df), context='training')`)"
            if e.mlflow.found or e.scan.importing("mlflow")
            else ""
        ),
        "no run records which dataset version it read",
    )


_ORCHESTRATORS = {
    "airflow": "Airflow DAG",
    "kfp": "Kubeflow pipeline",
    "prefect": "Prefect flow",
    "zenml": "ZenML pipeline",
    "metaflow": "Metaflow flow",
    "dagster": "Dagster job",
}


def judge_pipeline(e: Evidence) -> Outcome:
    found = []
    pipelines = e.store.pipelines
    if pipelines and pipelines.runs:
        found.append(
            f"Ladder: {pipelines.runs} pipeline run(s) of {listed(pipelines.pipelines)}, latest "
            f"{pipelines.latest_run_id} on {day(pipelines.latest_ms)}"
        )
    elif e.store.tracking and e.store.tracking.pipeline_runs:
        found.append(f"Ladder: {e.store.tracking.pipeline_runs} pipeline run(s) tracked")
    if e.dvc.stages:
        found.append(
            f"DVC pipeline: {len(e.dvc.stages)} stage(s) "
            + listed([s.name for s in e.dvc.stages])
            + f" in {listed(sorted({s.file for s in e.dvc.stages}))}"
        )
    for module, name in _ORCHESTRATORS.items():
        files = e.scan.importing(module)
        if files:
            found.append(f"{name}: {listed(files)}")
    declared = e.config.declared("pipelines")
    if declared:
        found.append(f"ladder.toml [pipelines]: {listed(declared)}")
    defined = e.scan.calling("ladder_pipeline")
    if defined and not (pipelines and pipelines.runs):
        found.append(f"Ladder pipeline defined in {listed(defined)}")
    if found:
        return passed(*found)
    script = training_entry(e)
    return failed(
        f"turn {script} into a pipeline: split it into `@ladder.step` functions (load, "
        f"features, train, evaluate) under a `@ladder.pipeline`, and run it with `ladder pipeline "
        f"run {script.rsplit('.', 1)[0].replace('/', '.')}:training`",
        "no pipeline runs or definitions (Ladder, DVC, Airflow, Kubeflow, Prefect, ZenML, "
        "Metaflow)",
    )


def judge_model_registry(e: Evidence) -> Outcome:
    found = []
    registry = e.store.registry
    if registry and registry.versions:
        found.append(
            f"Ladder registry: {listed(registry.models)}; {registry.versions_with_run} of "
            f"{registry.versions} versions link to their run"
            + (f" (e.g. {registry.example_lineage})" if registry.example_lineage else "")
        )
    mlflow = e.mlflow
    if mlflow.model_versions:
        found.append(
            f"MLflow registry: {listed(mlflow.registered_models)}; {mlflow.versions_with_run} of "
            f"{mlflow.model_versions} versions link to their run"
        )
    if e.dvc.model_artifacts:
        found.append(f"DVC versions model(s): {listed(e.dvc.model_artifacts)}")
    linked = bool(
        (registry and registry.versions_with_run)
        or mlflow.versions_with_run
        or e.dvc.model_artifacts  # dvc.lock ties each output to its inputs
    )
    if found and linked:
        return passed(*found)
    remote = e.scan.calling("register_model")
    if not found and remote:
        return passed(
            f"{listed(remote)} register models in a registry outside the repository (not inspected)"
        )
    return failed(
        f"register each trained model with its lineage: in {training_entry(e)}, call "
        f"`ladder.register_model(model, '{model_hint(e).strip('<>')}', input_example=X.head(), "
        "datasets=[train])` "
        "inside the run",
        *(found or ["no registered model versions (Ladder, MLflow) or DVC-versioned models"]),
    )


def judge_clean_tree(e: Evidence) -> Outcome:
    tracking = e.store.tracking
    if tracking and tracking.with_commit:
        text = (
            f"Ladder: {tracking.clean} of {tracking.with_commit} runs with a commit came from a "
            f"clean working tree"
            + (f" (e.g. run {tracking.example_clean})" if tracking.example_clean else "")
        )
        if _majority(tracking.clean, tracking.with_commit):
            return passed(text)
        return failed(
            f"commit before training: {tracking.dirty} recent run(s) came from uncommitted "
            "changes; run training from a clean checkout (in CI, or after `git commit`)",
            text,
        )
    if e.mlflow.runs or any(s.locked for s in e.dvc.stages):
        return not_applicable(
            "MLflow and DVC do not record whether the working tree had uncommitted changes"
        )
    return failed(
        f"track runs with Ladder from {training_entry(e)}: each run records its commit and "
        "whether the working tree was clean",
        "no runs with a recorded working-tree state",
    )


def judge_tests(e: Evidence) -> Outcome:
    tests = e.scan.test_files
    if tests:
        return passed(f"{len(tests)} test file(s): {listed(tests)}")
    return failed(
        "add unit tests for the feature and training code: tests/test_features.py with pytest",
        "no test files (tests/, test_*.py)",
    )


# -- level 4: automated deployment -----------------------------------------------------------


def _ci_doing(e: Evidence, purpose: str) -> list[str]:
    return [
        f"{c.path} ({c.system}): `{c.purposes[purpose][0][:80]}`" for c in e.ci if c.does(purpose)
    ]


def judge_ci_tests(e: Evidence) -> Outcome:
    found = _ci_doing(e, "tests")
    if found:
        return passed(*found)
    if e.ci:
        return failed(
            f"run the tests in CI: add a `pytest` step to {ci_file(e)}",
            f"CI configured ({listed([c.path for c in e.ci])}) but it runs no tests",
        )
    return failed(
        "add a CI workflow that runs the tests on every push: .github/workflows/ci.yml with a "
        f"job running `{test_command(e)}`",
        "no CI configuration (GitHub Actions, GitLab CI, Jenkins, Azure, CircleCI, Bitbucket)",
    )


def judge_ci_data_model_checks(e: Evidence) -> Outcome:
    data = _ci_doing(e, "data_validation")
    model = _ci_doing(e, "model_validation")
    evidence = [f"data checks: {d}" for d in data] + [f"model checks: {m}" for m in model]
    if data and model:
        return passed(*evidence)
    missing = []
    name = model_hint(e)
    if not data:
        dataset = dataset_hint(e)
        missing.append(f"a job that runs `ladder data validate {dataset}@latest <new data>`")
    if not model:
        missing.append(
            f"a job that runs `ladder models gate {name}/<candidate> --against "
            f"{name}@champion --dataset <holdout> --metric roc_auc:min=0.8`"
        )
    return failed(
        f"add to {ci_file(e)} " + " and ".join(missing),
        *evidence,
        "CI validates no data" if not data else "",
        "CI validates no models" if not model else "",
    )


def judge_deploy_gated(e: Evidence) -> Outcome:
    model, deployment = model_hint(e), deployment_hint(e)
    found = []
    registry = e.store.registry
    if registry and registry.gated_promotions:
        found.append(
            f"Ladder registry: {registry.gated_promotions} promotion(s) behind a passing gate "
            f"({registry.passed_gates} of {registry.gates} gates passed); aliases "
            f"{listed(registry.aliases)}"
        )
    serving = e.store.serving
    if serving and serving.from_registry and registry and registry.gated_promotions:
        found.append(f"Ladder deployments serve registry versions: {listed(serving.from_registry)}")
    if e.config.gated_models and e.config.declared("deployments"):
        found.append(
            f"ladder.toml: gated model(s) {listed(e.config.gated_models)}, deployment(s) "
            f"{listed(e.config.declared('deployments'))}"
        )
    for config in e.ci:
        if config.does("deployment") and config.does("model_validation"):
            registry_refs = any(
                "models:/" in c or "@" in c or "promote" in c for c in config.commands
            ) or bool(e.deployment.model_references)
            if registry_refs:
                found.append(
                    f"{config.path}: deploys after validating the model "
                    f"(`{config.purposes['model_validation'][0][:60]}`)"
                )
    if found:
        return passed(*found)
    evidence = []
    if registry and registry.versions and not registry.gated_promotions:
        evidence.append(f"Ladder registry: {registry.versions} version(s), no gated promotion")
    if e.mlflow.aliases or e.mlflow.staged_versions:
        evidence.append(
            f"MLflow: aliases {listed(e.mlflow.aliases) or 'none'}, "
            f"{e.mlflow.staged_versions} staged version(s), but no gate before deployment"
        )
    return failed(
        f"deploy only what passed a gate: `ladder models gate {model}/<n> --against "
        f"{model}@champion --dataset <holdout>` then `ladder models promote {model}/<n>`, and "
        f"serve `{model}@champion` (`ladder deploy create {deployment} {model}@champion`)",
        *(evidence or ["no gated promotion and no deployment that follows a registry gate"]),
    )


def judge_automated_release(e: Evidence) -> Outcome:
    found = _ci_doing(e, "deployment")
    automation = e.store.automation
    if automation and automation.promotions_recent:
        found.append(f"Ladder autopilot: {automation.promotions_recent} automated promotion(s)")
    if found:
        return passed(*found)
    target = (
        listed(e.deployment.manifest_files)
        if e.deployment.manifest_files
        else f"the deployment (`ladder deploy set {deployment_hint(e)} --model "
        f"{model_hint(e)}@champion`)"
    )
    return failed(
        f"release from CI: add a deploy job to {ci_file(e)} that runs on the main branch after "
        f"the tests and updates {target}",
        "no CI job deploys a model",
    )


def judge_progressive_delivery(e: Evidence) -> Outcome:
    found = [f"{name}: {listed(files)}" for name, files in e.deployment.rollouts.items()]
    if e.config.progressive_deployments:
        found.append(
            f"ladder.toml [deployments]: {listed(e.config.progressive_deployments)} (the "
            "autopilot rolls each candidate out through a canary or shadow)"
        )
    serving = e.store.serving
    if serving and serving.progressive:
        found.append(f"Ladder deployments with canary/shadow/A-B: {listed(serving.progressive)}")
    if serving and serving.rollbacks:
        found.append(f"Ladder: {serving.rollbacks} rollback(s) recorded")
    if found:
        return passed(*found)
    if e.deployment.manifest_files:
        step = (
            "roll out progressively: turn the Deployment in "
            f"{listed(e.deployment.manifest_files, 1)} into an Argo Rollout with a canary "
            f"strategy, or serve with `ladder deploy set {deployment_hint(e)} --canary "
            f"{model_hint(e)}/<n>:10`"
        )
    else:
        model, deployment = model_hint(e), deployment_hint(e)
        step = (
            f"serve with a canary: `ladder deploy create {deployment} {model}@champion` then "
            f"`ladder deploy set {deployment} --canary {model}/<candidate>:10` (rollback: "
            f"`ladder deploy rollback {deployment}`)"
        )
    return failed(step, "no canary, shadow, A-B or rollback configuration")


def judge_serving_metrics(e: Evidence) -> Outcome:
    found = [f"{name}: {listed(files)}" for name, files in e.deployment.metrics.items()]
    exporters = e.scan.importing("prometheus_client", "prometheus_fastapi_instrumentator")
    if exporters:
        found.append(f"Prometheus metrics exported in {listed(exporters)}")
    serving = e.store.serving
    if serving and serving.deployments:
        found.append(
            f"Ladder deployments {listed(serving.deployments)} are served by `ladder serve`, "
            "which exposes Prometheus metrics at /metrics"
        )
    if found:
        return passed(*found)
    servers = e.scan.importing("fastapi", "flask", "bentoml")
    where = f" in {listed(servers, 1)}" if servers else ""
    return failed(
        "expose serving metrics: serve with `ladder serve` (latency, errors and predictions per "
        f"variant at /metrics) or add a prometheus_client endpoint{where}",
        "no Prometheus metrics endpoint, ServiceMonitor or scrape annotation",
    )


def judge_container(e: Evidence) -> Outcome:
    files = list(e.deployment.dockerfiles) + list(e.deployment.helm_charts)
    if files:
        return passed(f"container build files: {listed(files)}")
    return failed(
        "containerise the serving environment: `ladder deploy export "
        f"{deployment_hint(e)} --format "
        "dockerfile` writes a Dockerfile for a deployment",
        "no Dockerfile or Helm chart",
    )


def judge_lineage(e: Evidence) -> Outcome:
    registry = e.store.registry
    if registry and registry.versions_with_datasets and registry.versions_with_commit:
        return passed(f"Ladder: {registry.example_lineage}")
    mlflow = e.mlflow
    if mlflow.versions_with_run and mlflow.runs_with_inputs and mlflow.runs_with_commit:
        return passed(
            "MLflow: model versions link to runs that record their commit and dataset inputs"
        )
    if any(s.locked for s in e.dvc.stages) and e.dvc.model_artifacts and e.git.is_repository:
        return passed(
            f"DVC: dvc.lock ties {listed(e.dvc.model_artifacts)} to the hashes of its inputs, "
            "versioned with the code"
        )
    return failed(
        "register models from tracked runs that use versioned datasets, so that `ladder models "
        f"lineage {model_hint(e)}@champion` traces the served model to its run, data and commit",
        "no model version traces back to its run, datasets and commit",
    )


# -- level 5: continuous improvement ---------------------------------------------------------

_MONITORING_TOOLS = {
    "evidently": "Evidently",
    "nannyml": "NannyML",
    "whylogs": "whylogs",
    "alibi_detect": "Alibi Detect",
}


def judge_monitoring_configured(e: Evidence) -> Outcome:
    found = []
    monitoring = e.store.monitoring
    if monitoring and monitoring.monitors:
        found.append(f"Ladder monitors: {listed(monitoring.monitors)}")
    if e.config.declared("monitors"):
        found.append(f"ladder.toml [monitors]: {listed(e.config.declared('monitors'))}")
    for module, name in _MONITORING_TOOLS.items():
        files = e.scan.importing(module)
        if files:
            found.append(f"{name} used in {listed(files)}")
    if found:
        return passed(*found)
    return failed(
        f"monitor the deployed model: declare `[monitors.{deployment_hint(e)}-live]` with "
        f'`deployment = "{deployment_hint(e)}"` in ladder.toml (performance when labels arrive, '
        "estimated performance before, drift as root cause)",
        "no monitors declared and no monitoring library in use",
    )


def judge_monitoring_active(e: Evidence) -> Outcome:
    monitoring = e.store.monitoring
    if monitoring and monitoring.recent_results:
        return passed(
            f"Ladder: {monitoring.recent_results} monitor result(s) in the last {RECENT_DAYS} "
            f"days (latest {day(monitoring.latest_ms)}), covering {listed(monitoring.kinds)}"
        )
    evidence = []
    if monitoring and monitoring.results:
        evidence.append(
            f"Ladder: {monitoring.results} monitor result(s), the latest on "
            f"{day(monitoring.latest_ms)}: older than {RECENT_DAYS} days"
        )
    code = [f for m in _MONITORING_TOOLS for f in e.scan.importing(m)]
    if code:
        evidence.append(
            f"monitoring code in {listed(sorted(set(code)))}, but no results recorded where the "
            "assessment can see them"
        )
    return failed(
        "run the monitors on a schedule and keep their results: `ladder monitor run "
        f"{deployment_hint(e)}-live` from a scheduled CI job, or let the autopilot run them",
        *(evidence or [f"no monitor results in the last {RECENT_DAYS} days"]),
    )


def judge_retrain_triggers(e: Evidence) -> Outcome:
    found = []
    if e.config.declared("triggers"):
        found.append(f"ladder.toml [triggers]: {listed(e.config.declared('triggers'))}")
    automation = e.store.automation
    if automation and automation.triggers:
        found.append(f"Ladder triggers: {listed(automation.triggers)}")
    for config in e.ci:
        if config.schedules and config.does("training"):
            found.append(
                f"{config.path}: scheduled ({listed(config.schedules)}) job that trains "
                f"(`{config.purposes['training'][0][:60]}`)"
            )
    scheduled = set(e.scan.calling("schedule"))
    orchestrated = {f for m in _ORCHESTRATORS for f in e.scan.importing(m)}
    if scheduled & orchestrated:
        found.append(f"scheduled pipeline(s): {listed(sorted(scheduled & orchestrated))}")
    cron = [
        p
        for p in e.deployment.manifests.get("CronJob", ())
        if "train" in e.scan.texts.get(p, "").lower()
    ]
    if cron:
        found.append(f"Kubernetes CronJob that trains: {listed(cron)}")
    if found:
        return passed(*found)
    return failed(
        f"declare a retraining trigger in ladder.toml: `[triggers.{model_hint(e).strip('<>')}-"
        f'drop]` with `on = "alert"`, `model = "{model_hint(e).strip("<>")}"` and the monitor '
        'to watch (or `on = "schedule"` with a `cron`), so that a performance drop retrains, '
        "gates, canaries and promotes",
        "no retraining trigger or schedule",
    )


def judge_automated_cycle(e: Evidence) -> Outcome:
    automation = e.store.automation
    if automation and automation.cycles_recent:
        return passed(
            f"Ladder autopilot: {automation.cycles_recent} retrain → promote cycle(s) in the last "
            f"{RECENT_DAYS} days, latest {day(automation.latest_cycle_ms)}"
        )
    evidence = []
    if automation is not None:
        evidence.append(
            f"Ladder automation: {automation.events} event(s), {automation.retrains_recent} "
            f"retrain(s) and {automation.promotions_recent} promotion(s) in the last "
            f"{RECENT_DAYS} days"
        )
    else:
        evidence.append("no automation events recorded (retrain, gate, promote)")
    registry = e.store.registry
    if registry and recent(registry.latest_promotion_ms, e.now_ms):
        evidence.append(
            f"a promotion on {day(registry.latest_promotion_ms)}, not started by a trigger"
        )
    return failed(
        "let the triggers close the loop: with `[triggers]` in ladder.toml, run the autopilot so "
        "that a retrain → gate → canary → promote cycle completes without a person",
        *evidence,
    )


def judge_prediction_logging(e: Evidence) -> Outcome:
    found = [f"{name}: {listed(files)}" for name, files in e.deployment.prediction_logs.items()]
    serving = e.store.serving
    if serving and serving.prediction_logs:
        found.append(f"Ladder: predictions logged for {serving.prediction_logs} deployment(s)")
    whylogs = e.scan.importing("whylogs")
    if whylogs:
        found.append(f"whylogs profiles in {listed(whylogs)}")
    if found:
        return passed(*found)
    return failed(
        f"log predictions: `ladder serve --deployment {deployment_hint(e)}` logs every request "
        "and prediction; "
        "join labels later with `ladder.serving.log_labels`",
        "no prediction log",
    )


# -- the catalogue ---------------------------------------------------------------------------

CHECKS: tuple[Check, ...] = (
    Check(
        "L1.ml_code",
        1,
        "Machine-learning code is in the repository",
        "There is something to assess: the model is built from code the team owns.",
        f"{GOOGLE}, level 0 (manual, script-driven, interactive process)",
        False,
        judge_ml_code,
    ),
    Check(
        "L1.scripts",
        1,
        "Training code runs as scripts, not only as notebooks",
        "Notebook cells run in any order; a script runs the same way every time and can be "
        "scheduled, tested and reviewed.",
        f"{GOOGLE}, level 0; {MICROSOFT}, level 1 (scoring script under version control)",
        False,
        judge_scripts,
    ),
    Check(
        "L2.version_control",
        2,
        "Code is under version control",
        "Without a commit to point at, no result can be traced to the code that produced it.",
        f"{MICROSOFT}, level 1 (version control for code); {GOOGLE}, level 2 (source control)",
        True,
        judge_version_control,
    ),
    Check(
        "L2.runs_tracked",
        2,
        "Training runs are tracked with params and metrics",
        "Experiments that are not recorded cannot be compared, repeated or audited.",
        f"{MICROSOFT}, level 2 (experiment results tracked) vs level 0 (not tracked); "
        f"{GOOGLE}, level 1 (metadata management)",
        True,
        judge_runs_tracked,
    ),
    Check(
        "L2.runs_commit",
        2,
        "Runs record the code commit",
        "A metric is only meaningful next to the exact code that produced it.",
        f"{GOOGLE}, level 1 (metadata: pipeline and component versions); {LADDER}, level 2",
        True,
        judge_runs_commit,
    ),
    Check(
        "L2.environment_pinned",
        2,
        "The Python environment is pinned",
        "Unpinned dependencies change under the code: the same commit trains a different model "
        "next month.",
        f"{MICROSOFT}, level 2 (managed, traceable training environment); {GOOGLE}, level 2 "
        "(compatibility of packages with the target infrastructure)",
        True,
        judge_environment_pinned,
    ),
    Check(
        "L2.rerun_command",
        2,
        "Each run records the command that re-runs it",
        "Knowing the commit is not enough to repeat a run; the entry point and arguments are "
        "needed too.",
        f"{LADDER}, level 2; {GOOGLE}, level 1 (metadata: parameters, who ran it)",
        False,
        judge_rerun_command,
    ),
    Check(
        "L3.data_versioned",
        3,
        "Datasets are versioned",
        "A model can only be reproduced from the exact data it saw; files overwritten in place "
        "are lost.",
        f"{MICROSOFT}, level 2 (model easy to reproduce; data gathered automatically); "
        f"{GOOGLE}, level 1 (data validation and metadata)",
        True,
        judge_data_versioned,
    ),
    Check(
        "L3.data_linked",
        3,
        "Runs record which dataset versions they used",
        "Lineage from a model to its data answers 'what was this trained on?' in a query.",
        f"{MICROSOFT}, level 3 (full traceability from deployment back to the data); "
        f"{GOOGLE}, level 1 (metadata: pointers to each step's artifacts)",
        True,
        judge_data_linked,
    ),
    Check(
        "L3.pipeline",
        3,
        "Training runs through a pipeline",
        "A pipeline of steps makes training repeatable end to end and lets the same code run in "
        "development and production.",
        f"{GOOGLE}, level 1 (ML pipeline automation, experimental-operational symmetry); "
        f"{MICROSOFT}, level 2 (automated training)",
        True,
        judge_pipeline,
    ),
    Check(
        "L3.model_registry",
        3,
        "Models are versioned in a registry, linked to their runs",
        "A registry is where a trained model becomes a versioned, addressable artifact with "
        "lineage, ready to be gated and deployed.",
        f"{MICROSOFT}, level 2 (model management; training code and models under version "
        f"control); {GOOGLE}, level 2 (model registry)",
        True,
        judge_model_registry,
    ),
    Check(
        "L3.clean_tree",
        3,
        "Runs come from a clean working tree",
        "A run made with uncommitted changes points at a commit that does not hold its code.",
        f"{LADDER}, level 3 (reproducible); {MICROSOFT}, level 2 (model easy to reproduce)",
        True,
        judge_clean_tree,
    ),
    Check(
        "L3.tests",
        3,
        "Unit tests exist for the code",
        "Feature and training code breaks silently; tests are what CI will run.",
        f"{GOOGLE}, level 2 (unit tests for feature engineering and model methods); "
        f"{MICROSOFT}, level 2 (scoring script with tests)",
        False,
        judge_tests,
    ),
    Check(
        "L4.ci_tests",
        4,
        "CI runs the tests automatically",
        "Tests that run only when someone remembers do not protect a release.",
        f"{MICROSOFT}, level 1 (automated builds and tests) and level 3 (automated tests for "
        f"all code); {GOOGLE}, level 2 (pipeline CI)",
        True,
        judge_ci_tests,
    ),
    Check(
        "L4.ci_data_model_checks",
        4,
        "CI validates data and models",
        "ML breaks through data and model quality, not only code: CI has to test schemas, "
        "values and model quality too.",
        f"{GOOGLE}, level 1 (data validation, model validation) and level 2 (CI tests); "
        f"{MICROSOFT}, level 3 (tests for every model release)",
        True,
        judge_ci_data_model_checks,
    ),
    Check(
        "L4.deploy_gated",
        4,
        "Deployment takes a registry version through a gate",
        "Only a model that beats the current one on held-out data should reach users.",
        f"{GOOGLE}, level 1 (model validation: promote only if better than production); "
        f"{MICROSOFT}, level 3 (automated model deployment)",
        True,
        judge_deploy_gated,
    ),
    Check(
        "L4.automated_release",
        4,
        "CI/CD releases the model automatically",
        "Manual releases are slow and error-prone; a pipeline releases the same way every time.",
        f"{MICROSOFT}, level 3 (release automatic, run by a CI/CD pipeline); {GOOGLE}, level 2 "
        "(pipeline CD, model continuous delivery)",
        True,
        judge_automated_release,
    ),
    Check(
        "L4.progressive_delivery",
        4,
        "Canary, shadow or rollback is configured",
        "A new model meets real traffic gradually, and a bad one is rolled back before most "
        "users see it.",
        f"{MICROSOFT}, level 3 (integrated A/B testing); {GOOGLE}, level 1 (online validation by "
        "canary or A/B test)",
        True,
        judge_progressive_delivery,
    ),
    Check(
        "L4.serving_metrics",
        4,
        "The model server exposes metrics",
        "Latency, errors and prediction volume per model version are the first signal that a "
        "release went wrong.",
        f"{MICROSOFT}, level 4 (metrics collection after deployment); {LADDER}, level 4 "
        "(live metrics)",
        True,
        judge_serving_metrics,
    ),
    Check(
        "L4.container",
        4,
        "The serving environment is containerised",
        "A container carries the pinned environment to production unchanged.",
        f"{GOOGLE}, level 1 (containerized components) and level 2 (infrastructure compatibility)",
        False,
        judge_container,
    ),
    Check(
        "L4.lineage",
        4,
        "A model version traces back to its run, data and commit",
        "When a served model misbehaves, the team needs its exact code and data in one query.",
        f"{MICROSOFT}, level 3 (full traceability from deployment back to the data)",
        False,
        judge_lineage,
    ),
    Check(
        "L5.monitoring_configured",
        5,
        "Production monitoring of performance and drift is configured",
        "Models decay as data shifts; without monitoring, degradation is found by users.",
        f"{GOOGLE}, level 0 remedy and level 2 (monitoring stage); {MICROSOFT}, level 4 "
        "(detailed central metrics from the deployed model)",
        True,
        judge_monitoring_configured,
    ),
    Check(
        "L5.monitoring_active",
        5,
        f"Monitoring has results from the last {RECENT_DAYS} days",
        "Monitoring that stopped running is no monitoring.",
        f"{GOOGLE}, level 2 (monitoring: statistics on live performance); {MICROSOFT}, level 4",
        True,
        judge_monitoring_active,
    ),
    Check(
        "L5.retrain_triggers",
        5,
        "Retraining triggers are configured",
        "Continuous training starts from a signal: new data, a schedule, a performance drop.",
        f"{GOOGLE}, level 1 (pipeline triggers: schedule, new data, performance degradation, "
        f"drift); {MICROSOFT}, level 4 (retraining triggered from production metrics)",
        True,
        judge_retrain_triggers,
    ),
    Check(
        "L5.automated_cycle",
        5,
        f"An automated retrain → promote cycle completed in the last {RECENT_DAYS} days",
        "The loop is only closed when it has run on its own, recently.",
        f"{MICROSOFT}, level 4 (full MLOps automated operations; policy-based automated "
        f"promotion); {GOOGLE}, level 2 (automated triggering)",
        True,
        judge_automated_cycle,
    ),
    Check(
        "L5.prediction_logging",
        5,
        "Predictions are logged",
        "Logged predictions are what performance and drift are computed from, and what labels "
        "join to later.",
        f"{GOOGLE}, level 0 (predictions not logged, so degradation cannot be detected)",
        False,
        judge_prediction_logging,
    ),
)
