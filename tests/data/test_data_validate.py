"""Validating new data against a version, and diffs between versions."""

from __future__ import annotations

import pytest

from ladder.data import dataset
from ladder.errors import NotTabular, SchemaMismatch


@pytest.fixture
def reference(sqlite_workspace, make_loans):
    return dataset.add("loans", make_loans())


def _result(report, column: str, check: str):
    (found,) = [r for r in report.results if r.column == column and r.check == check]
    return found


def test_data_like_the_reference_passes_every_check(reference, make_loans) -> None:
    report = reference.validate(make_loans(rows=200, seed=9))
    assert report.passed and report.failures == [] and report.rows == 200
    assert {r.check for r in report.results} == {
        "missing_column",
        "type_mismatch",
        "unexpected_nulls",
        "out_of_range",
        "unseen_categories",
    }
    report.raise_if_failed()


def test_missing_and_unexpected_columns_are_reported(reference, make_loans) -> None:
    frame = make_loans().drop(columns=["term"]).assign(extra=1)
    report = reference.validate(frame)
    missing = _result(report, "term", "missing_column")
    assert not missing.passed and missing.blocking
    extra = _result(report, "extra", "unexpected_column")
    assert not extra.passed and not extra.blocking
    assert not report.passed and report.errors == [missing] and report.warnings == [extra]
    with pytest.raises(SchemaMismatch, match="term: column missing"):
        report.raise_if_failed()


def test_type_mismatches_count_the_values_that_do_not_convert(reference, make_loans) -> None:
    frame = make_loans(rows=10).astype({"amount": "object", "term": "float64"})
    frame.loc[2, "amount"] = "lots"
    frame.loc[5, "amount"] = "1,000"
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[7, "term"] = 12.5
    report = reference.validate(frame)
    amount = _result(report, "amount", "type_mismatch")
    assert (amount.passed, amount.failed, amount.checked) == (False, 2, 10)
    assert [(e.row, e.value) for e in amount.examples] == [(2, "lots"), (5, "1,000")]
    term = _result(report, "term", "type_mismatch")
    assert term.failed == 1 and term.examples[0].row == 7 and term.examples[0].value == "12.5"
    assert not report.passed


def test_nulls_where_the_reference_had_none_are_blocking(reference, make_loans) -> None:
    frame = make_loans(rows=20)
    frame.loc[[3, 4], "grade"] = None
    report = reference.validate(frame)
    nulls = _result(report, "grade", "unexpected_nulls")
    assert (nulls.failed, nulls.blocking) == (2, True)
    assert [e.row for e in nulls.examples] == [3, 4]


def test_values_beyond_the_range_plus_tolerance_are_warnings(reference, make_loans) -> None:
    profile = reference.profile.column("amount")
    span = profile.max - profile.min
    frame = make_loans(rows=10)
    frame.loc[0, "amount"] = profile.max + 0.05 * span  # inside the 10 % tolerance
    frame.loc[1, "amount"] = profile.max + 0.5 * span
    frame.loc[2, "amount"] = profile.min - 0.5 * span
    report = reference.validate(frame)
    outside = _result(report, "amount", "out_of_range")
    assert (outside.failed, outside.blocking) == (2, False)
    assert [e.row for e in outside.examples] == [1, 2]
    assert report.passed  # a warning does not block
    assert _result(reference.validate(frame, tolerance=1.0), "amount", "out_of_range").passed
    assert not reference.validate(frame, strict=True).passed


def test_unseen_categories_are_listed(reference, make_loans) -> None:
    frame = make_loans(rows=10)
    frame.loc[[1, 6], "grade"] = "Z"
    unseen = _result(reference.validate(frame), "grade", "unseen_categories")
    assert unseen.failed == 2 and {e.value for e in unseen.examples} == {"Z"}


def test_a_csv_file_is_validated_value_by_value(reference, make_loans, isolated) -> None:
    path = isolated / "new.csv"
    frame = make_loans(rows=30, seed=4)
    frame.loc[3, "term"] = None
    frame = frame.astype({"term": "object"})
    frame.loc[4, "term"] = "soon"
    frame.to_csv(path, index=False)
    report = dataset.validate("loans@1", path)
    assert _result(report, "term", "unexpected_nulls").failed == 1
    mismatch = _result(report, "term", "type_mismatch")
    assert mismatch.failed == 1 and mismatch.examples[0].value == "soon"
    assert _result(report, "approved", "type_mismatch").passed  # "True"/"False" read as booleans


def test_validation_needs_a_tabular_version(sqlite_workspace, folder, make_loans) -> None:
    files = dataset.add("pets", folder)
    with pytest.raises(NotTabular, match="pets@1: holds plain files"):
        files.validate(make_loans())
    with pytest.raises(ValueError, match="tolerance"):
        dataset.add("loans", make_loans()).validate(make_loans(), tolerance=-1)


def test_diff_reports_schema_changes_and_profile_shifts(sqlite_workspace, make_loans) -> None:
    before = make_loans(rows=400, seed=1)
    after = make_loans(rows=400, seed=2).drop(columns=["approved"]).assign(region="north")
    after["amount"] = after["amount"] + 500.0
    after.loc[0, "grade"] = "D"
    dataset.add("loans", before)
    dataset.add("loans", after)
    result = dataset.diff("loans@1", "loans@2")
    assert (result.before, result.after, result.rows_before, result.rows_after) == (
        "loans@1",
        "loans@2",
        400,
        400,
    )
    changes = {(c.column, c.change) for c in result.schema}
    assert changes == {("approved", "removed"), ("region", "added")}
    shifts = {c.column: c for c in result.columns}
    assert shifts["amount"].mean_shift == pytest.approx(2.0, abs=0.3)
    assert shifts["grade"].categories_added == ("D",) and shifts["grade"].category_distance > 0
    assert not result.identical and [f.change for f in result.files] == ["changed"]
    same = dataset.diff("loans@1", "loans@1")
    assert same.identical and all(not c.changed for c in same.columns)


def test_reports_serialise_for_scripts(reference, make_loans) -> None:
    document = reference.validate(make_loans().drop(columns=["term"])).to_dict()
    assert document["passed"] is False and document["errors"] == 1
    failed = [r for r in document["results"] if not r["passed"]]
    assert failed == [
        {
            "column": "term",
            "check": "missing_column",
            "passed": False,
            "blocking": True,
            "failed": 1,
            "checked": 1,
            "examples": [],
            "message": "column missing (reference type int64)",
        }
    ]
