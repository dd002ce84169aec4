"""Materializers: each supported type round-trips through the artifact store; no silent pickle."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import ladder
from ladder.errors import MaterializerError, MaterializerNotFound, PipelineFailed
from ladder.pipelines import (
    Materializer,
    PickleMaterializer,
    register_materializer,
    trust_types,
    unregister_materializer,
)
from ladder.pipelines.materializers import load_value, store_value
from ladder.workspace import Workspace

_X = np.random.default_rng(0).random((40, 3))
_Y = (_X[:, 0] > 0.5).astype(int)


def _roundtrip(ws: Workspace, value: Any) -> Any:
    return load_value(ws.artifacts, store_value(value, ws.artifacts, "test value"))


def test_pandas_frames_and_series_round_trip_as_parquet(sqlite_workspace: Workspace) -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.5, 2.5, None],
            "grade": pd.Categorical(["A", "B", "A"]),
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        },
        index=pd.Index([10, 20, 30], name="id"),
    )
    pd.testing.assert_frame_equal(_roundtrip(sqlite_workspace, frame), frame)
    series = pd.Series([1, 2, 3], name="clicks")
    pd.testing.assert_series_equal(_roundtrip(sqlite_workspace, series), series)
    unnamed = pd.Series([0.5, 1.5])
    pd.testing.assert_series_equal(_roundtrip(sqlite_workspace, unnamed), unnamed)
    stored = store_value(frame, sqlite_workspace.artifacts, "frame")
    assert (stored.materializer, stored.type_name) == ("pandas", "pandas.DataFrame")


def test_polars_and_arrow_tables_round_trip_as_parquet(sqlite_workspace: Workspace) -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    assert _roundtrip(sqlite_workspace, frame).equals(frame)
    table = pa.table({"a": [1, 2], "b": [0.5, None]})
    assert _roundtrip(sqlite_workspace, table).equals(table)


def test_numpy_arrays_and_scalars_round_trip_as_npy_without_pickle(
    sqlite_workspace: Workspace,
) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    loaded = _roundtrip(sqlite_workspace, array)
    assert loaded.dtype == np.float32 and np.array_equal(loaded, array)
    scalar = _roundtrip(sqlite_workspace, np.int64(7))
    assert isinstance(scalar, np.int64) and scalar == 7
    with pytest.raises(MaterializerError, match="dtype object: saving it would need pickle"):
        store_value(np.array([object()]), sqlite_workspace.artifacts, "step 'x' output")


def test_scikit_learn_estimators_round_trip_through_skops(sqlite_workspace: Workspace) -> None:
    for model in (
        LogisticRegression(C=0.3).fit(_X, _Y),
        make_pipeline(StandardScaler(), LogisticRegression()).fit(_X, _Y),
        RandomForestClassifier(n_estimators=3, random_state=0).fit(_X, _Y),
    ):
        stored = store_value(model, sqlite_workspace.artifacts, "model")
        assert stored.materializer == "sklearn-skops"
        loaded = load_value(sqlite_workspace.artifacts, stored)
        assert np.array_equal(loaded.predict(_X), model.predict(_X))


def _double(x: Any) -> Any:
    return x * 2


def test_skops_files_with_types_outside_the_trusted_list_are_refused(
    sqlite_workspace: Workspace,
) -> None:
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(_X, _Y)
    name = f"{__name__}._double"
    with pytest.raises(
        MaterializerError, match=rf"outside the trusted list.*trust_types\('{name}'\)"
    ):
        store_value(model, sqlite_workspace.artifacts, "step 'train' output")
    trust_types(name)
    loaded = _roundtrip(sqlite_workspace, model)
    assert np.array_equal(loaded.predict(_X), model.predict(_X))


@pytest.mark.parametrize(
    "value",
    [
        {"C": 0.5, "layers": [64, 32], "name": "ünïcode", "ok": True, "none": None},
        [1, "two", 3.0, [4], {"five": 5}],
        42,
        "text",
        None,
        float("inf"),
    ],
)
def test_plain_python_data_round_trips_as_json(sqlite_workspace: Workspace, value: Any) -> None:
    assert _roundtrip(sqlite_workspace, value) == value


def test_nan_survives_json_and_tuples_come_back_as_lists(sqlite_workspace: Workspace) -> None:
    assert math.isnan(_roundtrip(sqlite_workspace, float("nan")))
    assert _roundtrip(sqlite_workspace, (1, (2, 3))) == [1, [2, 3]]


def test_bytes_round_trip_unchanged(sqlite_workspace: Workspace) -> None:
    assert _roundtrip(sqlite_workspace, b"\x00\xffraw") == b"\x00\xffraw"
    assert _roundtrip(sqlite_workspace, bytearray(b"ab")) == b"ab"


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(json_like)
def test_any_json_value_round_trips_exactly(sqlite_workspace: Workspace, value: Any) -> None:
    assert _roundtrip(sqlite_workspace, value) == value


class Opaque:
    pass


def test_a_type_without_materializer_names_the_step_the_type_and_how_to_register(
    sqlite_workspace: Workspace,
) -> None:
    @ladder.step
    def make() -> Opaque:
        return Opaque()

    @ladder.pipeline
    def opaque_pipeline():
        return make()

    with pytest.raises(PipelineFailed) as caught:
        opaque_pipeline.run()
    message = str(caught.value)
    assert f"step 'make' output 'output': no materializer for type {__name__}.Opaque" in message
    assert "ladder.pipelines.register_materializer" in message
    assert "never pickles" in message


def test_a_container_holding_an_unsupported_value_names_where_it_is(
    sqlite_workspace: Workspace,
) -> None:
    with pytest.raises(MaterializerNotFound, match=r"\['model'\]\[1\] is a .*Opaque"):
        store_value({"model": [1, Opaque()]}, sqlite_workspace.artifacts, "step 's' output")
    with pytest.raises(MaterializerNotFound, match=r"\[3\] \(key\) is a int"):
        store_value({3: "x"}, sqlite_workspace.artifacts, "step 's' output")


def test_pickle_is_used_only_for_types_registered_for_it(sqlite_workspace: Workspace) -> None:
    with pytest.raises(MaterializerNotFound):
        store_value(Opaque(), sqlite_workspace.artifacts, "step 's' output")
    with pytest.raises(MaterializerError, match="expected the types to pickle"):
        PickleMaterializer()
    register_materializer(PickleMaterializer(types=[Opaque]))
    try:
        stored = store_value(Opaque(), sqlite_workspace.artifacts, "step 's' output")
        assert stored.materializer == "pickle"
        assert isinstance(load_value(sqlite_workspace.artifacts, stored), Opaque)
    finally:
        unregister_materializer("pickle")


class Temperature:
    def __init__(self, kelvin: float) -> None:
        self.kelvin = kelvin


class TemperatureMaterializer(Materializer):
    name = "test-temperature"
    suffix = ".txt"

    def handles(self, value: Any) -> bool:
        return isinstance(value, Temperature)

    def save(self, value: Any, path: Path) -> None:
        path.write_text(repr(value.kelvin))

    def load(self, path: Path) -> Any:
        return Temperature(float(path.read_text()))


@ladder.step
def warm(kelvin: float) -> Temperature:
    return Temperature(kelvin)


@ladder.step
def combined(readings: list[Temperature]) -> float:
    return sum(r.kelvin for r in readings)


@ladder.pipeline
def weather(a: float = 280.0, b: float = 290.0):
    return combined([warm(a), warm(b)])


def test_a_registered_materializer_travels_to_worker_processes(
    sqlite_workspace: Workspace,
) -> None:
    register_materializer(TemperatureMaterializer())
    try:
        result = weather.run(max_workers=2)
        assert result.output == 570.0
        assert result.steps["warm"].outputs[0].materializer == "test-temperature"
    finally:
        unregister_materializer("test-temperature")


def test_a_value_from_an_unregistered_materializer_cannot_be_loaded(
    sqlite_workspace: Workspace,
) -> None:
    register_materializer(TemperatureMaterializer())
    stored = store_value(Temperature(1.0), sqlite_workspace.artifacts, "value")
    unregister_materializer("test-temperature")
    with pytest.raises(
        MaterializerError, match="'test-temperature' v1: no materializer of that name"
    ):
        load_value(sqlite_workspace.artifacts, stored)


def test_data_frames_flow_between_steps_unchanged(sqlite_workspace: Workspace) -> None:
    @ladder.step
    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"a": range(n), "b": [f"r{i}" for i in range(n)]})

    @ladder.step
    def to_polars(df: pd.DataFrame) -> pl.DataFrame:
        return pl.from_pandas(df)

    @ladder.step
    def to_arrow(df: pl.DataFrame) -> pa.Table:
        return df.to_arrow()

    @ladder.pipeline
    def conversions(n: int = 5):
        return to_arrow(to_polars(frame(n)))

    table = conversions.run(max_workers=1).output
    assert table.column("b").to_pylist() == ["r0", "r1", "r2", "r3", "r4"]
