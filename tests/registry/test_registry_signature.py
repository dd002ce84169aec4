"""Signatures: inferred from an input example; validate() casts safely or lists every problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.errors import SignatureMismatch
from ladder.registry import Signature, infer_signature


def example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [50_000.0, 72_000.5, 31_000.0],
            "age": np.array([35, 41, 29], dtype="int64"),
            "region": ["north", "south", "north"],
            "owner": [True, False, True],
            "note": ["a", None, "c"],
        }
    )


def signature() -> Signature:
    return infer_signature(example(), np.array([0, 1, 0]), classes=[0, 1], has_proba=True)


def test_signature_records_columns_types_and_nullability() -> None:
    sig = signature()
    specs = {s.name: (s.type, s.dtype, s.nullable) for s in sig.inputs}
    assert specs == {
        "income": ("float", "float64", False),
        "age": ("integer", "int64", False),
        "region": ("string", "str", False),
        "owner": ("boolean", "bool", False),
        "note": ("string", "str", True),
    }
    assert sig.output is not None
    assert sig.output.classes == (0, 1)
    assert sig.output.task == "binary"
    assert Signature.from_dict(sig.to_dict()) == sig


def test_valid_input_comes_back_in_signature_column_order() -> None:
    given_frame = example()[["region", "note", "owner", "age", "income"]]
    cleaned = signature().validate(given_frame)
    assert list(cleaned.columns) == ["income", "age", "region", "owner", "note"]


def test_integers_are_cast_to_float_columns() -> None:
    frame = example().assign(income=[1, 2, 3])
    cleaned = signature().validate(frame)
    assert cleaned["income"].dtype == np.float64
    assert cleaned["income"].tolist() == [1.0, 2.0, 3.0]


def test_whole_floats_are_cast_to_integer_columns_but_fractions_are_refused() -> None:
    cleaned = signature().validate(example().assign(age=[35.0, 41.0, 29.0]))
    assert cleaned["age"].dtype == np.int64
    with pytest.raises(SignatureMismatch) as caught:
        signature().validate(example().assign(age=[35.0, 41.5, 29.0]))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.reason) == (1, "age", "not a whole number")


def test_json_records_with_python_numbers_validate() -> None:
    records = [
        {"income": 1, "age": 3, "region": "north", "owner": True, "note": None},
        {"income": 2.5, "age": 4, "region": "south", "owner": False, "note": "x"},
    ]
    cleaned = signature().validate(records)
    assert cleaned["income"].tolist() == [1.0, 2.5]
    assert cleaned["age"].tolist() == [3, 4]


def test_missing_and_extra_columns_are_all_listed() -> None:
    frame = example().drop(columns=["age", "region"]).assign(colour="red")
    with pytest.raises(SignatureMismatch) as caught:
        signature().validate(frame)
    found = {(p.column, p.reason) for p in caught.value.problems}
    assert found == {
        ("age", "missing column"),
        ("region", "missing column"),
        ("colour", "extra column"),
    }
    message = str(caught.value)
    assert "'age'" in message and "'region'" in message and "'colour'" in message


def test_extra_columns_can_be_dropped_on_request() -> None:
    cleaned = signature().validate(example().assign(colour="red"), allow_extra=True)
    assert "colour" not in cleaned.columns


def test_a_string_in_a_numeric_column_is_reported_with_its_row_and_value() -> None:
    frame = example().astype({"income": object})
    frame.loc[2, "income"] = "lots"
    with pytest.raises(SignatureMismatch) as caught:
        signature().validate(frame)
    (problem,) = caught.value.problems
    assert problem.row == 2
    assert problem.column == "income"
    assert problem.expected.startswith("float64")
    assert problem.given == "str 'lots'"
    assert problem.to_dict()["row"] == 2


def test_a_whole_column_of_text_where_numbers_belong_is_one_problem() -> None:
    with pytest.raises(SignatureMismatch) as caught:
        signature().validate(example().assign(age=["35", "41", "29"]))
    (problem,) = caught.value.problems
    assert (problem.column, problem.reason, problem.row) == ("age", "wrong type", None)


def test_nan_where_the_signature_forbids_it_names_the_rows() -> None:
    frame = example().assign(income=[1.0, np.nan, np.nan])
    with pytest.raises(SignatureMismatch) as caught:
        signature().validate(frame)
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "income"), (2, "income")]
    assert all(p.reason == "null where the signature forbids it" for p in caught.value.problems)


def test_nulls_pass_in_nullable_columns_and_after_with_nullable() -> None:
    assert signature().validate(example().assign(note=[None, None, "x"]))["note"].isna().sum() == 2
    relaxed = signature().with_nullable("income")
    cleaned = relaxed.validate(example().assign(income=[1.0, np.nan, 3.0]))
    assert cleaned["income"].isna().sum() == 1


def test_row_labels_of_the_given_index_are_reported() -> None:
    frame = example().set_index(pd.Index([10, 20, 30])).assign(owner=[True, "yes", False])
    with pytest.raises(SignatureMismatch) as caught:
        signature().validate(frame)
    assert [(p.row, p.column) for p in caught.value.problems] == [(20, "owner")]


def test_problems_per_column_are_capped_but_counted() -> None:
    sig = infer_signature(pd.DataFrame({"x": [1.0]}))
    frame = pd.DataFrame({"x": [np.nan] * 100})
    with pytest.raises(SignatureMismatch) as caught:
        sig.validate(frame)
    problems = caught.value.problems
    assert len(problems) == 21
    assert problems[-1].given == "80 more rows"
    assert "and 90 more" in str(caught.value)


def test_datetime_columns_accept_iso_strings_and_refuse_other_text() -> None:
    sig = infer_signature(pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-02-01"])}))
    cleaned = sig.validate(pd.DataFrame({"when": ["2024-03-01", "2024-03-02T10:00:00"]}))
    assert str(cleaned["when"].dtype).startswith("datetime64")
    with pytest.raises(SignatureMismatch) as caught:
        sig.validate(pd.DataFrame({"when": ["2024-03-01", "soon"]}))
    assert [(p.row, p.reason) for p in caught.value.problems] == [(1, "not a date-time")]


def test_category_columns_keep_training_categories() -> None:
    sig = infer_signature(pd.DataFrame({"c": pd.Categorical(["a", "b"])}))
    cleaned = sig.validate(pd.DataFrame({"c": ["b", "z"]}).astype(object))
    assert list(cleaned["c"].cat.categories) == ["a", "b"]
    assert cleaned["c"].isna().tolist() == [False, True]


def test_a_two_dimensional_array_takes_the_signature_column_names() -> None:
    sig = infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    cleaned = sig.validate(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert list(cleaned.columns) == ["a", "b"]


def test_something_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(SignatureMismatch, match="expected a pandas DataFrame"):
        signature().validate(42)


column_values = {
    "float": st.floats(allow_nan=False, allow_infinity=False, width=64),
    "integer": st.integers(min_value=-(2**40), max_value=2**40),
    "string": st.text(max_size=8),
    "boolean": st.booleans(),
}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_rows_drawn_from_a_signature_always_validate_unchanged(data: st.DataObject) -> None:
    kinds = data.draw(st.lists(st.sampled_from(sorted(column_values)), min_size=1, max_size=5))
    rows = data.draw(st.integers(min_value=1, max_value=8))
    columns = {
        f"c{i}": data.draw(st.lists(column_values[kind], min_size=rows, max_size=rows))
        for i, kind in enumerate(kinds)
    }
    frame = pd.DataFrame(columns)
    sig = infer_signature(frame)
    assert [s.type for s in sig.inputs] == kinds
    cleaned = sig.validate(frame.to_dict(orient="records"))
    pd.testing.assert_frame_equal(cleaned, frame, check_dtype=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=3), st.booleans()),
        min_size=1,
        max_size=10,
    )
)
def test_any_mixed_column_either_validates_or_names_each_bad_row(values: list[object]) -> None:
    sig = infer_signature(pd.DataFrame({"x": [1.5, 2.5]}))
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    try:
        cleaned = sig.validate(frame)
    except SignatureMismatch as exc:
        assert exc.problems
        assert all(p.column == "x" for p in exc.problems)
        return
    assert cleaned["x"].dtype == np.float64
    assert not cleaned["x"].isna().any()
