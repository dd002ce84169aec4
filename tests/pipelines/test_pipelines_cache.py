"""Step caching: keys from code, parameters, inputs, materializer versions; concurrent writers."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pipelines_helpers import child_env, step_runs, write_script
from sqlalchemy import func, select

import ladder
from ladder.pipelines import Materializer, register_materializer, unregister_materializer
from ladder.pipelines.models import CacheEntryRow
from ladder.workspace import Workspace, open_workspace

_counter = 0


@ladder.step
def numbers(n: int) -> list[int]:
    return list(range(n))


@ladder.step
def doubled(values: list[int], factor: int = 2) -> list[int]:
    return [v * factor for v in values]


@ladder.step
def total(values: list[int]) -> int:
    return sum(values)


@ladder.pipeline
def arithmetic(n: int = 5, factor: int = 2):
    return total(doubled(numbers(n), factor=factor))


def test_a_rerun_reuses_every_step_and_records_where_outputs_came_from(
    workspace: Workspace,
) -> None:
    first = arithmetic.run(max_workers=1)
    second = arithmetic.run(max_workers=1)
    assert second.output == first.output == 20
    assert second.cache_hits == ["numbers", "doubled", "total"]
    for node in ("numbers", "doubled", "total"):
        record = second.steps[node]
        assert record.cached_from == first.steps[node].run_id
        assert record.outputs == first.steps[node].outputs
        (hit,) = step_runs(second.run_id, node)
        assert hit.status == "finished"
        assert hit.tags["ladder.cache"] == "hit"
        assert hit.tags["ladder.cached_from"] == first.steps[node].run_id
    assert ladder.get_run(second.run_id).status == "finished"


def test_a_changed_parameter_reruns_that_step_and_what_depends_on_it(
    sqlite_workspace: Workspace,
) -> None:
    arithmetic.run(max_workers=1)
    result = arithmetic.run(factor=3, max_workers=1)
    assert result.cache_hits == ["numbers"]
    assert result.executed == ["doubled", "total"]
    assert result.output == 30


def test_an_int_given_for_a_float_parameter_shares_the_cache_entry(
    sqlite_workspace: Workspace,
) -> None:
    @ladder.step
    def scaled(C: float) -> float:
        return C * 2

    @ladder.pipeline
    def scaling(C: float = 1.0):
        return scaled(C)

    scaling.run(C=1)
    assert scaling.run(C=1.0).cache_hits == ["scaled"]


def test_cache_false_step_runs_every_time(sqlite_workspace: Workspace) -> None:
    @ladder.step(cache=False)
    def now() -> float:
        return time.time()

    @ladder.pipeline
    def clocked():
        return [now(), total(numbers(3))]

    first = clocked.run(max_workers=1)
    second = clocked.run(max_workers=1)
    assert second.executed == ["now"]
    assert second.cache_hits == ["numbers", "total"]
    assert second.output[0] > first.output[0]
    assert step_runs(second.run_id, "now")[0].tags["ladder.cache"] == "off"


def test_no_cache_run_runs_every_step(sqlite_workspace: Workspace) -> None:
    arithmetic.run(max_workers=1)
    result = arithmetic.run(max_workers=1, no_cache=True)
    assert result.cache_hits == []
    assert result.executed == ["numbers", "doubled", "total"]


def test_a_cache_entry_whose_artifact_is_gone_is_a_miss(sqlite_workspace: Workspace) -> None:
    first = arithmetic.run(max_workers=1)
    digest = first.steps["total"].outputs[0].digest
    Path(sqlite_workspace.artifacts.object_path(digest)).unlink()
    second = arithmetic.run(max_workers=1)
    assert second.cache_hits == ["numbers", "doubled"]
    assert second.executed == ["total"] and second.output == 20


# -- code changes ----------------------------------------------------------------------------------
_STEPS = '''
import ladder

SCALE = {scale}

def helper(v):
    return v + {offset}

@ladder.step
def first(n: int) -> list:
    return list(range(n))

@ladder.step
def middle(values: list) -> list:
    """{doc}"""
    return [helper(v) * SCALE for v in values]  # {comment}

@ladder.step
def last(values: list) -> int:
    return sum(values)

@ladder.step
def side(n: int) -> int:
    return n

@ladder.pipeline
def chain(n: int = 4):
    return last(middle(first(n))), side(n)
'''


def _load(folder: Path, text: str) -> ModuleType:
    """Write and import a pipeline module under a fresh name (as a new process would see it)."""
    global _counter
    _counter += 1
    path = folder / f"chain_steps_{_counter}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _version(folder: Path, **changes: Any) -> ModuleType:
    values = {"scale": 2, "offset": 1, "doc": "Scale.", "comment": "why"}
    values.update(changes)
    return _load(folder, _STEPS.format(**values))


def test_changing_a_steps_code_reruns_it_and_downstream_but_nothing_upstream(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    base = _version(tmp_path).chain.run(max_workers=1)
    assert base.output == (20, 4)
    changed = _load(
        tmp_path,
        _STEPS.format(scale=2, offset=1, doc="Scale.", comment="why").replace(
            "return [helper(v) * SCALE for v in values]",
            "return [helper(v) * SCALE + 1 for v in values]",
        ),
    ).chain.run(max_workers=1)
    assert changed.cache_hits == ["first", "side"]
    assert changed.executed == ["middle", "last"]
    assert changed.output == (24, 4)


def test_changing_a_local_function_or_constant_the_step_uses_reruns_it(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _version(tmp_path).chain.run(max_workers=1)
    helper_changed = _version(tmp_path, offset=2).chain.run(max_workers=1)
    assert helper_changed.executed == ["middle", "last"]
    constant_changed = _version(tmp_path, offset=2, scale=3).chain.run(max_workers=1)
    assert constant_changed.executed == ["middle", "last"]
    assert constant_changed.output == (42, 4)


def test_comments_docstrings_and_decorator_options_do_not_invalidate_the_cache(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _version(tmp_path).chain.run(max_workers=1)
    reworded = _version(tmp_path, doc="Multiply each value.", comment="reworded").chain
    assert reworded.run(max_workers=1).executed == []
    retried = _load(
        tmp_path,
        _STEPS.format(scale=2, offset=1, doc="x", comment="y").replace(
            "@ladder.step\ndef middle", "@ladder.step(retries=3)\ndef middle"
        ),
    ).chain
    assert retried.run(max_workers=1).executed == []


def test_same_output_after_a_code_change_lets_downstream_steps_hit_the_cache(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _version(tmp_path).chain.run(max_workers=1)
    refactored = _load(
        tmp_path,
        _STEPS.format(scale=2, offset=1, doc="x", comment="y").replace(
            "return [helper(v) * SCALE for v in values]",
            "return [SCALE * helper(value) for value in values]",
        ),
    ).chain.run(max_workers=1)
    assert refactored.executed == ["middle"]  # same bytes out: ``last`` keeps its cache entry
    assert refactored.cache_hits == ["first", "last", "side"]


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class CelsiusMaterializer(Materializer):
    name = "test-celsius"
    version = 1
    suffix = ".txt"

    def handles(self, value: Any) -> bool:
        return isinstance(value, Celsius)

    def save(self, value: Any, path: Path) -> None:
        path.write_text(str(value.degrees))

    def load(self, path: Path) -> Any:
        return Celsius(float(path.read_text()))


class CelsiusMaterializerV2(CelsiusMaterializer):
    version = 2


@ladder.step
def measure(degrees: float) -> Celsius:
    return Celsius(degrees)


@ladder.step
def fahrenheit(value: Celsius) -> float:
    return value.degrees * 9 / 5 + 32


@ladder.pipeline
def thermometer(degrees: float = 20.0):
    return fahrenheit(measure(degrees))


def test_a_new_materializer_version_reruns_the_steps_that_write_and_read_its_files(
    sqlite_workspace: Workspace,
) -> None:
    register_materializer(CelsiusMaterializer())
    try:
        assert thermometer.run(max_workers=1).output == 68.0
        assert thermometer.run(max_workers=1).cache_hits == ["measure", "fahrenheit"]
        register_materializer(CelsiusMaterializerV2())
        result = thermometer.run(max_workers=1)
        assert result.executed == ["measure", "fahrenheit"]
        assert result.steps["measure"].outputs[0].version == 2
    finally:
        unregister_materializer("test-celsius")


_RACE = """
import sys, time
from pathlib import Path
import ladder

@ladder.step
def slow_square(n: int) -> list:
    # Both processes are inside this step before either stores its outputs.
    folder = Path(sys.argv[1])
    (folder / sys.argv[2]).touch()
    deadline = time.monotonic() + 60
    while len(list(folder.glob("inside-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return [i * i for i in range(n)]

@ladder.step
def summed(values: list) -> int:
    return sum(values)

@ladder.pipeline
def race(n: int = 100):
    return summed(slow_square(n))

if __name__ == "__main__":
    result = race.run(max_workers=1)
    print(result.run_id, result.output, ",".join(result.executed))
"""


@pytest.mark.slow
def test_two_pipelines_running_the_same_step_at_once_both_get_its_outputs_and_one_entry_wins(
    workspace: Workspace, tmp_path: Path
) -> None:
    import subprocess

    script = write_script(tmp_path, "race.py", _RACE)
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), f"inside-{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for i in range(2)
    ]
    lines = []
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err
        lines.append(out.split())
    expected = str(sum(i * i for i in range(100)))
    assert [line[1] for line in lines] == [expected, expected]
    assert all("slow_square" in line[2] for line in lines)  # both computed it...
    ws = open_workspace()
    with ws.store.read() as session:
        entries = session.scalar(select(func.count()).select_from(CacheEntryRow))
    assert entries == 2  # ...and one cache entry per step key survived the race
    infos = [ladder.pipelines.get_pipeline_run(line[0]) for line in lines]
    outputs = {info.step("slow_square").outputs[0].digest for info in infos}
    assert len(outputs) == 1  # equal content, one stored object
    third = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "inside-third"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=180,
        check=True,
    ).stdout.split()
    assert third[1] == expected and len(third) == 2  # nothing executed: every step from cache
