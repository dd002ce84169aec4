"""Adding and getting dataset versions: ids, numbering, dedupe, sources, lineage, backends."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import ladder
from ladder.data import DatasetVersion, dataset
from ladder.data.progress import SilentProgress
from ladder.errors import DatasetVersionNotFound, NotTabular


def _objects(ws) -> int:
    return len(ws.artifacts.fs.find(f"{ws.artifacts.root}/objects"))


def test_a_csv_file_becomes_version_1_with_schema_profile_and_sample(workspace, loans_csv) -> None:
    ds = ladder.dataset.add("loans", loans_csv, description="first export")
    assert isinstance(ds, DatasetVersion)
    assert (ds.name, ds.number, ds.description) == ("loans", 1, "first export")
    assert len(ds.version_id) == 64 and ds.ref == f"loans@{ds.version_id}"
    assert ds.table_format == "csv" and ds.row_count == 500 and ds.file_count == 1
    assert ds.schema is not None and ds.schema.names == ["amount", "term", "grade", "approved"]
    assert [c.kind for c in ds.schema.columns] == [
        "numeric",
        "numeric",
        "categorical",
        "categorical",
    ]
    assert ds.profile is not None and ds.profile.row_count == 500
    assert ds.sample is not None and ds.sample.rows == 500 and ds.sample.complete
    assert ds.to_pandas().equals(pd.read_csv(loans_csv))


def test_get_resolves_numbers_latest_ids_and_prefixes(workspace, loans_csv, make_loans) -> None:
    first = dataset.add("loans", loans_csv)
    make_loans(rows=300, seed=2).to_csv(loans_csv, index=False)
    second = dataset.add("loans", loans_csv)
    assert second.number == 2 and second.version_id != first.version_id
    assert dataset.get("loans@1") == first
    assert dataset.get("loans@latest") == second
    assert dataset.get("loans") == second
    assert dataset.get(f"loans@{first.version_id}") == first
    assert dataset.get(f"loans@{first.version_id[:10]}") == first
    assert dataset.get(first.ref).number == 1
    assert [v.number for v in dataset.versions("loans")] == [1, 2]


def test_adding_unchanged_content_returns_the_existing_version(workspace, loans_csv) -> None:
    first = dataset.add("loans", loans_csv)
    objects = _objects(workspace)
    again = dataset.add("loans", loans_csv)
    assert again == first and again.number == 1
    assert len(dataset.versions("loans")) == 1
    assert _objects(workspace) == objects


def test_the_same_content_gets_the_same_id_from_any_place(workspace, loans_csv, isolated) -> None:
    copy = isolated / "elsewhere" / "loans.csv"
    copy.parent.mkdir()
    copy.write_bytes(loans_csv.read_bytes())
    assert dataset.add("a", loans_csv).version_id == dataset.add("b", copy).version_id


def test_a_folder_version_stores_only_the_files_that_changed(workspace, folder) -> None:
    first = dataset.add("pets", folder)
    assert first.file_count == 11 and first.table_format is None
    before = _objects(workspace)
    (folder / "cats" / "cat0.bin").write_bytes(b"a new cat")
    (folder / "dogs" / "dog9.bin").write_bytes(b"a new dog")
    second = dataset.add("pets", folder)
    assert second.number == 2 and second.file_count == 12
    # two new file contents + one manifest: the ten unchanged files are not stored again
    assert _objects(workspace) == before + 3
    changes = {(f.path, f.change) for f in dataset.diff("pets@1", "pets@2").files}
    assert changes == {("cats/cat0.bin", "changed"), ("dogs/dog9.bin", "added")}


def test_a_folder_round_trips_through_checkout_and_path(workspace, folder, isolated) -> None:
    ds = dataset.add("pets", folder)
    out = dataset.checkout("pets@1", isolated / "restored")
    for original in folder.rglob("*"):
        if original.is_file():
            relative = original.relative_to(folder)
            assert (out / relative).read_bytes() == original.read_bytes()
            assert (ds.path() / relative).read_bytes() == original.read_bytes()
    assert ds.path().is_dir()
    with pytest.raises(NotTabular, match="plain files"):
        ds.to_pandas()


def test_checkout_rewrites_only_files_that_differ(sqlite_workspace, folder, isolated) -> None:
    dataset.add("pets", folder)
    dest = isolated / "work"
    dataset.checkout("pets@1", dest)
    untouched = dest / "dogs" / "dog1.bin"
    inode = untouched.stat().st_ino
    (dest / "cats" / "cat1.bin").write_bytes(b"edited")
    dataset.checkout("pets@1", dest)
    assert (dest / "cats" / "cat1.bin").read_bytes() == (folder / "cats" / "cat1.bin").read_bytes()
    assert untouched.stat().st_ino == inode  # left alone, not rewritten


def test_equal_dataframes_give_equal_digests(workspace, make_loans) -> None:
    first = dataset.add("frame", make_loans())
    second = dataset.add("frame", make_loans())  # built again, equal content
    assert second == first and second.number == 1
    changed = make_loans()
    changed.loc[0, "amount"] = -1.0
    assert dataset.add("frame", changed).number == 2


def test_dataframe_versions_read_back_as_the_same_frame(sqlite_workspace, make_loans) -> None:
    frame = make_loans().set_index("grade")
    ds = dataset.add("indexed", frame)
    assert ds.path().name == "data.parquet"
    pd.testing.assert_frame_equal(ds.to_pandas(), frame)
    assert "grade" not in ds.schema.names  # the pandas index is kept, not profiled as data


def test_polars_and_arrow_sources_are_tabular(sqlite_workspace, make_loans) -> None:
    frame = make_loans()
    from_polars = dataset.add("pl", pl.from_pandas(frame))
    from_arrow = dataset.add("pa", pa.Table.from_pandas(frame, preserve_index=False))
    assert from_polars.row_count == from_arrow.row_count == 500
    assert from_polars.to_arrow().column("amount").to_pylist() == frame["amount"].tolist()
    assert from_arrow.profile.column("grade").categories == {"A", "B", "C"}


def test_parquet_and_json_lines_files_are_tabular(sqlite_workspace, isolated, make_loans) -> None:
    frame = make_loans()
    frame.to_parquet(isolated / "loans.parquet")
    frame.to_json(isolated / "loans.jsonl", orient="records", lines=True)
    parquet = dataset.add("pq", isolated / "loans.parquet")
    jsonl = dataset.add("js", isolated / "loans.jsonl")
    assert parquet.table_format == "parquet" and jsonl.table_format == "jsonl"
    assert parquet.to_pandas()["term"].tolist() == frame["term"].tolist()
    assert jsonl.to_pandas()["grade"].tolist() == frame["grade"].tolist()


def test_a_folder_of_csv_parts_is_one_table(sqlite_workspace, isolated, make_loans) -> None:
    parts = isolated / "parts"
    parts.mkdir()
    frame = make_loans()
    frame.iloc[:200].to_csv(parts / "part-0.csv", index=False)
    frame.iloc[200:].to_csv(parts / "part-1.csv", index=False)
    (parts / "_SUCCESS").write_text("")
    ds = dataset.add("parts", parts)
    assert ds.table_format == "csv" and ds.row_count == 500 and ds.file_count == 3
    assert ds.to_pandas()["amount"].tolist() == frame["amount"].tolist()


def test_csv_read_options_are_part_of_the_version(sqlite_workspace, isolated) -> None:
    path = isolated / "zips.csv"
    path.write_text("zip;city\n01234;Boston\n94105;San Francisco\n")
    plain = dataset.add("zips", path, delimiter=";")
    typed = dataset.add("zips", path, delimiter=";", column_types={"zip": "string"})
    assert typed.number == 2 and typed.version_id != plain.version_id
    assert plain.to_pandas()["zip"].tolist() == [1234, 94105]
    assert typed.to_pandas()["zip"].tolist() == ["01234", "94105"]


def test_add_inside_a_run_records_the_producer_and_use_dataset_the_consumer(
    workspace, loans_csv
) -> None:
    with ladder.start_run(name="prepare") as producer:
        ds = ladder.dataset.add("loans", loans_csv)
    with ladder.start_run(name="train") as consumer:
        consumer.use_dataset(ladder.dataset.get("loans@1"), role="train")
    assert ds.created_by_run == producer.id
    produced, used = ds.lineage()
    assert [(link.run_id, link.role) for link in produced] == [(producer.id, "produced")]
    assert [(link.run_id, link.role) for link in used] == [(consumer.id, "train")]
    links = ladder.tracking.run_links(kind="dataset", ref=ds.ref)
    assert {link.direction for link in links} == {"input", "output"}


def test_a_missing_version_lists_the_existing_ones(workspace, loans_csv) -> None:
    dataset.add("loans", loans_csv)
    with pytest.raises(DatasetVersionNotFound, match=r"loans@7: no such version; versions: @1 \("):
        dataset.get("loans@7")
    with pytest.raises(DatasetVersionNotFound, match="versions: @1"):
        dataset.get("loans@abcdef0123")


def test_list_datasets_shows_each_latest_version(workspace, loans_csv, folder) -> None:
    dataset.add("loans", loans_csv)
    dataset.add("pets", folder)
    (folder / "new.bin").write_bytes(b"x")
    dataset.add("pets", folder)
    summary = {s.name: (s.versions, s.latest.number) for s in dataset.list_datasets()}
    assert summary == {"loans": (1, 1), "pets": (2, 2)}


def test_concurrent_adds_get_distinct_numbers(workspace, isolated, make_loans) -> None:
    sources = []
    for i in range(4):
        path = isolated / f"v{i}.csv"
        make_loans(rows=50, seed=i).to_csv(path, index=False)
        sources.append(path)
    errors: list[BaseException] = []

    def add(path: Path) -> None:
        try:
            dataset.add("shared", path, workspace=workspace)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(p,)) for p in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(v.number for v in dataset.versions("shared")) == [1, 2, 3, 4]


def test_versions_work_with_an_s3_artifact_store(isolated, s3_uri, monkeypatch, folder) -> None:
    monkeypatch.setenv("LADDER_ARTIFACT_URI", s3_uri)
    from ladder.db import forget_stores

    try:
        ds = dataset.add("pets", folder)
        frame = dataset.add("table", pd.DataFrame({"x": [1, 2, 3]}))
        assert frame.to_pandas()["x"].tolist() == [1, 2, 3]
        out = ds.checkout(isolated / "out")
        assert (out / "README.txt").read_text() == "labelled pets\n"
        assert dataset.add("pets", folder) == ds
    finally:
        forget_stores()


def test_progress_reports_each_stage(sqlite_workspace, loans_csv) -> None:
    stages: list[tuple[str, int | None, str]] = []

    class Recorder(SilentProgress):
        def stage(self, name: str, total: int | None, unit: str) -> None:
            stages.append((name, total, unit))

    dataset.add("loans", loans_csv, progress=Recorder())
    names = [name for name, _, _ in stages]
    assert names[:3] == ["scanning", "hashing", "storing"] and "profiling" in names
    assert stages[1] == ("hashing", os.path.getsize(loans_csv), "bytes")
