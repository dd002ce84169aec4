"""Dataset versioning, Ladder against DVC on the same files.

    python benchmarks/data_vs_dvc.py            # the issue's sizes: 1 GiB, 10,000 × 10 KiB, 100,000
    python benchmarks/data_vs_dvc.py --quick    # 64 MiB, 1,000 × 10 KiB, 10,000: a smoke run

Scenarios, each timed once, wall clock and CPU time, through the command
line of each tool (``ladder data add`` and ``dvc add``, each a fresh process,
as users run them): cold add, re-add unchanged, and re-add after changing 10
files of the folder. Ladder runs in a fresh store; DVC in a fresh ``git
init`` + ``dvc init`` repository under benchmarks/.work/, on an identical copy
of the files (``dvc add`` replaces each added file by a copy from its cache,
which would otherwise look like an edit to Ladder). The same operations are
also timed in-process, each tool through its own Python API in a warm process:
Ladder's SDK (``ladder.dataset.add``) against DVC's (``dvc.repo.Repo.add``,
one ``Repo`` kept open in a DVC process, on a third copy of the files in a
second repository). That pair leaves out interpreter start-up and imports on
both sides: the command-line pair keeps them. Then Ladder alone
re-adds an unchanged folder of 100,000 small files, and a large add is
compared with raw BLAKE3 hashing plus one copy of the same file.

Each comparison prints ``<name>: ladder X s, dvc Y s, ratio Z`` (Z = Ladder
time / DVC time: below 1 Ladder is faster) followed by the speed-up and the
goal. Scratch data is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import peer_python, ratio_line
from ladder.artifacts.store import clone_file

WORK = Path(__file__).resolve().parent / ".work" / "data_vs_dvc"
MIB = 1024 * 1024


def write_random_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            chunk = min(remaining, 64 * MIB)
            handle.write(os.urandom(chunk))
            remaining -= chunk


def write_folder(root: Path, count: int, size: int) -> None:
    for index in range(count):
        path = root / f"part{index // 1000:03d}" / f"file{index:06d}.bin"
        if index % 1000 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


class Timing(NamedTuple):
    """Wall-clock seconds, and CPU seconds (user + system: unaffected by other load)."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Timing:
    os.sync()  # no measurement pays for the write-back of files the one before it wrote
    cpu, started = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return Timing(elapsed, _children_cpu() - cpu)


def timed_call(work: Callable[[], object]) -> Timing:
    os.sync()
    cpu, started = time.process_time(), time.perf_counter()
    work()
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def report(name: str, ladder: Timing, dvc: Timing, goal: float | None) -> str:
    speedup = dvc.wall / ladder.wall if ladder.wall else float("inf")
    line = ratio_line(name, ladder.wall, "dvc", dvc.wall, "s") + f" (Ladder {speedup:.1f}× faster"
    if goal is not None:
        line += f"; goal ≥ {goal:g}×: {'met' if speedup >= goal else 'NOT met'}"
    line += (
        f"; CPU s: ladder {ladder.cpu:.2f}, dvc {dvc.cpu:.2f}, ratio {ladder.cpu / dvc.cpu:.2f})"
    )
    print(line, flush=True)
    return line


class Tools:
    """The command lines and the in-process SDK, each with its own fresh store."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.cli_home = WORK / "ladder-cli"
        self.sdk_home = WORK / "ladder-sdk"
        for home in (self.cli_home, self.sdk_home):
            (home / ".ladder").mkdir(parents=True)
        dvc_python = peer_python("dvc", ["dvc"])
        self.dvc = str(dvc_python.parent / "dvc")
        base = {k: v for k, v in os.environ.items() if not k.startswith("LADDER_")}
        self.dvc_env = {**base, "DVC_NO_ANALYTICS": "1"}
        self.ladder_env = {**base, "LADDER_HOME": str(self.cli_home), "COLUMNS": "120"}
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run([self.dvc, "init", "-q"], cwd=repo, env=self.dvc_env, check=True)
        subprocess.run(
            [self.dvc, "config", "core.analytics", "false"], cwd=repo, env=self.dvc_env, check=True
        )
        from ladder.workspace import open_workspace

        self.workspace = open_workspace(self.sdk_home)

    def ladder_cli(self, name: str, path: Path) -> Timing:
        return timed(
            [sys.executable, "-m", "ladder.cli", "data", "add", name, str(path)],
            self.repo,
            self.ladder_env,
        )

    def ladder_sdk(self, name: str, path: Path) -> Timing:
        from ladder.data import dataset

        return timed_call(lambda: dataset.add(name, path, workspace=self.workspace))

    def dvc_add(self, path: Path) -> Timing:
        return timed(
            [self.dvc, "add", "-q", str(path.relative_to(self.repo))], self.repo, self.dvc_env
        )


DVC_API_SERVER = r"""
import json, os, sys, time
reply = os.fdopen(os.dup(1), "w")
quiet = os.open(os.devnull, os.O_WRONLY)
os.dup2(quiet, 1)
os.dup2(quiet, 2)
from dvc.repo import Repo
repo = Repo(sys.argv[1])
reply.write("ready\n"); reply.flush()
for line in sys.stdin:
    cpu, started = time.process_time(), time.perf_counter()
    repo.add(line.strip())
    wall = time.perf_counter() - started
    reply.write(json.dumps([wall, time.process_time() - cpu]) + "\n"); reply.flush()
"""


class DvcApi:
    """DVC through its Python API: one process, one open ``Repo``, timed inside that process."""

    def __init__(self, repo: Path, python: Path, env: dict[str, str]) -> None:
        self.repo = repo
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        dvc = str(python.parent / "dvc")
        subprocess.run([dvc, "init", "-q"], cwd=repo, env=env, check=True)
        subprocess.run([dvc, "config", "core.analytics", "false"], cwd=repo, env=env, check=True)
        self.process = subprocess.Popen(
            [str(python), "-c", DVC_API_SERVER, str(repo)],
            cwd=repo,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.replies = self.process.stdin, self.process.stdout
        if self.replies.readline().strip() != "ready":
            raise RuntimeError("the DVC API process did not start")

    def add(self, path: Path) -> Timing:
        os.sync()
        self.requests.write(f"{path.relative_to(self.repo)}\n")
        self.requests.flush()
        reply = self.replies.readline()
        if not reply:
            raise RuntimeError(f"the DVC API process failed adding {path}")
        wall, cpu = json.loads(reply)
        return Timing(wall, cpu)

    def close(self) -> None:
        self.requests.close()
        self.process.wait(timeout=60)


def compare(
    tools: Tools,
    api: DvcApi,
    label: str,
    name: str,
    path: Path,
    twins: tuple[Path, Path],
    goal: float,
) -> list[str]:
    """Ladder adds ``path``; DVC adds ``twins``, identical copies inside its two repositories.

    Each tool gets its own copy because ``dvc add`` replaces the workspace file by
    a fresh copy from its cache (new inode and mtime), which would look like a
    change to Ladder's stat cache.
    """
    cli = tools.ladder_cli(name, path)
    sdk = tools.ladder_sdk(name, path)
    dvc = tools.dvc_add(twins[0])
    dvc_api = api.add(twins[1])
    return [
        report(f"{label} (command lines)", cli, dvc, goal),
        report(f"{label} (in-process: Ladder SDK, DVC API)", sdk, dvc_api, goal),
    ]


def startup(tools: Tools) -> str:
    """What a no-op command costs each tool: interpreter start-up and imports."""
    ladder = timed(
        [sys.executable, "-m", "ladder.cli", "data", "--help"], tools.repo, tools.ladder_env
    )
    dvc = timed([tools.dvc, "add", "--help"], tools.repo, tools.dvc_env)
    line = (
        f"start-up (help of the add command): ladder {ladder.wall:.2f} s (CPU {ladder.cpu:.2f}), "
        f"dvc {dvc.wall:.2f} s (CPU {dvc.cpu:.2f})"
    )
    print(line, flush=True)
    return line


def raw_speed(path: Path) -> list[str]:
    from ladder.artifacts.digest import hash_file
    from ladder.data import dataset
    from ladder.workspace import open_workspace

    size = path.stat().st_size
    hash_s = timed_call(lambda: hash_file(path)).wall
    copy_target = WORK / "copy.tmp"
    plain_s = timed_call(lambda: shutil.copyfile(path, copy_target)).wall
    copy_target.unlink()
    # Ladder's own copy (O_DIRECT from 64 MiB here) is the stricter baseline: it is faster.
    copy_s = min(plain_s, timed_call(lambda: clone_file(path, copy_target)).wall)
    copy_target.unlink()
    home = WORK / "ladder-raw"
    (home / ".ladder").mkdir(parents=True)
    ws = open_workspace(home)
    add_s = timed_call(lambda: dataset.add("raw", path, workspace=ws)).wall
    budget = 2 * (hash_s + copy_s)
    lines = [
        f"raw BLAKE3 hash of {size / MIB:,.0f} MiB: {hash_s:.3f} s "
        f"({size / hash_s / 1e9:.2f} GB/s); one copy: {copy_s:.3f} s "
        f"({size / copy_s / 1e9:.2f} GB/s; shutil.copyfile {plain_s:.3f} s)",
        f"large add vs raw hash + copy: ladder {add_s:.3f} s, hash+copy {hash_s + copy_s:.3f} s, "
        f"ratio {add_s / (hash_s + copy_s):.2f} "
        f"(goal ≤ 2: {'met' if add_s <= budget else 'NOT met'})",
    ]
    for line in lines:
        print(line, flush=True)
    shutil.rmtree(home)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the large file")
    parser.add_argument("--files", type=int, default=10_000, help="files in the folder")
    parser.add_argument("--file-kib", type=int, default=10, help="size of each folder file")
    parser.add_argument("--many", type=int, default=100_000, help="files of the Ladder-only test")
    parser.add_argument("--changed", type=int, default=10, help="folder files changed")
    parser.add_argument("--quick", action="store_true", help="64 MiB, 1,000 files, 10,000 files")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data")
    args = parser.parse_args()
    if args.quick:
        args.big_mib, args.files, args.many = 64, 1_000, 10_000

    shutil.rmtree(WORK, ignore_errors=True)
    repo, api_repo = WORK / "repo", WORK / "repo-api"
    repo.mkdir(parents=True)
    api_repo.mkdir()
    lines: list[str] = []
    api: DvcApi | None = None
    try:
        tools = Tools(repo)
        api = DvcApi(api_repo, peer_python("dvc", ["dvc"]), tools.dvc_env)
        data = WORK / "data"
        big, folder = data / "big.bin", data / "folder"
        print(f"writing {args.big_mib} MiB and {args.files:,} × {args.file_kib} KiB", flush=True)
        write_random_file(big, args.big_mib * MIB)
        write_folder(folder, args.files, args.file_kib * 1024)
        big_twins = (repo / "big.bin", api_repo / "big.bin")
        folder_twins = (repo / "folder", api_repo / "folder")
        for twin in big_twins:
            # Through the page cache, like Ladder's own copy: a copy written around the cache
            # (clone_file from 64 MiB) would make DVC read its file from disk.
            shutil.copyfile(big, twin)
        for twin in folder_twins:
            shutil.copytree(folder, twin, copy_function=lambda a, b: clone_file(Path(a), Path(b)))

        big_label = f"{args.big_mib} MiB file"
        folder_label = f"{args.files:,}-file folder"
        lines += compare(tools, api, f"cold add, {big_label}", "big", big, big_twins, 2)
        time.sleep(0.2)  # the stat cache vouches for files hashed > 100 ms after their last write
        lines += compare(tools, api, f"re-add unchanged, {big_label}", "big", big, big_twins, 10)
        lines += compare(tools, api, f"cold add, {folder_label}", "folder", folder, folder_twins, 2)
        time.sleep(0.2)
        lines += compare(
            tools, api, f"re-add unchanged, {folder_label}", "folder", folder, folder_twins, 10
        )
        for index in range(0, args.files, max(args.files // args.changed, 1))[: args.changed]:
            relative = Path(f"part{index // 1000:03d}") / f"file{index:06d}.bin"
            content = os.urandom(args.file_kib * 1024)
            (folder / relative).write_bytes(content)
            for twin in folder_twins:
                (twin / relative).unlink()  # DVC's copy may be read-only or a link
                (twin / relative).write_bytes(content)
        lines += compare(
            tools,
            api,
            f"add after changing {args.changed} files",
            "folder",
            folder,
            folder_twins,
            5,
        )
        lines += raw_speed(big)
        lines.append(startup(tools))

        many = WORK / "many"
        print(f"writing {args.many:,} small files", flush=True)
        write_folder(many, args.many, 256)
        cold = tools.ladder_cli("many", many)
        time.sleep(0.2)  # the stat cache vouches for files hashed > 100 ms after their last write
        again = tools.ladder_cli("many", many)
        again_sdk_cold = tools.ladder_sdk("many", many)
        again_sdk = tools.ladder_sdk("many", many)
        line = (
            f"re-add unchanged {args.many:,}-file folder: ladder {again.wall:.2f} s "
            f"(command line; CPU {again.cpu:.2f} s), {again_sdk.wall:.2f} s (SDK; CPU "
            f"{again_sdk.cpu:.2f} s); cold add {cold.wall:.2f} s, SDK cold "
            f"{again_sdk_cold.wall:.2f} s (goal < 5 s: {'met' if again.wall < 5 else 'NOT met'})"
        )
        print(line, flush=True)
        lines.append(line)
    finally:
        if api is not None:
            api.close()
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    print("\n".join(["", "summary:", *lines]))


if __name__ == "__main__":
    main()
