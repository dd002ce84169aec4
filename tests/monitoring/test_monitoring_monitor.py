"""Monitors on the real store: a deployment's prediction log against its training data
(found through lineage), table monitors, stored results, and alerts as events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import ladder
from ladder.errors import AlertRuleSyntaxError, InvalidMonitorSpec, MonitorExists, MonitorNotFound
from ladder.ids import new_id
from ladder.monitoring import (
    alerts,
    create_monitor,
    get_monitor,
    list_monitors,
    monitor_results,
    run_monitor,
)
from ladder.serving import log_labels, predictions
from ladder.serving.prediction_log import LogChunk, PredictionLogWriter, RejectedInput
from ladder.workspace import Workspace

FEATURES = ["signal", "noise"]
START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def population(
    rows: int, seed: int, signal_scale: float = 2.0, noise_shift: float = 0.0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(0, signal_scale, rows)
    frame = pd.DataFrame({"signal": signal, "noise": rng.normal(noise_shift, 1, rows)})
    frame["label"] = (rng.random(rows) < 1 / (1 + np.exp(-3 * signal))).astype("int64")
    return frame


def register(ws: Workspace) -> LogisticRegression:
    train = population(3000, seed=0)
    version = ladder.dataset.add("loans-train", train, workspace=ws)
    model = LogisticRegression().fit(train[FEATURES], train["label"])
    ladder.register_model(
        model, "loans", input_example=train[FEATURES].head(20), datasets=[version], workspace=ws
    )
    return model


def serve(
    ws: Workspace,
    model: LogisticRegression,
    frame: pd.DataFrame,
    start: datetime,
    variant: str = "primary",
    proba: np.ndarray | None = None,
) -> list[str]:
    """Log predictions of ``frame`` one second apart, as ``ladder serve`` would."""
    features = frame[FEATURES].reset_index(drop=True)
    ids = [
        new_id(int((start + timedelta(seconds=i)).timestamp() * 1000)) for i in range(len(frame))
    ]
    writer = PredictionLogWriter(ws, "loans-prod", flush_seconds=60)
    writer.append(
        LogChunk(
            request_ids=ids,
            timestamps_us=[
                int((start + timedelta(seconds=i)).timestamp() * 1e6) for i in range(len(frame))
            ],
            latency_ms=[1.0] * len(frame),
            variant=variant,
            model="loans",
            model_version=1,
            inputs=features,
            predictions=model.predict(features),
            proba=model.predict_proba(features) if proba is None else proba,
            classes=(0, 1),
        )
    )
    writer.close()
    return ids


def test_a_deployment_monitor_finds_its_reference_through_lineage_and_explains_drift(
    workspace: Workspace,
) -> None:
    model = register(workspace)
    create_monitor(
        "loans-live",
        deployment="loans-prod",
        window="1000 predictions",
        rules=["drift_share > 0.3", "estimated.accuracy < 0.75", "missing_rate.noise > 0.05"],
        workspace=workspace,
    )
    serve(workspace, model, population(1000, seed=1), START)  # like training
    serve(workspace, model, population(1000, seed=2, noise_shift=3.0), START + timedelta(hours=1))
    harmful = population(1000, seed=3, signal_scale=0.3)
    ids = serve(workspace, model, harmful, START + timedelta(hours=2))
    serve(workspace, model, population(120, seed=4), START + timedelta(hours=3))  # filling up
    receipt = log_labels(
        ids, harmful["label"].tolist(), deployment="loans-prod", workspace=workspace
    )
    assert receipt.unknown == 0

    results = run_monitor("loans-live", workspace=workspace)

    assert [r.status for r in results] == ["ok", "ok", "ok"]  # the 4th window is incomplete
    assert {r.reference for r in results} == {
        ladder.dataset.get("loans-train@latest", workspace=workspace).ref
    }
    assert {r.model for r in results} == {"loans/1"}
    first, harmless, harmful_result = results
    assert first.root_cause.verdict == "stable" and not first.fired
    assert harmless.root_cause.verdict == "drift_without_performance_effect"
    assert [c.column for c in harmless.drift.drifted_features] == ["noise"]
    assert harmful_result.root_cause.verdict == "performance_drop_explained_by_drift"
    assert harmful_result.root_cause.source == "realised"  # its labels arrived
    assert harmful_result.performance.labelled_rows == 1000
    assert harmful_result.root_cause.causes[0].feature == "signal"
    assert harmful_result.estimated is not None and harmful_result.estimated.method == "cbpe"
    assert [o.rule for o in harmful_result.fired] == [
        "drift_share > 0.3",
        "estimated.accuracy < 0.75",
    ]

    fired = alerts("loans-live", workspace=workspace)
    assert [(a.rule, a.kind, a.verdict) for a in fired] == [
        ("drift_share > 0.3", "drift", "drift_without_performance_effect"),
        ("drift_share > 0.3", "drift", "performance_drop_explained_by_drift"),
        ("estimated.accuracy < 0.75", "performance", "performance_drop_explained_by_drift"),
    ]
    assert [a.retrain_recommended for a in fired] == [False, True, True]
    assert alerts(after=fired[0].id, workspace=workspace) == fired[1:]
    assert alerts(kind="performance", workspace=workspace) == fired[2:]

    stored = monitor_results("loans-live", workspace=workspace)
    assert [r.to_dict() for r in stored] == [r.to_dict() for r in results]
    assert run_monitor("loans-live", workspace=workspace) == []  # nothing new since


def test_windows_are_per_variant_and_a_small_window_is_insufficient_data_without_alerts(
    workspace: Workspace,
) -> None:
    model = register(workspace)
    create_monitor(
        "by-variant",
        deployment="loans-prod",
        window="1h",
        min_rows=100,
        rules=["rows > 0"],
        workspace=workspace,
    )
    serve(workspace, model, population(300, seed=5), START, variant="primary")
    serve(workspace, model, population(40, seed=6), START, variant="canary")
    results = run_monitor("by-variant", workspace=workspace)
    by_variant = {r.variant: r for r in results}
    assert by_variant["primary"].status == "ok" and by_variant["primary"].fired
    canary = by_variant["canary"]
    assert canary.status == "insufficient_data" and canary.rows == 40
    assert "insufficient data" in (canary.message or "") and canary.rules == ()
    assert [a.variant for a in alerts("by-variant", workspace=workspace)] == ["primary"]


def test_labels_for_unknown_request_ids_are_counted_not_an_error(workspace: Workspace) -> None:
    model = register(workspace)
    create_monitor("labelled", deployment="loans-prod", window="200", workspace=workspace)
    frame = population(200, seed=7)
    ids = serve(workspace, model, frame, START)
    labels = pd.DataFrame(
        {
            "request_id": [*ids[:150], "nope-1", "nope-2"],
            "label": [*frame["label"].tolist()[:150], 1, 0],
        }
    )
    (result,) = run_monitor("labelled", labels=labels, workspace=workspace)
    assert result.labels is not None
    assert (result.labels.matched, result.labels.unknown) == (150, 2)
    assert result.labels.unknown_ids == ("nope-1", "nope-2")
    assert result.performance is not None and result.performance.labelled_rows == 150
    assert result.metrics["unknown_label_ids"] == 2


def test_probabilities_outside_0_1_in_the_log_make_an_error_result(workspace: Workspace) -> None:
    model = register(workspace)
    create_monitor("broken", deployment="loans-prod", window="200", workspace=workspace)
    frame = population(200, seed=8)
    proba = model.predict_proba(frame[FEATURES])
    proba[5] = [-0.5, 1.5]
    serve(workspace, model, frame, START, proba=proba)
    (result,) = run_monitor("broken", workspace=workspace)
    assert result.status == "error"
    assert "expected probabilities in [0, 1], got 1 value(s) outside" in (result.message or "")
    assert predictions("loans-prod", workspace=workspace).shape[0] == 200


def test_table_monitors_compare_a_current_file_with_a_reference_dataset(
    workspace: Workspace, tmp_path: Path
) -> None:
    reference = population(2000, seed=9)
    version = ladder.dataset.add("reference", reference, workspace=workspace)
    current = population(1000, seed=10, noise_shift=2.0)
    current.loc[:100, "noise"] = np.nan
    path = tmp_path / "today.parquet"
    current.to_parquet(path)
    create_monitor(
        "nightly",
        reference=version,
        current=str(path),
        window="all",
        label="label",
        rules=["missing_rate.noise > 0.05", "drifted.noise == 1"],
        workspace=workspace,
    )
    (result,) = run_monitor("nightly", workspace=workspace)
    assert result.current == str(path.resolve())
    assert result.quality is not None and result.quality.failed
    assert [o.rule for o in result.fired] == ["missing_rate.noise > 0.05", "drifted.noise == 1"]
    assert [a.kind for a in alerts("nightly", workspace=workspace)] == ["data_quality", "drift"]
    assert run_monitor("nightly", workspace=workspace) == []  # same file, already judged


def test_monitors_are_stored_listed_replaced_and_validated(workspace: Workspace) -> None:
    created = create_monitor(
        "m1", deployment="d1", rules=["drift_share > 0.3"], workspace=workspace
    )
    assert get_monitor("m1", workspace=workspace) == created
    assert created.settings.window == "1000 predictions" and created.reference is None
    with pytest.raises(MonitorExists, match="'m1': already exists"):
        create_monitor("m1", deployment="d1", workspace=workspace)
    replaced = create_monitor("m1", deployment="d2", window="1h", replace=True, workspace=workspace)
    assert replaced.id == created.id and replaced.deployment == "d2"
    assert [m.name for m in list_monitors(workspace=workspace)] == ["m1"]
    assert list_monitors(deployment="d1", workspace=workspace) == []
    with pytest.raises(MonitorNotFound, match=r"'m2': not found \(monitors: m1\)"):
        get_monitor("m2", workspace=workspace)
    with pytest.raises(AlertRuleSyntaxError, match="expected a number"):
        create_monitor("m3", deployment="d1", rules=["drift_share >"], workspace=workspace)
    with pytest.raises(InvalidMonitorSpec, match="window"):
        create_monitor("m3", deployment="d1", window="sometimes", workspace=workspace)
    with pytest.raises(InvalidMonitorSpec, match="either deployment="):
        create_monitor("m3", workspace=workspace)
    with pytest.raises(InvalidMonitorSpec, match="monitor name"):
        create_monitor("bad name!", deployment="d1", workspace=workspace)
    with pytest.raises(MonitorNotFound):
        monitor_results("m9", workspace=workspace)


def test_inputs_the_server_refused_count_in_their_windows_data_quality(
    workspace: Workspace,
) -> None:
    model = register(workspace)
    create_monitor("quality", deployment="loans-prod", window="1h", workspace=workspace)
    serve(workspace, model, population(200, seed=7), START)
    serve(workspace, model, population(200, seed=8), START + timedelta(hours=1))
    serve(workspace, model, population(50, seed=9), START + timedelta(hours=2))

    def refused(request_id: str, at: datetime, column: str, reason: str) -> RejectedInput:
        micros = int(at.timestamp() * 1e6)
        return RejectedInput(request_id, micros, "primary", "loans", 1, column, reason)

    writer = PredictionLogWriter(workspace, "loans-prod", flush_seconds=60)
    writer.append_rejected(
        [
            refused("r1", START + timedelta(minutes=5), "income", "missing column"),
            refused("r1", START + timedelta(minutes=5), "signal", "not a number"),
            refused("r2", START + timedelta(minutes=6), "income", "missing column"),
            refused("r3", START + timedelta(hours=1, minutes=1), "signal", "not a number"),
        ]
    )
    writer.close()

    first, second, third = run_monitor("quality", workspace=workspace)
    assert first.quality.validation_errors == {
        "income: missing column": 2,
        "signal: not a number": 1,
    }
    assert second.quality.validation_errors == {"signal: not a number": 1}
    assert third.status == "insufficient_data"  # 50 rows: no quality verdict either
    assert "serving rejected 2 inputs: income: missing column" in first.quality.problems
