"""The stat cache, files changing while hashed, and the artifact-store additions for datasets."""

from __future__ import annotations

import builtins
import io
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.artifacts import ArtifactStore, hash_bytes
from ladder.artifacts.digest import hash_file, hash_file_chunked
from ladder.artifacts.store import clone_file
from ladder.data import dataset
from ladder.data.progress import SilentProgress
from ladder.data.stat_cache import CachedDigest, FileState, StatCache
from ladder.errors import DatasetNotFound, SourceChanged
from ladder.workspace import Workspace


class HashedBytes(SilentProgress):
    """Records how many bytes each add hashed."""

    def __init__(self) -> None:
        self.hashed: list[int] = []
        self._stage = ""

    def stage(self, name: str, total: int | None, unit: str) -> None:
        self._stage = name
        if name == "hashing":
            self.hashed.append(total or 0)


def test_re_adding_an_unchanged_folder_hashes_nothing(sqlite_workspace, folder, settle) -> None:
    settle(folder)
    progress = HashedBytes()
    first = dataset.add("pets", folder, progress=progress)
    again = dataset.add("pets", folder, progress=progress)
    assert again == first
    # The folder's listing is the one its last add recorded: not even a 0-byte hashing stage.
    assert progress.hashed[0] > 0 and progress.hashed[1:] == []


class Stages(SilentProgress):
    def __init__(self) -> None:
        self.names: list[str] = []

    def stage(self, name: str, total: int | None, unit: str) -> None:
        self.names.append(name)


def test_each_stage_of_a_folder_add_is_reported_once(sqlite_workspace, folder, settle) -> None:
    settle(folder)
    first, again = Stages(), Stages()
    dataset.add("pets", folder, progress=first)
    dataset.add("pets", folder, progress=again)
    assert first.names[:2] == ["scanning", "hashing"] and len(set(first.names)) == len(first.names)
    assert again.names == ["scanning"]  # known from the folder record: nothing else to do


def test_the_folder_record_is_not_trusted_for_another_name_options_or_a_fresh_write(
    sqlite_workspace, isolated, settle
) -> None:
    folder = isolated / "tables"
    folder.mkdir()
    (folder / "a.csv").write_text("x;y\n1;2\n3;4\n")
    (folder / "b.csv").write_text("x;y\n5;6\n")
    settle(folder)
    progress = HashedBytes()
    first = dataset.add("rows", folder, progress=progress)
    # Another dataset name: a version of its own, from the stat cache (nothing hashed).
    other = dataset.add("other-rows", folder, progress=progress)
    assert (other.name, other.number, other.version_id) == ("other-rows", 1, first.version_id)
    assert progress.hashed[1:] == [0]
    # Other read options: another manifest, another version.
    split = dataset.add("rows", folder, delimiter=";", progress=progress)
    assert split.number == 2 and split.version_id != first.version_id
    assert split.schema is not None and split.schema.names == ["x", "y"]
    # A file written just before the add that recorded the folder: listed again in full.
    (folder / "b.csv").write_text("x;y\n7;8\n")
    ahead = time.time() + 60
    os.utime(folder / "b.csv", (ahead, ahead))
    third = dataset.add("rows", folder, delimiter=";", progress=progress)
    again = dataset.add("rows", folder, delimiter=";", progress=progress)
    assert third.number == 3 and again == third
    assert progress.hashed[-2:] == [len("x;y\n7;8\n")] * 2  # hashed both times: not vouched for


def test_only_changed_files_are_hashed_again(sqlite_workspace, folder, settle) -> None:
    settle(folder)
    progress = HashedBytes()
    dataset.add("pets", folder, progress=progress)
    changed = folder / "cats" / "cat3.bin"
    changed.write_bytes(os.urandom(4096))
    settle(changed)
    second = dataset.add("pets", folder, progress=progress)
    assert progress.hashed[1] == 4096 and second.number == 2


def test_a_file_written_just_before_hashing_is_hashed_again_next_time(
    sqlite_workspace, isolated
) -> None:
    # Its mtime is within one coarse clock tick of the hash: a later same-size write in the
    # same tick would not move the mtime, so the cache must not vouch for it yet. (The mtime
    # is set ahead, like a file server's clock running fast, so a slow test machine cannot
    # let the 100 ms pass between the write and the first hash.)
    path = isolated / "fresh.bin"
    path.write_bytes(b"x" * 100)
    ahead = time.time() + 60
    os.utime(path, (ahead, ahead))
    progress = HashedBytes()
    dataset.add("fresh", path, progress=progress)
    dataset.add("fresh", path, progress=progress)
    assert progress.hashed == [100, 100]


def test_a_same_size_rewrite_with_a_new_mtime_is_detected(
    sqlite_workspace, isolated, settle
) -> None:
    path = isolated / "data.bin"
    path.write_bytes(b"a" * 64)
    settle(path)
    first = dataset.add("blob", path)
    path.write_bytes(b"b" * 64)
    second = dataset.add("blob", path)
    assert second.number == 2 and second.version_id != first.version_id


class ModifyWhileHashing(SilentProgress):
    def __init__(self, target: Path) -> None:
        self.target = target
        self.stage_name = ""
        self.done = False

    def stage(self, name: str, total: int | None, unit: str) -> None:
        self.stage_name = name

    def advance(self, amount: int) -> None:
        if self.stage_name == "hashing" and not self.done:
            self.done = True
            with self.target.open("ab") as handle:
                handle.write(b"appended while hashing")


@pytest.mark.parametrize("size", [4096, 3 * 1024 * 1024], ids=["small", "large"])
def test_a_file_modified_while_hashed_is_refused_and_nothing_recorded(
    sqlite_workspace, isolated, size
) -> None:
    path = isolated / "growing.bin"
    path.write_bytes(os.urandom(size))
    with pytest.raises(SourceChanged, match=r"growing.bin: modified while it was being"):
        dataset.add("growing", path, progress=ModifyWhileHashing(path))
    with pytest.raises(DatasetNotFound):
        dataset.get("growing")
    assert dataset.add("growing", path).number == 1  # once it is stable it versions normally


def _opened_under(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every open of a file under ``root``, by ``os.open`` or ``open``."""
    opened: list[str] = []
    real_os_open, real_io_open = os.open, io.open
    prefix = str(root.resolve()) + os.sep

    def note(path: object) -> None:
        if isinstance(path, (str, os.PathLike)) and os.path.realpath(path).startswith(prefix):
            opened.append(os.path.realpath(path))

    def os_open(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        note(path)
        return real_os_open(path, flags, mode, **kwargs)

    def io_open(file: object, *args: object, **kwargs: object) -> object:
        note(file)
        return real_io_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
    return opened


def _leftover_temps(workspace: Workspace) -> list[Path]:
    root = Path(workspace.artifacts.root)
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name == "tmp"] + list(
        root.rglob(".*.tmp")
    )


def test_a_cold_add_of_a_folder_reads_each_small_file_once(
    workspace: Workspace, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(str(p.resolve()) for p in folder.rglob("*") if p.is_file())
    contents = {path: Path(path).read_bytes() for path in files}
    opened = _opened_under(folder, monkeypatch)
    version = dataset.add("pets", folder)
    monkeypatch.undo()
    assert sorted(opened) == files
    for entry in version.manifest.files:
        assert workspace.artifacts.get_bytes(entry.digest) == contents[str(folder / entry.path)]
    assert _leftover_temps(workspace) == []


def test_a_file_changed_between_hashing_and_publishing_is_refused_and_not_stored(
    workspace: Workspace, folder: Path
) -> None:
    target = folder / "dogs" / "dog0.bin"
    original = os.urandom(777)  # the only file of this size: its read is recognised
    target.write_bytes(original)

    class ModifyAfterReading(SilentProgress):
        stage_name = ""

        def stage(self, name: str, total: int | None, unit: str) -> None:
            self.stage_name = name

        def advance(self, amount: int) -> None:
            # Called by the worker that has just read the file, before it stores its bytes.
            if self.stage_name == "hashing" and amount == len(original):
                with target.open("r+b") as handle:
                    handle.write(b"rewritten after it was read")

    with pytest.raises(SourceChanged, match=r"dog0.bin: modified while it was being stored"):
        dataset.add("pets", folder, progress=ModifyAfterReading())
    assert workspace.artifacts.missing([hash_bytes(original)]) == {hash_bytes(original)}
    assert _leftover_temps(workspace) == []
    with pytest.raises(DatasetNotFound):
        dataset.get("pets")


def test_a_file_modified_while_profiled_is_refused(sqlite_workspace, isolated, make_loans) -> None:
    path = isolated / "loans.csv"
    make_loans().to_csv(path, index=False)

    class ModifyWhileProfiling(SilentProgress):
        stage_name = ""

        def stage(self, name: str, total: int | None, unit: str) -> None:
            self.stage_name = name
            if name == "profiling":
                with path.open("a") as handle:
                    handle.write("1.0,12,A,True\n")

    with pytest.raises(SourceChanged):
        dataset.add("loans", path, progress=ModifyWhileProfiling())
    with pytest.raises(DatasetNotFound):
        dataset.get("loans")


def test_stat_cache_trusts_only_unchanged_settled_entries(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "cache.db")
    now = time.time_ns()
    old = FileState(10, now - 10_000_000_000, 7)
    cache.record([("/data/a.bin", CachedDigest.of(old, hash_bytes(b"a"), now))])
    entry = cache.lookup("/data/a.bin")
    assert entry is not None and entry.valid_for(old)
    assert not entry.valid_for(FileState(11, old.mtime_ns, 7))
    assert not entry.valid_for(FileState(10, old.mtime_ns + 1, 7))
    assert not entry.valid_for(FileState(10, old.mtime_ns, 8))
    racy = CachedDigest.of(FileState(10, now - 1_000_000, 7), hash_bytes(b"a"), now)
    assert not racy.valid_for(racy.state)
    coarse = CachedDigest.of(
        FileState(10, (now // 10**9) * 10**9 - 10**9, 7), hash_bytes(b"a"), now
    )
    assert not coarse.valid_for(coarse.state)  # whole-second mtimes need two seconds


def test_stat_cache_tree_lookup_covers_exactly_one_folder(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "cache.db")
    state = FileState(1, 1, 1)
    cache.record(
        (path, CachedDigest.of(state, hash_bytes(path.encode()), 2**62))
        for path in ("/d/x", "/d/sub/y", "/d0/z", "/d-1/w", "/dd/v")
    )
    assert set(cache.lookup_tree("/d")) == {"x", "sub/y"}


# -- artifact store additions ------------------------------------------------------------
@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "artifacts"))
    return ArtifactStore(request.getfixturevalue("s3_uri"))


def test_missing_reports_digests_without_objects(store: ArtifactStore) -> None:
    # more than 64 digests: an object store answers from per-prefix listings, not one HEAD each
    present = [store.put_bytes(f"object {i}".encode()).digest for i in range(60)]
    absent = [hash_bytes(f"absent {i}".encode()) for i in range(10)]
    assert store.missing(present + absent) == set(absent)
    assert store.missing(absent[:3] + present[:3]) == set(absent[:3])
    assert store.missing([]) == set()


def test_put_hashed_file_stores_a_file_under_its_known_digest(
    store: ArtifactStore, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(100_000))
    digest, size = hash_file(path)
    stored = store.put_hashed_file(path, digest, path.stat())
    assert (stored.digest, stored.size) == (digest, size)
    assert store.get_bytes(digest) == path.read_bytes()
    assert store.put_hashed_file(path, digest, path.stat()) == stored  # already there


def test_put_hashed_file_refuses_a_file_changed_since_it_was_hashed(
    store: ArtifactStore, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"first content")
    before = path.stat()
    digest, _ = hash_file(path)
    path.write_bytes(b"second content, longer")
    with pytest.raises(SourceChanged):
        store.put_hashed_file(path, digest, before)
    assert store.missing([digest]) == {digest}


def test_put_file_content_stores_bytes_read_from_an_unchanged_file(
    store: ArtifactStore, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    data = os.urandom(10_000)
    path.write_bytes(data)
    before = path.stat()
    digest = hash_bytes(data)
    assert store.put_file_content(path, data, digest, before) is True
    assert store.get_bytes(digest) == data
    assert store.put_file_content(path, data, digest, before) is False  # equal content: once


def test_put_file_content_refuses_a_file_changed_since_it_was_read(
    store: ArtifactStore, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"first content")
    before = path.stat()
    data = path.read_bytes()
    path.write_bytes(b"second content, longer")
    with pytest.raises(SourceChanged, match=r"data.bin: modified while it was being stored"):
        store.put_file_content(path, data, hash_bytes(data), before)
    assert store.missing([hash_bytes(data)]) == {hash_bytes(data)}
    if store.is_local:
        assert [p for p in Path(store.root).rglob("*") if p.is_file()] == []


def test_clone_file_copies_content_into_an_independent_file(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    target = tmp_path / "b.bin"
    clone_file(source, target)
    assert target.read_bytes() == source.read_bytes()
    target.write_bytes(b"changed")
    assert source.stat().st_size == 3 * 1024 * 1024 + 5
    with pytest.raises(FileExistsError):
        clone_file(source, target)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 5 * 16384 + 4096 + 7))
def test_a_large_file_is_copied_exactly_around_the_page_cache(size: int) -> None:
    """O_DIRECT copies: whole chunks, whole blocks and a partial last block all arrive intact."""
    from ladder.artifacts import store

    with (
        tempfile.TemporaryDirectory(dir=Path.cwd()) as folder,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(store, "DIRECT_WRITE_MIN", 1)
        patch.setattr(store, "_DIRECT_CHUNK", 16384)
        direct_writes: list[int] = []
        real_open = os.open

        def recording_open(path, flags, *args):  # type: ignore[no-untyped-def]
            if flags & getattr(os, "O_DIRECT", 0):
                direct_writes.append(size)
            return real_open(path, flags, *args)

        patch.setattr(os, "open", recording_open)
        source, target = Path(folder) / "a.bin", Path(folder) / "b.bin"
        content = os.urandom(size)
        source.write_bytes(content)
        clone_file(source, target)
        assert target.read_bytes() == content
        assert direct_writes == [size]  # the copy went the O_DIRECT way


def test_a_file_system_without_o_direct_gets_an_ordinary_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ladder.artifacts import store

    monkeypatch.setattr(store, "DIRECT_WRITE_MIN", 1)
    real_open = os.open

    def refusing_open(path, flags, *args):  # type: ignore[no-untyped-def]
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(22, "Invalid argument")  # what tmpfs answers
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    source, target = tmp_path / "a.bin", tmp_path / "b.bin"
    source.write_bytes(os.urandom(100_003))
    clone_file(source, target)
    assert target.read_bytes() == source.read_bytes()


def test_chunked_hashing_matches_whole_file_hashing_and_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(5 * 1024 * 1024 + 3))
    seen: list[int] = []
    assert hash_file_chunked(path, seen.append, chunk=1024 * 1024) == hash_file(path)
    assert sum(seen) == path.stat().st_size and len(seen) == 6
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert hash_file_chunked(empty) == (hash_bytes(b""), 0)


_FILE = st.tuples(
    st.text(alphabet="abc/é.", min_size=1, max_size=8),
    st.integers(0, 2**40),
    st.integers(0, 2**62),
    st.integers(0, 2**63),
)


@given(st.lists(_FILE, min_size=1, max_size=6, unique_by=lambda f: f[0]), st.data())
def test_a_folder_listing_digest_changes_with_any_name_size_mtime_or_inode(
    listed: list[tuple[str, int, int, int]], data: st.DataObject
) -> None:
    from ladder.data.snapshot import ListedStat, SourceFile, listing_digest

    def files(rows: list[tuple[str, int, int, int]]) -> list[SourceFile]:
        return [
            SourceFile(name, "/x/" + name, ListedStat(size, mtime, ino))
            for name, size, mtime, ino in rows
        ]

    digest, newest = listing_digest(files(listed))
    assert newest == max(row[2] for row in listed)
    assert listing_digest(files(list(listed))) == (digest, newest)  # deterministic
    index = data.draw(st.integers(0, len(listed) - 1))
    field = data.draw(st.integers(0, 3))
    row = list(listed[index])
    row[field] = row[field] + "z" if field == 0 else row[field] + 1
    changed = [*listed[:index], tuple(row), *listed[index + 1 :]]
    assert listing_digest(files(changed))[0] != digest  # type: ignore[arg-type]
