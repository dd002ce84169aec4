"""Listing a dataset folder: the C listing agrees with the walk in Python, file for file.

``ladder.data._listing`` is built at install where a C compiler is found; its
tests skip where it is not (``.ci/run`` checks that CI built it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.data import snapshot
from ladder.data.snapshot import FolderListing, SourceFile, list_folder, listing_digest
from ladder.errors import DatasetSourceError, EmptyDataset, UnsafePath

native = pytest.mark.skipif(
    snapshot._native_listing is None,
    reason="ladder.data._listing was not built (no C compiler at install)",
)


def walked_in_python(root: Path, monkeypatch: pytest.MonkeyPatch) -> FolderListing:
    with monkeypatch.context() as patch:
        patch.setattr(snapshot, "_native_listing", None)
        return list_folder(root)


def comparable(files: list[SourceFile]) -> list[tuple[str, str, int, int, int]]:
    return [(f.relative, f.path, f.stat.st_size, f.stat.st_mtime_ns, f.stat.st_ino) for f in files]


# Names around the characters that order before and after "/" ("-", ".", "0"), spaces and
# multi-byte UTF-8, so the C order (a folder sorts as its name + "/") is put to the test.
_NAME = st.text(alphabet="ab-.0 /é日_", min_size=1, max_size=6).filter(
    lambda name: "/" not in name and name not in (".", "..")
)
_TREE = st.recursive(
    st.binary(max_size=64),
    lambda children: st.dictionaries(_NAME, children, min_size=1, max_size=5),
    max_leaves=25,
)


def _write(root: Path, tree: bytes | dict) -> None:
    if isinstance(tree, bytes):
        root.write_bytes(tree)
        return
    root.mkdir()
    for name, child in tree.items():
        _write(root / name, child)


@native
@settings(max_examples=60, deadline=None)
@given(tree=st.dictionaries(_NAME, _TREE, min_size=1, max_size=6))
def test_the_c_listing_equals_the_python_walk(tree: dict) -> None:
    with tempfile.TemporaryDirectory() as temporary, pytest.MonkeyPatch.context() as patch:
        root = Path(temporary) / "data"
        _write(root, tree)  # every folder holds at least one entry: there is a file
        listed = list_folder(root)
        walked = walked_in_python(root, patch)
        assert listed._native is not None  # listed in C, files not yet built
        assert (listed.digest, listed.newest_mtime_ns) == (walked.digest, walked.newest_mtime_ns)
        assert len(listed) == len(walked)
        assert comparable(listed.files) == comparable(walked.files)
        assert [f.relative for f in listed.files] == sorted(f.relative for f in listed.files)
        assert listing_digest(listed.files) == (listed.digest, listed.newest_mtime_ns)


@native
def test_a_folder_sorts_as_its_name_followed_by_a_slash(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "z").write_bytes(b"1")
    (root / "a-b").write_bytes(b"2")  # "-" (0x2d) sorts before "/" (0x2f)
    (root / "a0").write_bytes(b"3")  # "0" (0x30) after it
    listed = list_folder(root)
    assert listed._native is not None
    assert [f.relative for f in listed.files] == ["a-b", "a/z", "a0"]


@native
def test_a_listing_with_a_symlink_is_walked_in_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "real.bin").write_bytes(b"x" * 10)
    (root / "link.bin").symlink_to(root / "real.bin")
    listed = list_folder(root)
    assert listed._native is None  # the C listing declined; the walk followed the link
    assert [f.relative for f in listed.files] == ["link.bin", "real.bin"]
    assert comparable(listed.files) == comparable(walked_in_python(root, monkeypatch).files)


@pytest.mark.parametrize("in_c", [True, False], ids=["c-first", "python-only"])
def test_bad_folders_get_the_same_errors_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool
) -> None:
    if in_c and snapshot._native_listing is None:
        pytest.skip("ladder.data._listing was not built (no C compiler at install)")
    if not in_c:
        monkeypatch.setattr(snapshot, "_native_listing", None)

    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"secret")
    cases: list[tuple[str, type[Exception], str]] = []

    escaping = tmp_path / "escaping"
    escaping.mkdir()
    (escaping / "link").symlink_to(outside)
    cases.append(("escaping", UnsafePath, "points outside"))

    backslash = tmp_path / "backslash"
    backslash.mkdir()
    (backslash / "a\\b.csv").write_bytes(b"1")
    cases.append(("backslash", UnsafePath, "backslash"))

    latin1 = tmp_path / "latin1"
    latin1.mkdir()
    (Path(os.fsdecode(bytes(latin1) + b"/caf\xe9.csv"))).write_bytes(b"1")
    cases.append(("latin1", UnsafePath, "not UTF-8"))

    fifo = tmp_path / "fifo"
    (fifo / "deep").mkdir(parents=True)
    (fifo / "deep" / "file.bin").write_bytes(b"1")
    os.mkfifo(fifo / "deep" / "pipe")
    cases.append(("fifo", DatasetSourceError, "special file"))

    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    cases.append(("empty", EmptyDataset, "holds no files"))

    cases.append(("missing", DatasetSourceError, "no such file or directory"))

    for name, error, words in cases:
        with pytest.raises(error, match=words):
            list_folder(tmp_path / name)


@native
def test_a_deep_folder_is_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the C listing's depth limit the walk in Python takes over, with the same result."""
    root = tmp_path / "data"
    deep = root
    for level in range(210):
        deep = deep / f"d{level % 10}"
    deep.mkdir(parents=True)
    (deep / "leaf.txt").write_bytes(b"leaf")
    (root / "top.txt").write_bytes(b"top")
    listed = list_folder(root)
    assert len(listed) == 2
    assert comparable(listed.files) == comparable(walked_in_python(root, monkeypatch).files)
