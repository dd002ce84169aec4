"""Every bad input the issue lists gets a clear error (all-null columns: a clear warning)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ladder.data import dataset
from ladder.data.manifest import check_relative_path
from ladder.data.refs import check_dataset_name, parse_ref
from ladder.errors import (
    DatasetNotFound,
    DatasetSourceError,
    DatasetVersionNotFound,
    EmptyDataset,
    InvalidDatasetName,
    InvalidReadOption,
    MixedTypes,
    SourceEncodingError,
    UnsafePath,
)


def test_a_missing_path_is_refused(sqlite_workspace, isolated) -> None:
    with pytest.raises(DatasetSourceError, match=r"nowhere.csv: no such file or directory"):
        dataset.add("loans", isolated / "nowhere.csv")


def test_a_special_file_and_a_broken_symlink_are_refused(sqlite_workspace, isolated) -> None:
    fifo = isolated / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DatasetSourceError, match="special file"):
        dataset.add("pipe", fifo)
    folder = isolated / "folder"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    (folder / "dangling").symlink_to(folder / "gone")
    with pytest.raises(DatasetSourceError, match="broken symlink"):
        dataset.add("folder", folder)


def test_a_symlink_out_of_the_folder_is_refused(sqlite_workspace, isolated) -> None:
    folder = isolated / "folder"
    folder.mkdir()
    (isolated / "secret.txt").write_text("secret")
    (folder / "link.txt").symlink_to(isolated / "secret.txt")
    with pytest.raises(UnsafePath, match="points outside"):
        dataset.add("folder", folder)


def test_empty_files_folders_and_header_only_csvs_are_refused(sqlite_workspace, isolated) -> None:
    (isolated / "empty.csv").write_bytes(b"")
    with pytest.raises(EmptyDataset, match=r"empty.csv: the file is empty \(0 bytes\)"):
        dataset.add("empty", isolated / "empty.csv")
    (isolated / "nothing").mkdir()
    with pytest.raises(EmptyDataset, match="holds no files"):
        dataset.add("nothing", isolated / "nothing")
    (isolated / "header.csv").write_text("a,b\n")
    with pytest.raises(EmptyDataset, match=r"0 rows \(columns: a, b\); pass allow_empty=True"):
        dataset.add("header", isolated / "header.csv")
    with pytest.raises(DatasetNotFound):
        dataset.get("header")


def test_a_zero_row_dataframe_is_refused_unless_allowed(sqlite_workspace) -> None:
    frame = pd.DataFrame({"x": pd.Series([], dtype="float64"), "y": pd.Series([], dtype="object")})
    with pytest.raises(EmptyDataset, match=r"pandas.DataFrame: it has 0 rows \(columns: x, y\)"):
        dataset.add("empty", frame)
    ds = dataset.add("empty", frame, allow_empty=True)
    assert ds.row_count == 0 and ds.profile.column("x").count == 0
    assert ds.schema.names == ["x", "y"] and len(ds.to_pandas()) == 0


def test_a_csv_column_mixing_numbers_and_text_is_refused(sqlite_workspace, isolated) -> None:
    path = isolated / "ages.csv"
    rows = [f"{i},{20 + i % 50}" for i in range(40)]
    rows[17] = "17,unknown"
    path.write_text("id,age\n" + "\n".join(rows) + "\n")
    with pytest.raises(MixedTypes, match=r"column 'age' holds mixed types.*'unknown' \(row 18\)"):
        dataset.add("ages", path)
    typed = dataset.add("ages", path, column_types={"age": "string"})
    assert typed.schema.column("age").type == "string"


def test_a_type_change_after_the_first_block_names_column_row_and_value(
    sqlite_workspace, isolated
) -> None:
    path = isolated / "long.csv"
    rows = 2_000_000  # more than one 16 MiB block: Arrow infers the type from the first block
    body = "\n".join(f"{i},{i % 97}" for i in range(rows))
    path.write_text(f"id,score\n{body}\n{rows},unknown\n")
    with pytest.raises(
        MixedTypes, match=rf"column 'score' holds mixed types.*row {rows + 1} holds 'unknown'"
    ):
        dataset.add("long", path)


def test_a_dataframe_column_of_mixed_python_types_is_refused(sqlite_workspace) -> None:
    frame = pd.DataFrame({"ok": [1, 2, 3], "mixed": [1, "two", 3.0]})
    with pytest.raises(MixedTypes, match=r"column 'mixed' holds values of several types: int"):
        dataset.add("mixed", frame)


def test_json_lines_changing_a_field_type_is_refused(sqlite_workspace, isolated) -> None:
    path = isolated / "events.jsonl"
    path.write_text('{"a": 1}\n{"a": "x"}\n')
    with pytest.raises(MixedTypes, match=r"field 'a' holds mixed types: number .* string"):
        dataset.add("events", path)


def test_a_non_utf8_csv_names_the_encoding_option(sqlite_workspace, isolated) -> None:
    path = isolated / "cities.csv"
    path.write_bytes("name,city\nJosé,Zürich\nAnna,Köln\n".encode("cp1252"))
    with pytest.raises(SourceEncodingError, match=r"not valid utf-8.*byte 13.*encoding='cp1252'"):
        dataset.add("cities", path)
    ds = dataset.add("cities", path, encoding="cp1252")
    assert ds.to_pandas()["city"].tolist() == ["Zürich", "Köln"]
    header = isolated / "header.csv"
    header.write_bytes("naïve,b\n1,2\n".encode("latin-1"))
    with pytest.raises(SourceEncodingError, match="--encoding"):
        dataset.add("header", header)


def test_columns_with_all_nulls_are_versioned_with_a_warning(sqlite_workspace) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "empty": [None, None, None], "nan": [np.nan] * 3})
    with pytest.warns(UserWarning, match=r"column\(s\) empty, nan hold no values"):
        ds = dataset.add("sparse", frame)
    assert ds.profile.column("empty").kind == "empty" and ds.profile.column("empty").missing == 3
    assert ds.profile.column("nan").count == 0 and ds.profile.column("nan").mean is None
    report = ds.validate(pd.DataFrame({"x": [1.5], "empty": ["now filled"], "nan": [7.0]}))
    assert report.passed


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a/b", "path separator"),
        ("with space", "whitespace"),
        ("..", "'..'"),
        ("up..down", "'..'"),
        ("", "empty"),
        ("x@1", "'@'"),
        ("-dash", "start with a letter or a digit"),
        ("é", "not allowed"),
        ("a" * 129, "longer than 128"),
    ],
)
def test_bad_dataset_names_are_refused(sqlite_workspace, loans_csv, name, reason) -> None:
    with pytest.raises(InvalidDatasetName, match=reason):
        dataset.add(name, loans_csv)


@given(st.text(alphabet="abcXYZ019_.-", min_size=1, max_size=40))
def test_names_of_safe_characters_are_accepted_unless_dotdot_or_punctuation_first(
    name: str,
) -> None:
    if ".." in name or not name[0].isalnum():
        with pytest.raises(InvalidDatasetName):
            check_dataset_name(name)
    else:
        assert check_dataset_name(name) == name
        assert parse_ref(f"{name}@latest") == parse_ref(name)


@given(st.integers(min_value=1, max_value=10**9))
def test_numeric_versions_parse_as_numbers(number: int) -> None:
    assert parse_ref(f"loans@{number}")[1].number == number


@given(
    st.text(alphabet="0123456789abcdef", min_size=6, max_size=64).filter(lambda s: not s.isdigit())
)
def test_hex_versions_parse_as_id_prefixes(prefix: str) -> None:
    assert parse_ref(f"loans@{prefix}")[1].id_prefix == prefix


@pytest.mark.parametrize("ref", ["loans@", "loans@0", "loans@abc", "loans@xyz123", "loans@-1"])
def test_malformed_versions_are_refused(ref: str) -> None:
    with pytest.raises(InvalidDatasetName, match="loans@"):
        parse_ref(ref)


def test_unknown_versions_and_datasets_list_what_exists(sqlite_workspace, loans_csv) -> None:
    with pytest.raises(DatasetNotFound, match="the project has no datasets yet"):
        dataset.get("loans")
    dataset.add("loans", loans_csv)
    with pytest.raises(DatasetNotFound, match="datasets: loans"):
        dataset.get("loan")
    with pytest.raises(DatasetVersionNotFound, match=r"versions: @1 \([0-9a-f]{12}\)"):
        dataset.get("loans@2")


def test_bad_read_options_are_refused(sqlite_workspace, loans_csv, folder) -> None:
    with pytest.raises(InvalidReadOption, match="encoding"):
        dataset.add("loans", loans_csv, encoding="no-such-codec")
    with pytest.raises(InvalidReadOption, match="delimiter"):
        dataset.add("loans", loans_csv, delimiter=";;")
    with pytest.raises(InvalidReadOption, match=r"column_types\['term'\]: .* got 'integer-ish'"):
        dataset.add("loans", loans_csv, column_types={"term": "integer-ish"})
    with pytest.raises(InvalidReadOption, match="not one table format"):
        dataset.add("pets", folder, encoding="latin-1")
    with pytest.raises(InvalidReadOption, match=r"not to a pandas\.DataFrame"):
        dataset.add("frame", pd.DataFrame({"x": [1]}), delimiter=";")


def test_unsupported_source_types_are_refused(sqlite_workspace) -> None:
    with pytest.raises(DatasetSourceError, match=r"got builtins\.list"):
        dataset.add("rows", [1, 2, 3])


def test_file_names_that_could_escape_a_checkout_are_refused(
    sqlite_workspace, isolated: Path
) -> None:
    folder = isolated / "odd"
    folder.mkdir()
    (folder / "back\\slash.txt").write_text("x")
    with pytest.raises(UnsafePath, match="backslash"):
        dataset.add("odd", folder)


_PATH_PIECES = st.sampled_from(
    ["a", "b.csv", ".", "..", "", "/", "\\", "\n", "\x00", "\udc80", "é"]
)


@given(st.lists(st.lists(_PATH_PIECES, max_size=5).map("".join), min_size=1, max_size=6))
def test_a_manifest_read_back_refuses_exactly_the_paths_a_checkout_would(paths: list[str]) -> None:
    """The one-scan check of a whole manifest agrees with the per-path check on every path."""
    from ladder.artifacts.digest import hash_bytes
    from ladder.data.manifest import FORMAT, DatasetManifest
    from ladder.errors import LadderError

    def accepted(path: str) -> bool:
        try:
            check_relative_path(path)
        except UnsafePath:
            return False
        return True

    document = {
        "format": FORMAT,
        "layout": "folder",
        "files": [[p, hash_bytes(p.encode("utf-8", "surrogatepass")), 1] for p in paths],
        "table": None,
    }
    data = json.dumps(document).encode()
    if all(accepted(p) for p in paths):
        assert [e.path for e in DatasetManifest.from_bytes(data).files] == paths
    else:
        with pytest.raises(LadderError):
            DatasetManifest.from_bytes(data)


def test_a_manifest_with_a_bad_digest_or_size_is_refused() -> None:
    from ladder.artifacts.digest import hash_bytes
    from ladder.data.manifest import FORMAT, DatasetManifest
    from ladder.errors import ArtifactCorrupted

    good = hash_bytes(b"x")
    for files, problem in [
        ([["a", good + "\n" + good, 1]], UnsafePath),  # two digests in one entry
        ([["a", good.upper(), 1]], UnsafePath),
        ([["a", good, -1]], ArtifactCorrupted),
        ([["a", good, "1"]], ArtifactCorrupted),
        ([["a", 5, 1]], ArtifactCorrupted),
    ]:
        data = json.dumps({"format": FORMAT, "layout": "folder", "files": files, "table": None})
        with pytest.raises(problem):
            DatasetManifest.from_bytes(data.encode())
