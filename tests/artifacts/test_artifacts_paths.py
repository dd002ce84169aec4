"""Artifact names never escape their namespace; a canary outside the store is never touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ladder
from ladder.artifacts import check_artifact_name, safe_destination
from ladder.artifacts.store import Manifest, ManifestEntry
from ladder.errors import UnsafePath

TRAVERSALS = [
    "../canary.txt",
    "../../canary.txt",
    "a/../../canary.txt",
    "a/b/../../../canary.txt",
    "./../canary.txt",
    "..",
    ".",
    "../",
    "..\\canary.txt",
    "a\\..\\..\\canary.txt",
    "..\\\\canary.txt",
    "%2e%2e%2fcanary.txt",
    "%2e%2e/canary.txt",
    "..%2fcanary.txt",
    "%2E%2E%2Fcanary.txt",
    "%252e%252e%252fcanary.txt",
    "%25252e%25252e%25252fcanary.txt",
    "..%5ccanary.txt",
    "%2e%2e%5ccanary.txt",
    "..%c0%afcanary.txt",
    "..%c1%9ccanary.txt",
    "%c0%ae%c0%ae/canary.txt",
    "..;/canary.txt",
    "a/..;/..;/canary.txt",
    "#/../canary.txt",
    "a#/../../canary.txt",
    "?/../canary.txt",
    "../canary.txt\x00.png",
    "canary.txt\x00",
    "\x00../canary.txt",
    "\uff0e\uff0e/canary.txt",  # fullwidth full stops
    "\u2024\u2024/canary.txt",  # one dot leaders
    "\uff0e\uff0e\uff0fcanary.txt",  # fullwidth solidus
    "..\u2215canary.txt",  # division slash
    "..\u2044canary.txt",  # fraction slash
    "\ufe52\ufe52/canary.txt",  # small full stops
    "/etc/passwd",
    "//etc/passwd",
    "/tmp/canary.txt",
    "~/canary.txt",
    "~root/canary.txt",
    "C:\\canary.txt",
    "C:/canary.txt",
    "file:///tmp/canary.txt",
    "file:../canary.txt",
    "s3://bucket/canary.txt",
    "http://example.invalid/x",
    "a//../canary.txt",
    "a/./../../canary.txt",
    " ../canary.txt",
    "../ canary.txt",
    ".. /canary.txt",
    "a/\n../canary.txt",
    "a/\t/../canary.txt",
    "...//canary.txt",
    "",
    " ",
    "a" * 1025,
]


def test_the_corpus_has_at_least_fifty_encodings() -> None:
    assert len(set(TRAVERSALS)) >= 50


@pytest.mark.parametrize("name", TRAVERSALS)
def test_traversal_names_are_refused_and_the_canary_is_untouched(
    name: str, isolated: Path, sqlite_workspace: ladder.RunInfo, tmp_path: Path
) -> None:
    canary = tmp_path.parent / f"canary-{tmp_path.name}.txt"
    canary.write_text("canary")
    before = canary.stat()
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    with ladder.start_run(name="traversal") as run:
        with pytest.raises(UnsafePath):
            run.log_artifact(source, name=name)
        with pytest.raises(UnsafePath):
            run.log_bytes(b"payload", name)
        run.log_artifact(source, name="ok.txt")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises((UnsafePath, ladder.ArtifactNotFound)):
        ladder.download_artifact(run.id, name, dest)
    with pytest.raises(UnsafePath):
        safe_destination(dest, name)
    after = canary.stat()
    assert canary.read_text() == "canary"
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    canary.unlink()


def test_a_crafted_manifest_cannot_write_outside_the_destination(tmp_path: Path) -> None:
    store = ladder.artifacts.ArtifactStore(str(tmp_path / "store"))
    payload = store.put_bytes(b"evil")
    crafted = Manifest((ManifestEntry("../escaped.txt", payload.digest, 4),)).to_bytes()
    manifest_digest = store.put_bytes(crafted).digest
    with pytest.raises(UnsafePath):
        store.get_dir(manifest_digest, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_symlinked_destination_folder_cannot_redirect_writes(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="outside the destination"):
        safe_destination(dest, "link/file.txt")


def test_logging_a_folder_with_a_symlink_pointing_outside_is_refused(
    sqlite_workspace: object, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "canary.txt").write_text("secret")
    folder = tmp_path / "to-log"
    folder.mkdir()
    (folder / "fine.txt").write_text("fine")
    (folder / "escape").symlink_to(secret, target_is_directory=True)
    with ladder.start_run(name="symlinks") as run, pytest.raises(UnsafePath, match="symlink"):
        run.log_artifact(folder, name="folder")
    assert ladder.list_artifacts(run.id) == []


def test_a_symlink_inside_the_logged_folder_is_followed(
    sqlite_workspace: object, tmp_path: Path
) -> None:
    folder = tmp_path / "to-log"
    (folder / "real").mkdir(parents=True)
    (folder / "real" / "a.txt").write_text("a")
    (folder / "alias").symlink_to(folder / "real", target_is_directory=True)
    with ladder.start_run(name="inner-links") as run:
        run.log_artifact(folder, name="folder")
    out = tmp_path / "out"
    ladder.download_artifact(run.id, "folder", out)
    assert (out / "alias" / "a.txt").read_text() == "a"
    assert (out / "real" / "a.txt").read_text() == "a"


@pytest.mark.parametrize(
    "name",
    ["model.pkl", "plots/roc curve.png", "a/b/c.json", "weights-v2 (1).bin", "données/é.csv"],
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert check_artifact_name(name) == name


@given(st.text(max_size=80))
def test_any_accepted_name_stays_inside_its_root(name: str) -> None:
    try:
        check_artifact_name(name)
    except UnsafePath:
        return
    root = Path("/srv/ladder-root")
    joined = os.path.normpath(root / name)
    assert joined.startswith(str(root) + os.sep)
    assert ".." not in name.split("/")
