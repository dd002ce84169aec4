"""Request formats: Ladder's /predict, MLflow's /invocations, Open Inference v2, JSON and CSV."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.errors import InvalidPayload, SignatureMismatch, UnsupportedContentType
from ladder.serving.protocols import (
    media_kind,
    parse_invocations,
    parse_predict,
    parse_v2,
    read_csv,
    read_json,
)

NAMES = ["a", "b"]


def test_predict_accepts_records_columns_and_a_single_record() -> None:
    records = parse_predict([{"a": 1, "b": 2.5}, {"a": 3, "b": 4.5}])
    assert (records.columns, records.rows) == ({"a": [1, 3], "b": [2.5, 4.5]}, 2)
    wrapped = parse_predict({"records": [{"a": 1, "b": 2}], "ids": ["loan-1"], "key": "u7"})
    assert (wrapped.ids, wrapped.key) == (["loan-1"], "u7")
    columns = parse_predict({"columns": {"a": [1, 2], "b": [3, 4]}})
    assert (columns.columns, columns.rows) == ({"a": [1, 2], "b": [3, 4]}, 2)
    single = parse_predict({"a": 1, "b": 2})
    assert (single.columns, single.rows) == ({"a": [1], "b": [2]}, 1)


def test_records_missing_a_key_get_null_there() -> None:
    table = parse_predict([{"a": 1, "b": 2}, {"a": 3}])
    assert table.columns == {"a": [1, 3], "b": [2, None]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "empty batch"),
        ({"records": []}, "empty batch"),
        ({}, "empty batch"),
        ({"columns": {"a": [1, 2], "b": [1]}}, "differ in length"),
        ({"columns": {"a": 1}}, "expected a list"),
        ([1, 2], r"body\[0\]: expected an object"),
        ("text", "expected a JSON object"),
        ({"records": [{"a": 1}], "ids": ["x", "y"]}, "expected a list of 1 non-empty"),
        ({"records": [{"a": 1}], "key": [1]}, "'key': expected a string"),
    ],
)
def test_predict_refuses_layouts_it_cannot_read(document: object, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        parse_predict(document)


def test_invocations_reads_every_mlflow_layout() -> None:
    split = parse_invocations(
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}, NAMES
    )
    assert split.columns == {"a": [1, 3], "b": [2, 4]}
    records = parse_invocations({"dataframe_records": [{"a": 1, "b": 2}]}, NAMES)
    assert records.columns == {"a": [1], "b": [2]}
    instances = parse_invocations({"instances": [[1, 2], [3, 4]]}, NAMES)
    assert instances.columns == {"a": [1, 3], "b": [2, 4]}
    inputs = parse_invocations({"inputs": {"a": [1], "b": [2]}, "params": {}}, NAMES)
    assert inputs.columns == {"a": [1], "b": [2]}


def test_invocations_needs_exactly_one_layout() -> None:
    with pytest.raises(InvalidPayload, match="exactly one of"):
        parse_invocations({"instances": [[1, 2]], "inputs": [[1, 2]]}, NAMES)
    with pytest.raises(InvalidPayload, match="exactly one of"):
        parse_invocations({"rows": []}, NAMES)


def test_positional_rows_of_the_wrong_width_name_the_expected_columns() -> None:
    with pytest.raises(SignatureMismatch, match=r"expected 2 values per row \(a, b\), given 3"):
        parse_invocations({"instances": [[1, 2, 3]]}, NAMES)


def test_v2_reads_one_tensor_per_column_or_one_matrix() -> None:
    per_column = parse_v2(
        {
            "id": "req-1",
            "inputs": [
                {"name": "a", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]},
                {"name": "b", "shape": [2, 1], "datatype": "FP64", "data": [[3.0], [4.0]]},
            ],
        },
        NAMES,
    )
    assert per_column.columns == {"a": [1.0, 2.0], "b": [3.0, 4.0]}
    matrix = parse_v2(
        {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]},
        NAMES,
    )
    assert matrix.columns == {"a": [1, 3], "b": [2, 4]}
    one = parse_v2(
        {"id": "req-9", "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}]},
        None,
    )
    assert one.request_id == "req-9"


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "a", "shape": [3], "datatype": "FP64", "data": [1, 2]}, "holds 3 values"),
        ({"name": "a", "shape": [1], "datatype": "FLOAT", "data": [1]}, "datatype"),
        ({"name": "", "shape": [1], "datatype": "FP64", "data": [1]}, "name"),
        ({"name": "a", "shape": "1", "datatype": "FP64", "data": [1]}, "shape"),
    ],
)
def test_v2_refuses_inconsistent_tensors(tensor: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        parse_v2({"inputs": [tensor]}, NAMES)


def test_json_reader_tolerates_nan_and_infinity_but_flags_it() -> None:
    assert read_json(b'{"a": 1}') == ({"a": 1}, False)
    document, tolerant = read_json(b'{"a": NaN, "b": Infinity}')
    assert tolerant and document["b"] == float("inf")
    with pytest.raises(InvalidPayload, match="malformed JSON"):
        read_json(b'{"a": 1')
    with pytest.raises(InvalidPayload, match="empty body"):
        read_json(b"  ")


def test_csv_is_read_with_its_header_and_nulls() -> None:
    table = read_csv(b"a,b\n1,2.5\n3,\n")
    assert table.columns == {"a": [1, 3], "b": [2.5, None]} and table.may_be_non_finite


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (None, "json"),
        ("application/json", "json"),
        ("application/json; charset=utf-8", "json"),
        ("application/vnd.api+json", "json"),
    ],
)
def test_json_content_types_are_accepted(header: str | None, kind: str) -> None:
    assert media_kind(header) == kind


@pytest.mark.parametrize(
    "header",
    ["application/python-pickle", "application/octet-stream", "text/plain", "text/csv"],
)
def test_other_content_types_are_refused_pickle_included(header: str) -> None:
    with pytest.raises(UnsupportedContentType, match="expected application/json"):
        media_kind(header)
    if header == "text/csv":
        assert media_kind(header, ("json", "csv")) == "csv"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=120, deadline=None)
@given(document=json_values)
def test_any_json_document_parses_or_is_refused_with_a_payload_error(document: object) -> None:
    body = json.dumps(document).encode()
    for parse in (
        parse_predict,
        lambda d: parse_invocations(d, NAMES),
        lambda d: parse_v2(d, NAMES),
    ):
        try:
            table = parse(read_json(body)[0])
        except (InvalidPayload, SignatureMismatch):
            continue
        assert table.rows >= 1
        assert all(len(values) == table.rows for values in table.columns.values())
