"""The content-addressed artifact store, on local disk and on S3 (moto)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ladder.artifacts import ArtifactStore, hash_bytes
from ladder.errors import ArtifactCorrupted, ArtifactNotFound, UnsafePath


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "artifacts"))
    return ArtifactStore(request.getfixturevalue("s3_uri"))


def _object_count(store: ArtifactStore) -> int:
    return len(store.fs.find(f"{store.root}/objects"))


def test_digests_are_blake3_with_their_algorithm_prefix(store: ArtifactStore) -> None:
    stored = store.put_bytes(b"hello")
    assert stored.digest == "blake3:" + __import__("blake3").blake3(b"hello").hexdigest()
    assert stored.size == 5
    assert store.get_bytes(stored.digest) == b"hello"


def test_equal_content_is_stored_once(store: ArtifactStore, tmp_path: Path) -> None:
    first = tmp_path / "a.bin"
    second = tmp_path / "b.bin"
    first.write_bytes(b"same bytes" * 1000)
    second.write_bytes(b"same bytes" * 1000)
    assert store.put_file(first) == store.put_file(second)
    assert store.put_bytes(b"same bytes" * 1000).digest == store.put_file(first).digest
    assert _object_count(store) == 1


def test_a_file_given_up_by_its_writer_is_moved_into_the_store_once(
    store: ArtifactStore, tmp_path: Path
) -> None:
    scratch = store.scratch_dir() or tmp_path  # a local store's own folder: no copy
    first, second = scratch / "first.json", scratch / "second.json"
    first.write_bytes(b'{"a": 1}')
    second.write_bytes(b'{"a": 1}')
    inode = first.stat().st_ino
    stored = store.put_owned_file(first)
    assert not first.exists()  # moved (or uploaded), never left behind
    assert store.get_bytes(stored.digest) == b'{"a": 1}' and stored.size == 8
    if store.is_local:
        assert os.stat(store.object_path(stored.digest)).st_ino == inode  # renamed, not copied
    assert store.put_owned_file(second) == stored  # already stored: the file is just dropped
    assert not second.exists()
    assert _object_count(store) == 1


def test_a_large_file_round_trips_through_a_verified_copy(
    store: ArtifactStore, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    stored = store.put_file(source)
    target = tmp_path / "out" / "copy.bin"
    store.get_file(stored.digest, target)
    assert target.read_bytes() == source.read_bytes()
    with store.local_copy(stored.digest) as local:
        assert local.read_bytes() == source.read_bytes()


def test_a_directory_is_stored_as_a_manifest_and_restored(
    store: ArtifactStore, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 100)
    (folder / "sub" / "config.json").write_text('{"a": 1}')
    (folder / "sub" / "deeper" / "same.bin").write_bytes(b"w" * 100)
    stored, manifest = store.put_dir(folder)
    assert [e.path for e in manifest.entries] == [
        "sub/config.json",
        "sub/deeper/same.bin",
        "weights.bin",
    ]
    assert stored.size == 208
    # Two equal files share one object; plus one config and the manifest itself.
    assert _object_count(store) == 3
    restored = tmp_path / "restored"
    store.get_dir(stored.digest, restored)
    assert (restored / "sub" / "config.json").read_text() == '{"a": 1}'
    assert (restored / "sub" / "deeper" / "same.bin").read_bytes() == b"w" * 100
    # The same folder gives the same manifest digest.
    assert store.put_dir(folder)[0].digest == stored.digest


def test_corrupted_bytes_raise_artifact_corrupted_and_are_never_returned(
    store: ArtifactStore, tmp_path: Path
) -> None:
    stored = store.put_bytes(b"original content")
    store.fs.pipe_file(store.object_path(stored.digest), b"tampered content")
    with pytest.raises(ArtifactCorrupted, match=stored.digest):
        store.get_bytes(stored.digest)
    target = tmp_path / "dest.bin"
    with pytest.raises(ArtifactCorrupted):
        store.get_file(stored.digest, target)
    assert not target.exists()
    assert not list(tmp_path.glob(".dest.bin.*"))  # no partial file left behind
    with pytest.raises(ArtifactCorrupted), store.local_copy(stored.digest):
        pass


def test_a_truncated_object_is_detected(store: ArtifactStore) -> None:
    stored = store.put_bytes(b"x" * 10_000)
    store.fs.pipe_file(store.object_path(stored.digest), b"x" * 5_000)
    with pytest.raises(ArtifactCorrupted):
        store.get_bytes(stored.digest)


def test_a_missing_object_is_artifact_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    digest = hash_bytes(b"never stored")
    with pytest.raises(ArtifactNotFound):
        store.get_bytes(digest)
    with pytest.raises(ArtifactNotFound):
        store.get_file(digest, tmp_path / "x")


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "0" * 64,
        "blake3:" + "0" * 63,
        "blake3:../../etc/passwd",
        "blake3:" + "G" * 64,
        "",
    ],
)
def test_malformed_digests_are_refused(store: ArtifactStore, digest: str) -> None:
    with pytest.raises(UnsafePath, match="digest"):
        store.get_bytes(digest)


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "artifacts"))
    for index in range(5):
        store.put_bytes(f"object {index}".encode())
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []


def test_a_file_changed_while_stored_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "artifacts"))
    source = tmp_path / "moving.bin"
    source.write_bytes(b"a" * 1000)
    original_copy = __import__("shutil").copyfile

    def copy_then_change(src: str, dst: str) -> str:
        result = original_copy(src, dst)
        with open(source, "ab") as handle:
            handle.write(b"more")
        return result

    import shutil

    shutil.copyfile = copy_then_change  # simulate a writer racing with the copy
    try:
        with pytest.raises(Exception, match="changed while it was being stored"):
            store.put_file(source)
    finally:
        shutil.copyfile = original_copy
    assert _object_count(store) == 0
