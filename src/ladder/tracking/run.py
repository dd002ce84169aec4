"""Runs: the object a script logs to, and the stack of active runs."""

from __future__ import annotations

import atexit
import contextlib
import functools
import mimetypes
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ladder import run_context
from ladder.artifacts.paths import check_artifact_name
from ladder.errors import ParamConflict, RunNotActive
from ladder.ids import new_id
from ladder.tracking.environment import (
    Invocation,
    capture_environment,
    capture_git,
    capture_invocation,
)
from ladder.tracking.keys import check_key, metric_value, param_text, tag_text, valid_keys
from ladder.tracking.models import ArtifactRow, ParamRow, RunLinkRow, RunRow, TagRow
from ladder.tracking.writer import MetricWriter, driver_sql, insert_rows, writer_for
from ladder.workspace import Workspace, open_workspace, workspace_of

TERMINAL_STATUSES = ("finished", "failed", "killed", "crashed")


def _now_ms() -> int:
    return int(time.time() * 1000)


class RunKilled(SystemExit):
    """Raised in the main thread when the process receives SIGTERM during a run."""


class Run:
    """A live run. Use it as a context manager, or call ``end()``."""

    def __init__(self, workspace: Workspace, run_id: str, name: str, project: str) -> None:
        self.workspace = workspace
        self.id = run_id
        self.name = name
        self.project = project
        self.status = "running"
        self._writer: MetricWriter = writer_for(workspace.store)
        self._steps: dict[str, int] = {}
        self._params: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.project}/{self.name} {self.status}>"

    # -- context manager -------------------------------------------------------
    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, (KeyboardInterrupt, RunKilled)):
            self.end("killed")
        elif issubclass(exc_type, SystemExit) and getattr(exc, "code", 1) in (0, None):
            self.end("finished")
        else:
            self.end("failed")

    def _check_active(self) -> None:
        if self.status != "running":
            raise RunNotActive(f"run {self.id} has ended (status {self.status}); start a new run")

    # -- params and tags -------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params; a param is immutable: a different value raises ``ParamConflict``."""
        self._check_active()
        texts = _param_texts(params)
        with self._lock:
            new = {}
            for key, text in texts.items():
                known = self._params.get(key)
                if known is None:
                    new[key] = text
                elif known != text:
                    raise _conflict(self.id, key, known, text)
            if new:
                self.workspace.store.write(
                    lambda session: _insert_params(session, self.id, new, fresh_run=False)
                )
                self._params.update(new)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (mutable labels; setting a key again replaces its value)."""
        rows = _tag_rows(self.id, tags)
        if rows:
            self.workspace.store.write(lambda session: _upsert_tags(session, rows))

    # -- metrics ---------------------------------------------------------------
    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: float | None = None
    ) -> None:
        """Buffer one point. ``step`` defaults to the key's previous step + 1 (from 0)."""
        self._check_active()
        check_key(key, "metric")
        number = _stored_value(key, value)
        self._writer.add((self.id, key, self._next_step(key, step), _timestamp(timestamp), number))

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: float | None = None
    ) -> None:
        """Buffer several points at one step."""
        self._check_active()
        stamp = _timestamp(timestamp)
        run_id = self.id
        if step is None:
            # Every key and value is checked before any step moves.
            numbers = {
                check_key(key, "metric"): _stored_value(key, value)
                for key, value in metrics.items()
            }
            points = [
                (run_id, key, self._next_step(key, None), stamp, number)
                for key, number in numbers.items()
            ]
        else:
            _check_step("log_metrics", step)
            # The hot path of batch logging: known keys and plain floats skip the calls.
            points = [
                (
                    run_id,
                    key if key in valid_keys else check_key(key, "metric"),
                    step,
                    stamp,
                    value if type(value) is float and value == value else _stored_value(key, value),
                )
                for key, value in metrics.items()
            ]
            self._steps.update(dict.fromkeys(metrics, step))
        self._writer.add_many(points)

    def _next_step(self, key: str, step: int | None) -> int:
        if step is None:
            step = self._steps.get(key, -1) + 1
        else:
            _check_step(f"metric {key!r}", step)
        self._steps[key] = step
        return step

    def flush(self) -> None:
        """Write buffered metric points now."""
        self._writer.flush()

    # -- artifacts -------------------------------------------------------------
    def log_artifact(self, path: str | Path, name: str | None = None) -> str:
        """Store a file or folder under ``name`` (default: its base name); return the digest."""
        self._check_active()
        source = Path(path)
        if not source.exists():
            raise FileNotFoundError(f"artifact path {source}: no such file or directory")
        name = check_artifact_name(name if name is not None else source.name)
        if source.is_dir():
            stored, _ = self.workspace.artifacts.put_dir(source)
            kind, media = "dir", "inode/directory"
        else:
            stored = self.workspace.artifacts.put_file(source)
            kind = "file"
            media = _media_type(name)
        self._record_artifact(name, stored.digest, stored.size, media, kind)
        return stored.digest

    def log_bytes(self, data: bytes, name: str, media_type: str | None = None) -> str:
        self._check_active()
        name = check_artifact_name(name)
        stored = self.workspace.artifacts.put_bytes(data)
        media = media_type or _media_type(name)
        self._record_artifact(name, stored.digest, stored.size, media, "file")
        return stored.digest

    def log_text(self, text: str, name: str) -> str:
        return self.log_bytes(text.encode(), name, "text/plain")

    def log_dict(self, data: Any, name: str) -> str:
        """Store a JSON-serialisable object as a JSON artifact."""
        try:
            payload = orjson.dumps(
                data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS
            )
        except TypeError as exc:
            raise TypeError(f"log_dict {name!r}: value is not JSON-serialisable: {exc}") from None
        return self.log_bytes(payload, name, "application/json")

    def log_figure(self, figure: Any, name: str) -> str:
        """Store a matplotlib figure (PNG/SVG/PDF by suffix) or a Plotly figure (HTML or JSON)."""
        suffix = Path(name).suffix.lower()
        module = type(figure).__module__
        with tempfile.TemporaryDirectory(prefix="ladder-fig-") as folder:
            target = Path(folder) / Path(name).name
            if module.startswith("matplotlib"):
                if suffix not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
                    raise ValueError(
                        f"log_figure {name!r}: a matplotlib figure needs a .png, .svg, .pdf "
                        f"or .jpg name, got {suffix or 'no suffix'}"
                    )
                figure.savefig(target)
            elif module.startswith("plotly"):
                if suffix == ".html":
                    figure.write_html(target, include_plotlyjs=True, full_html=True)
                elif suffix == ".json":
                    target.write_text(figure.to_json())
                else:
                    raise ValueError(
                        f"log_figure {name!r}: a Plotly figure needs a .html or .json name, "
                        f"got {suffix or 'no suffix'}"
                    )
            else:
                raise TypeError(
                    f"log_figure {name!r}: expected a matplotlib or Plotly figure, "
                    f"got {type(figure).__module__}.{type(figure).__name__}"
                )
            return self.log_artifact(target, name)

    def _record_artifact(self, name: str, digest: str, size: int, media: str, kind: str) -> None:
        row = (self.id, name, digest, size, media, kind, _now_ms())
        self.workspace.store.write(lambda session: _upsert_artifacts(session, [row]))

    # -- lineage ---------------------------------------------------------------
    def link(self, direction: str, kind: str, ref: str, role: str = "") -> None:
        """Record that this run read (``input``) or wrote (``output``) the object ``kind:ref``."""
        rows = _link_rows(self.id, [Link(direction, kind, ref, role)], _now_ms())
        self.workspace.store.write(lambda session: _upsert_links(session, rows))

    def use_dataset(self, dataset: Any, role: str = "input") -> None:
        """Record a dataset version (anything with a ``ref`` such as ``loans@<id>``) as an input."""
        ref = getattr(dataset, "ref", dataset)
        if not isinstance(ref, str):
            raise TypeError(
                f"use_dataset: expected a dataset version or a 'name@version' string, "
                f"got {type(dataset).__name__}"
            )
        self.link("input", "dataset", ref, role)

    # -- end -------------------------------------------------------------------
    def end(
        self,
        status: str = "finished",
        *,
        links: Sequence[Link] = (),
        artifacts: Sequence[StoredArtifact] = (),
        also: Callable[[Session], Any] | None = None,
    ) -> None:
        """Flush buffered points and mark the run ended with ``status``.

        ``links`` (say, the outputs it wrote), ``artifacts`` (contents already in
        the artifact store, recorded under their names) and whatever
        ``also(session)`` writes go in the same transaction.
        """
        if self.status != "running":
            return
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"run status: expected one of {TERMINAL_STATUSES}, got {status!r}")
        now = _now_ms()
        link_rows = _link_rows(self.id, links, now)
        artifact_rows = []
        for artifact in artifacts:
            name = check_artifact_name(artifact.name)
            row = (self.id, name, artifact.digest, artifact.size, _media_type(name), "file", now)
            artifact_rows.append(row)

        def finish(session: Session) -> None:
            if link_rows:
                _upsert_links(session, link_rows)
            if artifact_rows:
                _upsert_artifacts(session, artifact_rows)
            _finish(session.connection(), self.id, status, now)
            if also is not None:
                also(session)

        try:
            # The last points and the end status in one transaction.
            self._writer.flush(then=finish)
        except Exception:
            self.workspace.store.write(finish)
            raise
        finally:
            self._writer.untrack(self.id)
            self.status = status
            _active.remove(self)

    def release(self) -> None:
        """Flush buffered points and stop being this process's active run, leaving it running.

        For a run another process opened and will end (a pipeline step computed
        in a worker process): the points logged here are written before the
        owner ends the run.
        """
        try:
            self._writer.flush()
        finally:
            self._writer.untrack(self.id)
            _active.remove(self)


def _timestamp(timestamp: float | None) -> int:
    return _now_ms() if timestamp is None else int(timestamp * 1000)


def _stored_value(key: str, value: Any) -> float | None:
    """The value of a metric point as stored: a float, or None for NaN."""
    number = value if type(value) is float else float(metric_value(key, value))
    return None if number != number else number  # only NaN differs from itself


def _check_step(what: str, step: Any) -> None:
    if not isinstance(step, int) or isinstance(step, bool):
        raise TypeError(f"{what}: step must be an int, got {type(step).__name__}")


def _param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    return {check_key(k, "param"): param_text(k, v) for k, v in params.items()}


def _tag_rows(run_id: str, tags: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(run_id, check_key(k, "tag"), tag_text(k, v)) for k, v in tags.items()]


_KEY_VALUE = ("run_id", "key", "value")


def _insert_params(session: Session, run_id: str, texts: dict[str, str], fresh_run: bool) -> None:
    """Store params; for a run that may have them already, a different stored value is a conflict.

    One INSERT that skips keys already stored; only when it skipped some are they read back.
    """
    rows = [(run_id, key, text) for key, text in texts.items()]
    if fresh_run:
        insert_rows(session.connection(), "params", _KEY_VALUE, rows)
        return
    inserted = insert_rows(
        session.connection(), "params", _KEY_VALUE, rows, "ON CONFLICT (run_id, key) DO NOTHING"
    )
    if inserted == len(rows):
        return
    stored = session.execute(
        select(ParamRow.key, ParamRow.value).where(
            ParamRow.run_id == run_id, ParamRow.key.in_(list(texts))
        )
    )
    for key, value in stored:
        if value != texts[key]:
            # Raising rolls the whole INSERT back: params are stored all or none.
            raise _conflict(run_id, key, value, texts[key])


_FINISH = (
    "UPDATE runs SET status = ?, end_time = ?, heartbeat = ? WHERE id = ? AND status = 'running'"
)


def _finish(connection: Connection, run_id: str, status: str, now: int) -> bool:
    """Move the run from running to ``status``; False when it had already ended."""
    result = connection.exec_driver_sql(driver_sql(connection, _FINISH), (status, now, now, run_id))
    return bool(result.rowcount)


def _conflict(run_id: str, key: str, old: str, new: str) -> ParamConflict:
    return ParamConflict(
        f"param {key!r} of run {run_id} is already {old!r}; params are immutable, "
        f"got {new!r} (log it under another key, or start a new run)"
    )


def _upsert(
    session: Session,
    model: Any,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    update: tuple[str, ...],
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``model``'s table; on a primary-key
    conflict overwrite the ``update`` columns. One driver-level statement, its SQL cached."""
    if rows:
        connection = session.connection()
        insert_rows(
            connection, model.__tablename__, columns, rows, _on_conflict_update(model, update)
        )


def _upsert_artifacts(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    _upsert(
        session,
        ArtifactRow,
        _ARTIFACT_COLUMNS,
        rows,
        ("digest", "size", "media_type", "kind", "created"),
    )


def _media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _upsert_tags(session: Session, rows: Sequence[tuple[str, str, str]]) -> None:
    _upsert(session, TagRow, _KEY_VALUE, rows, ("value",))


def _upsert_links(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    _upsert(session, RunLinkRow, _LINK_COLUMNS, rows, ("role",))


@functools.cache
def _on_conflict_update(model: Any, update: tuple[str, ...]) -> str:
    keys = ", ".join(f'"{c.name}"' for c in model.__table__.primary_key.columns)
    assignments = ", ".join(f'"{name}" = excluded."{name}"' for name in update)
    return f"ON CONFLICT ({keys}) DO UPDATE SET {assignments}"


class _ActiveRuns:
    """The stack of runs started in this process and not yet ended."""

    def __init__(self) -> None:
        self._runs: list[Run] = []
        self._lock = threading.Lock()

    def push(self, run: Run) -> None:
        with self._lock:
            self._runs.append(run)

    def remove(self, run: Run) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._runs.remove(run)

    def top(self) -> Run | None:
        with self._lock:
            if self._runs:
                return self._runs[-1]
            foreign = run_context.foreign_run()
            if foreign is None:
                return None
            run = _adopt(foreign)
            self._runs.append(run)
        run_context.on_leave(run.release)
        return run

    def all(self) -> list[Run]:
        with self._lock:
            return list(self._runs)


def _adopt(foreign: run_context.ForeignRun) -> Run:
    """A live handle on a run another process opened: this process logs to it, its owner ends it."""
    ws = workspace_of(foreign.settings)
    with ws.store.read() as session:
        row = session.get(RunRow, foreign.run_id)
        if row is None or row.status != "running":
            state = "does not exist" if row is None else f"has ended ({row.status})"
            raise RunNotActive(f"run {foreign.run_id} {state}: it cannot be logged to")
        run = Run(ws, row.id, row.name, row.project)
        params = session.execute(
            select(ParamRow.key, ParamRow.value).where(ParamRow.run_id == row.id)
        )
        run._params.update({key: value for key, value in params})
    run._writer.track(run.id)
    return run


_active = _ActiveRuns()
_environments_written: set[tuple[str, str]] = set()  # (store, digest) this process has stored
_handlers_installed = False


def active_run() -> Run | None:
    """The innermost run started in this process and not yet ended."""
    return _active.top()


def require_active_run() -> Run:
    run = _active.top()
    if run is None:
        raise RunNotActive("no active run: call ladder.start_run() first")
    return run


def start_run(
    name: str | None = None,
    project: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    parent: Run | str | None = None,
    kind: str = "run",
    links: Sequence[Link] = (),
    workspace: Workspace | None = None,
    active: bool = True,
) -> Run:
    """Start a run: records git state, environment, command line, then returns the live run.

    ``params``, ``tags`` and ``links`` (say, the inputs it reads) are written with
    the run, in one transaction. ``active=False``: the run does not become this
    process's active run (code elsewhere works in it: a pipeline's worker process).
    """
    ws = workspace or open_workspace()
    parent_id = parent.id if isinstance(parent, Run) else parent
    if parent_id is None and kind == "run" and (outer := _active.top()) is not None:
        parent_id = outer.id
    record = _prepare(ws, name, project, kind, parent_id, params, tags, links, _now_ms())
    ws.store.write(record.write)
    _environments_written.add((ws.store.uri, record.env_row[0]))
    run = Run(ws, record.run_id, record.name, record.project)
    run._params.update(record.texts)
    run._writer.track(record.run_id)
    if active:
        _active.push(run)
    _install_handlers()
    return run


def record_run(
    name: str,
    project: str | None = None,
    *,
    status: str = "finished",
    start_time: int | None = None,
    end_time: int | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    parent: Run | str | None = None,
    kind: str = "run",
    links: Sequence[Link] = (),
    also: Callable[[Session, str], Any] | None = None,
    workspace: Workspace | None = None,
) -> str:
    """Record a run that has already ended (a pipeline step answered from the cache), whole.

    The run with its git state, environment, params, tags, links and end, and
    whatever ``also(session, run_id)`` writes, go in one transaction. Times are
    epoch milliseconds (default: now). Returns the run id.
    """
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"run status: expected one of {TERMINAL_STATUSES}, got {status!r}")
    ws = workspace or open_workspace()
    parent_id = parent.id if isinstance(parent, Run) else parent
    now = _now_ms()
    started = now if start_time is None else int(start_time)
    ended = now if end_time is None else int(end_time)
    record = _prepare(ws, name, project, kind, parent_id, params, tags, links, started)

    def work(session: Session) -> None:
        record.write(session)
        _finish(session.connection(), record.run_id, status, ended)
        if also is not None:
            also(session, record.run_id)

    ws.store.write(work)
    _environments_written.add((ws.store.uri, record.env_row[0]))
    return record.run_id


@dataclass(frozen=True)
class StoredArtifact:
    """Content already in the artifact store, to record as a run's artifact under ``name``."""

    name: str
    digest: str
    size: int


@dataclass(frozen=True)
class Link:
    """An object a run reads (``input``) or writes (``output``): ``kind:ref`` under ``role``."""

    direction: str
    kind: str
    ref: str
    role: str = ""


_LINK_COLUMNS = ("run_id", "direction", "kind", "ref", "role", "created")


def _link_rows(run_id: str, links: Sequence[Link], now: int) -> list[tuple[Any, ...]]:
    for link in links:
        if link.direction not in ("input", "output"):
            raise ValueError(
                f"link direction: expected 'input' or 'output', got {link.direction!r}"
            )
    return [(run_id, x.direction, x.kind, x.ref, x.role, now) for x in links]


@dataclass(frozen=True)
class _NewRun:
    """A run's rows, checked and built before any is written; ``write`` inserts them."""

    run_id: str
    name: str
    project: str
    texts: dict[str, str]
    run_row: tuple[Any, ...]
    env_row: tuple[str, str, str, str]
    environment_known: bool
    diff_row: tuple[Any, ...] | None
    tag_rows: list[tuple[str, str, str]]
    link_rows: list[tuple[Any, ...]]

    def write(self, session: Session) -> None:
        connection = session.connection()
        if not self.environment_known:
            insert_rows(
                connection,
                "environments",
                _ENVIRONMENT_COLUMNS,
                [self.env_row],
                "ON CONFLICT (digest) DO NOTHING",
            )
        insert_rows(connection, "runs", _RUN_COLUMNS, [self.run_row])
        if self.diff_row:
            insert_rows(connection, "artifacts", _ARTIFACT_COLUMNS, [self.diff_row])
        if self.texts:
            _insert_params(session, self.run_id, self.texts, fresh_run=True)
        if self.tag_rows:
            insert_rows(connection, "tags", _KEY_VALUE, self.tag_rows)
        if self.link_rows:
            _upsert_links(session, self.link_rows)


def _prepare(
    ws: Workspace,
    name: str | None,
    project: str | None,
    kind: str,
    parent_id: str | None,
    params: Mapping[str, Any] | None,
    tags: Mapping[str, Any] | None,
    links: Sequence[Link],
    now: int,
) -> _NewRun:
    """Check a new run's input and capture git, environment and command line."""
    project = project or ws.project
    check_key(project, "project")
    run_id = new_id()
    name = name or f"run-{run_id[-6:]}"
    if len(name) > 250:
        raise ValueError(f"run name: at most 250 characters, got {len(name)}")
    texts = _param_texts(params or {})
    tag_rows = _tag_rows(run_id, tags or {})
    link_rows = _link_rows(run_id, links, now)
    git = capture_git()
    env_digest, env_row = _environment_record()
    call = _invocation(git.root if git else None)
    run_row = (
        run_id,
        project,
        name,
        kind,
        "running",
        parent_id,
        now,
        now,
        call.user,
        call.host,
        call.pid,
        git.commit if git else None,
        git.branch if git else None,
        git.dirty if git else None,
        git.diff_digest if git else None,
        git.root if git else None,
        call.command,
        call.entry_point,
        call.cwd,
        env_digest,
    )
    diff_row = None
    if git and git.dirty:
        stored = ws.artifacts.put_bytes(git.diff)
        digest, size = stored.digest, stored.size
        diff_row = (run_id, "ladder/git.diff", digest, size, "text/x-diff", "file", now)
    return _NewRun(
        run_id,
        name,
        project,
        texts,
        run_row,
        env_row,
        (ws.store.uri, env_digest) in _environments_written,
        diff_row,
        tag_rows,
        link_rows,
    )


_RUN_COLUMNS = (
    "id",
    "project",
    "name",
    "kind",
    "status",
    "parent_id",
    "start_time",
    "heartbeat",
    "user",
    "host",
    "pid",
    "git_commit",
    "git_branch",
    "git_dirty",
    "git_diff_digest",
    "git_root",
    "command",
    "entry_point",
    "cwd",
    "environment_digest",
)
_ENVIRONMENT_COLUMNS = ("digest", "python", "platform", "packages")
_ARTIFACT_COLUMNS = ("run_id", "path", "digest", "size", "media_type", "kind", "created")


@functools.cache
def _environment_record() -> tuple[str, tuple[str, str, str, str]]:
    """This process's environment: its digest and its ``environments`` row (computed once)."""
    env = capture_environment()
    packages = orjson.dumps(list(env.packages)).decode()
    return env.digest, (env.digest, env.python, env.platform, packages)


@functools.lru_cache(maxsize=16)
def _invocation_in(pid: int, cwd: str, argv: tuple[str, ...], git_root: str | None) -> Invocation:
    return capture_invocation(git_root)


def _invocation(git_root: str | None) -> Invocation:
    """How this process was started; read again only when the process, folder or argv change."""
    return _invocation_in(os.getpid(), os.getcwd(), tuple(sys.argv), git_root)


def end_run_by_id(
    run_id: str,
    status: str,
    *,
    tags: Mapping[str, Any] | None = None,
    workspace: Workspace | None = None,
) -> bool:
    """End a run that its own process can no longer end (a killed worker's run).

    Sets ``tags`` and moves the run from ``running`` to ``status`` in one
    transaction; returns False when the run had already ended.
    """
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"run status: expected one of {TERMINAL_STATUSES}, got {status!r}")
    ws = workspace or open_workspace()
    rows = _tag_rows(run_id, tags or {})
    now = _now_ms()

    def work(session: Session) -> bool:
        if rows:
            _upsert_tags(session, rows)
        return _finish(session.connection(), run_id, status, now)

    return ws.store.write(work)


def _install_handlers() -> None:
    """At exit, end runs left open; on SIGTERM, mark live runs killed before the process ends."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_end_open_runs)
    previous_hook = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        for run in _active.all():
            run.end("killed" if issubclass(exc_type, KeyboardInterrupt) else "failed")
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current in (signal.SIG_DFL, None):

            def on_sigterm(signum: int, frame: FrameType | None) -> None:
                for run in _active.all():
                    run.end("killed")
                raise RunKilled(128 + signum)

            signal.signal(signal.SIGTERM, on_sigterm)


def _end_open_runs() -> None:
    for run in reversed(_active.all()):
        # The interpreter is exiting: there is no caller left to report a failure to.
        with contextlib.suppress(Exception):
            run.end("finished")
