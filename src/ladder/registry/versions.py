"""Registering model versions and reading them back.

``register_model`` saves the model with its flavor, stores the files
content-addressed, and numbers the version under a row lock on the model's
name, so two processes registering at once get 1 and 2, never 1 twice.
"""

from __future__ import annotations

import getpass
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ladder.artifacts import Manifest, ManifestEntry
from ladder.db import upsert
from ladder.errors import (
    AliasNotFound,
    InvalidValue,
    ModelNameMismatch,
    ModelNotFound,
    RunNotFound,
)
from ladder.ids import new_id
from ladder.registry.datasets import dataset_ref
from ladder.registry.flavors import SavedModel, detect_flavor, get_flavor
from ladder.registry.models import (
    ModelAliasRow,
    ModelVersionDatasetRow,
    ModelVersionRow,
    RegisteredModelRow,
)
from ladder.registry.signature import Signature, as_frame, infer_signature
from ladder.registry.uri import ModelURI, check_model_name, parse_model_uri
from ladder.workspace import Workspace, open_workspace

EXAMPLE_ROWS = 100  # rows of the input example run through the model to infer its output


@dataclass(frozen=True)
class DatasetUse:
    """A dataset version a model version was trained or evaluated on."""

    ref: str
    role: str


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, as read back from the store."""

    id: str
    name: str
    version: int
    flavor: str
    signature: Signature | None
    metrics: dict[str, float]
    datasets: tuple[DatasetUse, ...]
    requirements: tuple[str, ...]
    aliases: tuple[str, ...]
    run_id: str | None
    pipeline_run_id: str | None
    git_commit: str | None
    git_dirty: bool | None
    description: str | None
    created: int
    created_by: str | None
    artifact_digest: str
    artifact_size: int
    flavor_meta: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "flavor": self.flavor,
            "signature": self.signature.to_dict() if self.signature else None,
            "metrics": self.metrics,
            "datasets": [{"ref": d.ref, "role": d.role} for d in self.datasets],
            "requirements": list(self.requirements),
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "pipeline_run_id": self.pipeline_run_id,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "description": self.description,
            "created": self.created,
            "created_by": self.created_by,
            "artifact_digest": self.artifact_digest,
            "artifact_size": self.artifact_size,
            "flavor_meta": self.flavor_meta,
        }


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with a summary of its versions and where its aliases point."""

    name: str
    description: str | None
    latest_version: int | None
    version_count: int
    aliases: dict[str, int]
    created: int
    updated: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def current_actor() -> str:
    """Who is acting, for audit records: ``LADDER_USER``, else the login name."""
    user = os.environ.get("LADDER_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


def now_ms() -> int:
    return int(time.time() * 1000)


# -- registration ----------------------------------------------------------------------------


def register_model(
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    metrics: Mapping[str, Any] | None = None,
    datasets: Iterable[Any] | Mapping[str, Any] | None = None,
    description: str | None = None,
    flavor: str | None = None,
    init_kwargs: Mapping[str, Any] | None = None,
    run: Any = None,
    workspace: Workspace | None = None,
) -> ModelVersion:
    """Register ``model`` as the next version of ``name`` and return that version.

    ``input_example`` (a DataFrame) gives the signature: its columns, dtypes and
    nullability, plus the model's output on it. ``datasets`` are dataset versions
    (or ``"name@version"`` strings) the model was trained on — a list (role
    ``train``), ``(dataset, role)`` pairs, or a mapping role → dataset. The
    producing run is ``run`` or the active run; its pipeline run, git commit and
    dataset inputs are recorded too. ``flavor`` is detected from the model's
    class unless given (``python`` — cloudpickle — is never chosen on its own).
    ``init_kwargs`` are the keyword arguments that rebuild a PyTorch module.
    """
    ws = workspace or open_workspace()
    check_model_name(name)
    flavor_name = flavor or detect_flavor(model)
    implementation = get_flavor(flavor_name)
    checked_metrics = _check_metrics(metrics or {})
    uses = _dataset_uses(datasets, ws)
    saved = implementation.save(model, {"init_kwargs": init_kwargs})
    if signature is None and input_example is not None:
        signature = _infer(implementation.wrap(model, saved), input_example)
    live_run, run_id = _producing_run(run)
    pipeline_run_id, git_commit, git_dirty, run_uses = _provenance(run_id, ws)
    uses = _merge_uses(uses, run_uses)
    digest, size = _store_files(ws, saved)
    requirements = implementation.requirements()
    version_id = new_id()
    now = now_ms()
    actor = current_actor()

    def work(session: Session) -> int:
        model_row = lock_model(session, ws.project, name, now, create=True)
        assert model_row is not None
        number = (
            session.scalar(
                select(func.max(ModelVersionRow.version)).where(
                    ModelVersionRow.model_id == model_row.id
                )
            )
            or 0
        ) + 1
        model_row.updated = now
        session.add(
            ModelVersionRow(
                id=version_id,
                model_id=model_row.id,
                version=number,
                flavor=flavor_name,
                artifact_digest=digest,
                artifact_size=size,
                flavor_meta=orjson.dumps(saved.meta).decode(),
                signature=orjson.dumps(signature.to_dict()).decode() if signature else None,
                metrics=orjson.dumps(checked_metrics).decode(),
                requirements=orjson.dumps(requirements).decode(),
                run_id=run_id,
                pipeline_run_id=pipeline_run_id,
                git_commit=git_commit,
                git_dirty=git_dirty,
                description=description,
                created=now,
                created_by=actor,
            )
        )
        session.flush()
        if uses:
            session.execute(
                insert(ModelVersionDatasetRow),
                [{"version_id": version_id, "ref": u.ref, "role": u.role} for u in uses],
            )
        return number

    number = ws.store.write(work)
    if live_run is not None:
        live_run.link("output", "model", f"{name}/{number}", "registered")
    return ModelVersion(
        id=version_id,
        name=name,
        version=number,
        flavor=flavor_name,
        signature=signature,
        metrics=checked_metrics,
        datasets=uses,
        requirements=tuple(requirements),
        aliases=(),
        run_id=run_id,
        pipeline_run_id=pipeline_run_id,
        git_commit=git_commit,
        git_dirty=git_dirty,
        description=description,
        created=now,
        created_by=actor,
        artifact_digest=digest,
        artifact_size=size,
        flavor_meta=dict(saved.meta),
    )


def _infer(predictor: Any, input_example: Any) -> Signature:
    frame = as_frame(input_example)
    head = frame.head(EXAMPLE_ROWS)
    output = predictor.predict(head)
    return infer_signature(frame, output, classes=predictor.classes, has_proba=predictor.has_proba)


def _check_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    checked = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise InvalidValue(f"metric name: expected a non-empty string, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, Real):
            raise InvalidValue(f"metric {key!r}: expected a number, got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):
            raise InvalidValue(f"metric {key!r}: expected a finite number, got {number}")
        checked[key] = number
    return checked


def _dataset_uses(
    datasets: Iterable[Any] | Mapping[str, Any] | None, ws: Workspace
) -> tuple[DatasetUse, ...]:
    if datasets is None:
        return ()
    if isinstance(datasets, Mapping):
        pairs = [(item, str(role)) for role, item in datasets.items()]
    elif isinstance(datasets, (str, bytes)) or hasattr(datasets, "ref"):
        pairs = [(datasets, "train")]
    else:
        pairs = []
        for entry in datasets:
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
                pairs.append((entry[0], entry[1]))
            else:
                pairs.append((entry, "train"))
    return _merge_uses((), tuple(DatasetUse(dataset_ref(item, ws), role) for item, role in pairs))


def _merge_uses(
    first: tuple[DatasetUse, ...], second: tuple[DatasetUse, ...]
) -> tuple[DatasetUse, ...]:
    seen: dict[tuple[str, str], DatasetUse] = {}
    for use in (*first, *second):
        seen.setdefault((use.ref, use.role), use)
    return tuple(seen.values())


def _producing_run(run: Any) -> tuple[Any, str | None]:
    """The live run to link the new version to (if any) and the producing run's id."""
    from ladder.tracking import active_run

    if run is None:
        live = active_run()
        return live, live.id if live is not None else None
    if isinstance(run, str):
        return None, run
    run_id = getattr(run, "id", None)
    if not isinstance(run_id, str):
        raise InvalidValue(f"run: expected a Run or a run id, got {type(run).__name__}")
    return (run if callable(getattr(run, "link", None)) else None), run_id


def _provenance(
    run_id: str | None, ws: Workspace
) -> tuple[str | None, str | None, bool | None, tuple[DatasetUse, ...]]:
    """(pipeline run id, git commit, dirty, datasets the run and its pipeline read)."""
    from ladder.tracking import capture_git, get_run, run_links

    if run_id is None:
        git = capture_git(ws.settings.root)
        return None, git.commit if git else None, git.dirty if git else None, ()
    try:
        info = get_run(run_id, workspace=ws)
    except RunNotFound:
        raise InvalidValue(
            f"run {run_id!r}: no such run to record as the model's producer"
        ) from None
    chain = [info]
    while chain[-1].parent_id is not None and len(chain) < 16:
        chain.append(get_run(chain[-1].parent_id, workspace=ws))
    pipeline = next((r for r in chain if r.kind == "pipeline"), None)
    uses = tuple(
        DatasetUse(link.ref, link.role or "input")
        for r in chain
        for link in run_links(r.id, kind="dataset", workspace=ws)
        if link.direction == "input"
    )
    return pipeline.id if pipeline else None, info.git_commit, info.git_dirty, uses


def _store_files(ws: Workspace, saved: SavedModel) -> tuple[str, int]:
    entries = []
    for file_name, data in sorted(saved.files.items()):
        stored = ws.artifacts.put_bytes(data)
        entries.append(ManifestEntry(file_name, stored.digest, stored.size))
    manifest = Manifest(tuple(entries))
    stored = ws.artifacts.put_bytes(manifest.to_bytes())
    return stored.digest, manifest.size


def lock_model(
    session: Session, project: str, name: str, now: int, *, create: bool = False
) -> RegisteredModelRow | None:
    """The model's row, locked for the rest of the transaction (PostgreSQL ``FOR UPDATE``;
    SQLite write transactions are already exclusive)."""
    if create:
        session.execute(
            upsert(session, RegisteredModelRow)
            .values(id=new_id(), project=project, name=name, created=now, updated=now)
            .on_conflict_do_nothing(index_elements=["project", "name"])
        )
    return session.scalars(
        select(RegisteredModelRow)
        .where(RegisteredModelRow.project == project, RegisteredModelRow.name == name)
        .with_for_update()
    ).one_or_none()


# -- reading -------------------------------------------------------------------------------


def model_row(session: Session, project: str, name: str) -> RegisteredModelRow:
    """The registered model ``name``, or ``ModelNotFound`` listing the models there are."""
    row = session.scalars(
        select(RegisteredModelRow).where(
            RegisteredModelRow.project == project, RegisteredModelRow.name == name
        )
    ).one_or_none()
    if row is None:
        names = session.scalars(
            select(RegisteredModelRow.name)
            .where(RegisteredModelRow.project == project)
            .order_by(RegisteredModelRow.name)
            .limit(21)
        ).all()
        listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise ModelNotFound(
            f"model {name!r}: not registered in project {project!r}; "
            f"{'models: ' + listed if names else 'no models are registered yet'}"
        )
    return row


def version_row(
    session: Session, project: str, uri: ModelURI
) -> tuple[RegisteredModelRow, ModelVersionRow]:
    """Resolve a parsed URI to its model and version rows (one indexed lookup each)."""
    model = model_row(session, project, uri.name)
    if uri.version is not None:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.model_id == model.id, ModelVersionRow.version == uri.version
            )
        ).one_or_none()
        if row is None:
            raise ModelNotFound(
                f"model version {uri}: {uri.name} has {_describe_versions(session, model.id)}"
            )
        return model, row
    if uri.is_latest:
        row = session.scalars(
            select(ModelVersionRow)
            .where(ModelVersionRow.model_id == model.id)
            .order_by(ModelVersionRow.version.desc())
            .limit(1)
        ).one_or_none()
        if row is None:
            raise ModelNotFound(f"model {uri.name!r}: has no versions")
        return model, row
    row = session.scalars(
        select(ModelVersionRow)
        .join(ModelAliasRow, ModelAliasRow.version_id == ModelVersionRow.id)
        .where(ModelAliasRow.model_id == model.id, ModelAliasRow.alias == uri.alias)
    ).one_or_none()
    if row is None:
        existing = aliases_of(session, model.id)
        listed = ", ".join(f"{a} -> {v}" for a, v in sorted(existing.items()))
        raise AliasNotFound(
            f"alias {uri}: {uri.name} has no alias {uri.alias!r}; "
            f"{'its aliases are ' + listed if existing else 'it has no aliases'} "
            f"(or use {uri.name}@latest)"
        )
    return model, row


def _describe_versions(session: Session, model_id: str) -> str:
    low, high, count = session.execute(
        select(
            func.min(ModelVersionRow.version),
            func.max(ModelVersionRow.version),
            func.count(),
        ).where(ModelVersionRow.model_id == model_id)
    ).one()
    if not count:
        return "no versions"
    return f"versions {low}-{high}" if low != high else f"only version {low}"


def aliases_of(session: Session, model_id: str) -> dict[str, int]:
    """Alias -> version number, for one model."""
    rows = session.execute(
        select(ModelAliasRow.alias, ModelVersionRow.version)
        .join(ModelVersionRow, ModelVersionRow.id == ModelAliasRow.version_id)
        .where(ModelAliasRow.model_id == model_id)
    ).all()
    return {alias: version for alias, version in rows}


def hydrate(session: Session, model: RegisteredModelRow, row: ModelVersionRow) -> ModelVersion:
    uses = session.execute(
        select(ModelVersionDatasetRow.ref, ModelVersionDatasetRow.role).where(
            ModelVersionDatasetRow.version_id == row.id
        )
    ).all()
    aliases = session.scalars(
        select(ModelAliasRow.alias)
        .where(ModelAliasRow.version_id == row.id)
        .order_by(ModelAliasRow.alias)
    ).all()
    return ModelVersion(
        id=row.id,
        name=model.name,
        version=row.version,
        flavor=row.flavor,
        signature=Signature.from_dict(orjson.loads(row.signature)) if row.signature else None,
        metrics=orjson.loads(row.metrics),
        datasets=tuple(DatasetUse(ref, role) for ref, role in uses),
        requirements=tuple(orjson.loads(row.requirements)),
        aliases=tuple(aliases),
        run_id=row.run_id,
        pipeline_run_id=row.pipeline_run_id,
        git_commit=row.git_commit,
        git_dirty=row.git_dirty,
        description=row.description,
        created=row.created,
        created_by=row.created_by,
        artifact_digest=row.artifact_digest,
        artifact_size=row.artifact_size,
        flavor_meta=orjson.loads(row.flavor_meta),
    )


def get_model_version(uri: str, workspace: Workspace | None = None) -> ModelVersion:
    """The version ``uri`` names: ``name/3``, ``name@alias`` or ``name@latest``."""
    ws = workspace or open_workspace()
    parsed = parse_model_uri(uri)
    with ws.store.read() as session:
        model, row = version_row(session, ws.project, parsed)
        return hydrate(session, model, row)


def resolve_uri(uri: str, workspace: Workspace | None = None) -> str:
    """The fixed ``name/N`` that ``uri`` points at now (one indexed query; for serving)."""
    ws = workspace or open_workspace()
    parsed = parse_model_uri(uri)
    if parsed.version is not None:
        return str(parsed)
    with ws.store.read() as session:
        _, row = version_row(session, ws.project, parsed)
        return f"{parsed.name}/{row.version}"


def list_versions(name: str, workspace: Workspace | None = None) -> list[ModelVersion]:
    """Every version of model ``name``, newest first."""
    ws = workspace or open_workspace()
    check_model_name(name)
    with ws.store.read() as session:
        model = model_row(session, ws.project, name)
        rows = session.scalars(
            select(ModelVersionRow)
            .where(ModelVersionRow.model_id == model.id)
            .order_by(ModelVersionRow.version.desc())
        ).all()
        return [hydrate(session, model, row) for row in rows]


def list_models(workspace: Workspace | None = None) -> list[RegisteredModel]:
    """The registered models of the current project, by name."""
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        models = session.scalars(
            select(RegisteredModelRow)
            .where(RegisteredModelRow.project == ws.project)
            .order_by(RegisteredModelRow.name)
        ).all()
        stats = {
            model_id: (latest, count)
            for model_id, latest, count in session.execute(
                select(
                    ModelVersionRow.model_id,
                    func.max(ModelVersionRow.version),
                    func.count(),
                ).group_by(ModelVersionRow.model_id)
            )
        }
        alias_rows = session.execute(
            select(ModelAliasRow.model_id, ModelAliasRow.alias, ModelVersionRow.version).join(
                ModelVersionRow, ModelVersionRow.id == ModelAliasRow.version_id
            )
        ).all()
    aliases: dict[str, dict[str, int]] = {}
    for model_id, alias, version in alias_rows:
        aliases.setdefault(model_id, {})[alias] = version
    return [
        RegisteredModel(
            name=m.name,
            description=m.description,
            latest_version=stats.get(m.id, (None, 0))[0],
            version_count=stats.get(m.id, (None, 0))[1],
            aliases=dict(sorted(aliases.get(m.id, {}).items())),
            created=m.created,
            updated=m.updated,
        )
        for m in models
    ]


def same_model(uri: ModelURI, name: str, what: str) -> None:
    """Refuse ``uri`` when it names a version of a model other than ``name``."""
    if uri.name != name:
        raise ModelNameMismatch(
            f"{what}: {uri} is a version of model {uri.name!r}, not of {name!r}; "
            "aliases and gates only compare versions of one model"
        )
