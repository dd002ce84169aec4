"""The prediction log: Parquet parts in the artifact store, read back by time, labels joined."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from ladder.errors import InvalidValue
from ladder.ids import new_id
from ladder.serving import log_labels, predictions
from ladder.serving.models import PredictionLogPartRow
from ladder.serving.prediction_log import LogChunk, PredictionLogWriter
from ladder.workspace import Workspace, open_workspace


def chunk(
    rows: int = 3,
    at: datetime | None = None,
    variant: str = "primary",
    version: int = 1,
    ids: list[str] | None = None,
) -> LogChunk:
    moment = at or datetime.now(timezone.utc)
    micros = int(moment.timestamp() * 1_000_000)
    inputs = pd.DataFrame({"age": np.arange(rows, dtype="float64"), "city": ["x"] * rows})
    proba = np.tile([0.25, 0.75], (rows, 1))
    return LogChunk(
        request_ids=ids or [new_id(micros // 1000) for _ in range(rows)],
        timestamps_us=[micros] * rows,
        latency_ms=[1.5] * rows,
        variant=variant,
        model="loans",
        model_version=version,
        inputs=inputs,
        predictions=np.ones(rows, dtype="int64"),
        proba=proba,
        classes=(0, 1),
    )


def parts(ws: Workspace) -> list[PredictionLogPartRow]:
    with ws.store.read() as session:
        return list(session.scalars(select(PredictionLogPartRow)).all())


def test_flushed_rows_read_back_with_the_contract_columns(workspace: Workspace) -> None:
    writer = PredictionLogWriter(workspace, "loans-prod", flush_seconds=60)
    writer.append(chunk(3))
    writer.append(chunk(2, variant="canary", version=2))
    assert predictions("loans-prod", workspace=workspace).empty  # nothing flushed yet
    writer.close()
    frame = predictions("loans-prod", workspace=workspace)
    assert list(frame.columns) == [
        "request_id",
        "timestamp",
        "deployment",
        "variant",
        "model",
        "model_version",
        "latency_ms",
        "input.age",
        "input.city",
        "prediction",
        "proba.0",
        "proba.1",
        "label",
    ]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["model_version"].tolist() == [1, 1, 1, 2, 2]
    assert frame["variant"].tolist() == ["primary"] * 3 + ["canary"] * 2
    assert frame["proba.1"].tolist() == [0.75] * 5 and frame["label"].isna().all()
    assert predictions("loans-prod", variant="canary", workspace=workspace).shape[0] == 2
    assert len(parts(workspace)) == 1


def test_array_inputs_are_logged_like_the_frame_they_came_from(
    sqlite_workspace: Workspace,
) -> None:
    inputs = pd.DataFrame({"age": [30.0, 41.5], "income": [1.0, 2.5]})
    schema = (("age", "income"), ("float64", "float64"))
    writer = PredictionLogWriter(sqlite_workspace, "d", flush_seconds=60)
    for kind, given in (("frame", inputs), ("array", inputs.to_numpy())):
        writer.append(
            LogChunk(
                request_ids=[f"{kind}-0", f"{kind}-1"],
                timestamps_us=[1_700_000_000_000_000] * 2,
                latency_ms=[1.0, 1.0],
                variant="primary",
                model="loans",
                model_version=1,
                inputs=given,
                predictions=np.array([0, 1]),
                input_schema=schema if kind == "array" else None,
            )
        )
    writer.close()
    frame = predictions("d", workspace=sqlite_workspace).set_index("request_id")
    logged = frame[["input.age", "input.income"]]
    assert logged.loc[["frame-0", "frame-1"]].to_numpy().tolist() == inputs.to_numpy().tolist()
    assert logged.loc[["array-0", "array-1"]].to_numpy().tolist() == inputs.to_numpy().tolist()
    assert len(parts(sqlite_workspace)) == 1  # one schema: the two chunks share one part


@pytest.mark.parametrize(
    ("inputs", "schema"),
    [
        (np.zeros((2, 2)), None),
        (np.zeros((2, 3)), (("age", "income"), ("float64", "float64"))),
        (np.zeros((2, 2), dtype="int64"), (("age", "income"), ("float64", "float64"))),
        (np.zeros((2, 2)), (("age", "city"), ("float64", "object"))),
    ],
)
def test_array_inputs_need_a_schema_of_float64_columns_that_fits(
    inputs: np.ndarray, schema: tuple[tuple[str, ...], tuple[str, ...]] | None
) -> None:
    with pytest.raises(ValueError, match="expected a DataFrame, or a float64 array of 2 rows"):
        LogChunk(
            ["a", "b"],
            [0, 0],
            [1.0, 1.0],
            "primary",
            "m",
            1,
            inputs,
            np.zeros(2),
            None,
            None,
            schema,
        )


def test_an_empty_log_has_the_base_columns(sqlite_workspace: Workspace) -> None:
    frame = predictions("never-served", workspace=sqlite_workspace)
    assert frame.empty and {"request_id", "timestamp", "prediction", "label"} <= set(frame.columns)


def test_parts_are_written_every_n_rows_by_the_background_thread(
    sqlite_workspace: Workspace,
) -> None:
    writer = PredictionLogWriter(sqlite_workspace, "d", flush_rows=5, flush_seconds=60)
    # Two chunks at a time, each pair crossing flush_rows, so that the thread cannot take
    # a buffer of 9 rows and leave 3 (under the threshold) for flush_seconds.
    for written in (6, 12):
        writer.append(chunk(3))
        writer.append(chunk(3))
        deadline = time.monotonic() + 10
        while writer.stats.rows_written < written and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.stats.rows_written == written  # by the thread, long before flush_seconds
    writer.close()
    assert predictions("d", workspace=sqlite_workspace).shape[0] == 12


def test_parts_are_written_every_t_seconds(sqlite_workspace: Workspace) -> None:
    writer = PredictionLogWriter(sqlite_workspace, "d", flush_seconds=0.2)
    writer.append(chunk(2))
    deadline = time.monotonic() + 10
    while writer.stats.rows_written < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer.stats.rows_written == 2
    writer.close()


def test_since_and_until_filter_rows_and_skip_older_parts(sqlite_workspace: Workspace) -> None:
    old = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    new = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    for moment in (old, new):
        writer = PredictionLogWriter(sqlite_workspace, "d", flush_seconds=60)
        writer.append(chunk(2, at=moment))
        writer.close()
    paths = sorted(p.path for p in parts(sqlite_workspace))
    assert paths[0].startswith("predictions/d/date=2024-01-01/hour=12/")
    recent = predictions("d", since="2024-02-01", workspace=sqlite_workspace)
    assert recent["timestamp"].min() == pd.Timestamp(new)
    assert recent.shape[0] == 2
    early = predictions("d", until=datetime(2024, 2, 1), workspace=sqlite_workspace)
    assert early.shape[0] == 2 and early["timestamp"].max() == pd.Timestamp(old)
    assert predictions("d", since=timedelta(days=1), workspace=sqlite_workspace).empty
    with pytest.raises(InvalidValue, match="time bound"):
        predictions("d", since="yesterday-ish", workspace=sqlite_workspace)


def test_labels_join_by_request_id_and_the_latest_label_wins(workspace: Workspace) -> None:
    logged = chunk(3, ids=["r1", "r2", "r3"])
    writer = PredictionLogWriter(workspace, "d", flush_seconds=60)
    writer.append(logged)
    writer.close()
    receipt = log_labels(["r1", "r2", "ghost"], [0, 1, 1], deployment="d", workspace=workspace)
    assert (receipt.stored, receipt.unknown, receipt.unknown_ids) == (3, 1, ("ghost",))
    log_labels(["r1"], [1], workspace=workspace)  # no deployment: joins everywhere; newer wins
    frame = predictions("d", workspace=workspace).set_index("request_id")
    assert frame.loc["r1", "label"] == 1 and frame.loc["r2", "label"] == 1
    assert pd.isna(frame.loc["r3", "label"])


def test_unknown_ids_are_found_among_many_parts_by_their_time(sqlite_workspace: Workspace) -> None:
    writer = PredictionLogWriter(sqlite_workspace, "d", flush_seconds=60)
    old = datetime.now(timezone.utc) - timedelta(days=30)
    old_chunk = chunk(2, at=old)
    writer.append(old_chunk)
    writer.flush()
    recent = chunk(2)
    writer.append(recent)
    writer.close()
    receipt = log_labels(
        [*old_chunk.request_ids, *recent.request_ids, new_id()],
        [1, 0, 1, 0, 1],
        deployment="d",
        workspace=sqlite_workspace,
    )
    assert receipt.unknown == 1


@pytest.mark.parametrize(
    ("ids", "labels", "message"),
    [
        (["a"], [1, 2], "one label per request id"),
        ([], [], "at least one"),
        ([""], [1], "non-empty string"),
        (["a"], [None], "number, string or boolean"),
        (["a"], [float("nan")], "number, string or boolean"),
        ("abc", [1, 2, 3], "must be lists"),
    ],
)
def test_malformed_labels_are_refused(
    sqlite_workspace: Workspace, ids: list[str], labels: list[object], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        log_labels(ids, labels, workspace=sqlite_workspace)


def test_the_log_lives_in_an_s3_artifact_store(
    isolated: Path, s3_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LADDER_ARTIFACT_URI", s3_uri)
    ws = open_workspace(isolated)
    writer = PredictionLogWriter(ws, "d", flush_seconds=60)
    writer.append(chunk(4, ids=["a", "b", "c", "d"]))
    writer.close()
    log_labels(["a"], ["yes"], deployment="d", workspace=ws)
    frame = predictions("d", workspace=ws)
    assert frame.shape[0] == 4 and frame["label"].tolist()[0] == "yes"
    assert not (isolated / ".ladder" / "artifacts" / "objects").exists() or not any(
        (isolated / ".ladder" / "artifacts" / "objects").iterdir()
    )


def test_a_failed_flush_keeps_the_rows_for_the_next_one(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = PredictionLogWriter(sqlite_workspace, "d", flush_seconds=60)
    writer.append(chunk(2))
    original = sqlite_workspace.artifacts.put_bytes

    def broken(data: bytes) -> object:
        raise OSError("disk full")

    monkeypatch.setattr(sqlite_workspace.artifacts, "put_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        writer.flush()
    assert writer.buffered_rows == 2 and writer.stats.last_error == "OSError: disk full"
    monkeypatch.setattr(sqlite_workspace.artifacts, "put_bytes", original)
    writer.close()
    assert predictions("d", workspace=sqlite_workspace).shape[0] == 2
