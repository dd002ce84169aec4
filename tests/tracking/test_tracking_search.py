"""The run filter language and keyset pagination, checked against a reference evaluator."""

from __future__ import annotations

import contextlib
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ladder
from ladder.tracking.search import And, Compare, Not, Or, parse_filter, parse_order


def _make_runs(count: int, seed: int = 0) -> list[ladder.Run]:
    rng = random.Random(seed)
    runs = []
    for index in range(count):
        with ladder.start_run(name=f"r{index}") as run:
            run.log_params({"C": rng.choice(["0.1", "1", "10"]), "model": rng.choice(["lr", "rf"])})
            metrics = {"acc": round(rng.random(), 3)}
            if rng.random() < 0.7:
                metrics["loss"] = round(rng.random(), 3)
            run.log_metrics(metrics)
            run.set_tags({"team": rng.choice(["a", "b"])})
        runs.append(run)
    return runs


def test_filters_on_metrics_params_tags_and_attributes(workspace) -> None:
    _make_runs(30)
    everything = {r.id: r for r in ladder.search_runs(limit=1000).runs}
    assert len(everything) == 30

    def ids(where: str) -> set[str]:
        return {r.id for r in ladder.search_runs(where=where, limit=1000).runs}

    expected = {i for i, r in everything.items() if r.metrics["acc"] > 0.5 and r.params["C"] == "1"}
    assert ids("metrics.acc > 0.5 and params.C = '1'") == expected
    expected = {
        i for i, r in everything.items() if r.params["model"] == "rf" or r.tags["team"] == "a"
    }
    assert ids("params.model = 'rf' or tags.team = \"a\"") == expected
    expected = {i for i, r in everything.items() if "loss" not in r.metrics}
    assert ids("metrics.loss is null") == expected
    expected = {i for i, r in everything.items() if r.params["C"] in ("0.1", "10")}
    assert ids("params.C in ('0.1', '10')") == expected
    assert ids("params.C not in ('0.1', '10')") == set(everything) - expected
    expected = {i for i, r in everything.items() if not (r.metrics["acc"] <= 0.2)}
    assert ids("not metrics.acc <= 0.2") == expected
    assert ids("name like 'r1%'") == {i for i, r in everything.items() if r.name.startswith("r1")}
    assert ids("status = 'finished'") == set(everything)
    assert ids("params.C = 1") == ids("params.C = '1'")  # a number literal matches its text


def test_ordering_by_a_metric_puts_runs_without_it_last(workspace) -> None:
    _make_runs(20, seed=3)
    runs = ladder.search_runs(order_by="metrics.loss desc", limit=100).runs
    with_loss = [r.metrics["loss"] for r in runs if "loss" in r.metrics]
    assert with_loss == sorted(with_loss, reverse=True)
    first_missing = next(i for i, r in enumerate(runs) if "loss" not in r.metrics)
    assert all("loss" not in r.metrics for r in runs[first_missing:])
    ascending = ladder.search_runs(order_by=["params.C asc", "metrics.acc desc"], limit=100).runs
    keys = [(r.params["C"], -r.metrics["acc"]) for r in ascending]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    "order",
    ["metrics.loss desc", "metrics.acc asc", "params.C desc", "start_time desc", "name asc"],
)
def test_keyset_pages_cover_every_match_exactly_once_in_order(workspace, order: str) -> None:
    _make_runs(23, seed=7)
    full = [r.id for r in ladder.search_runs(order_by=order, limit=1000).runs]
    paged: list[str] = []
    token = None
    while True:
        page = ladder.search_runs(order_by=order, limit=4, page_token=token)
        paged += [r.id for r in page.runs]
        token = page.next_page_token
        if token is None:
            break
    assert paged == full
    assert len(set(paged)) == 23


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("metrics.acc >", "expected a number or a quoted string"),
        ("metrics.acc > 'high'", "is a number"),
        ("params.C > 1", "is text"),
        ("nonsense = 1", "unknown field"),
        ("metrics.acc = 1 and", "expected a field"),
        ("(metrics.acc = 1", r"expected '\)'"),
        ("metrics.acc = 1 extra", "'and', 'or' or the end"),
        ("metrics.acc ~ 1", "unexpected character"),
        ("attributes.colour = 'x'", "unknown attribute"),
    ],
)
def test_a_malformed_filter_is_a_clear_error(where: str, message: str) -> None:
    with pytest.raises(ladder.FilterSyntaxError, match=message):
        parse_filter(where)


def test_bad_order_and_page_token_are_clear_errors(workspace) -> None:
    with pytest.raises(ladder.FilterSyntaxError, match="asc or desc"):
        ladder.search_runs(order_by="metrics.acc sideways")
    with pytest.raises(ladder.FilterSyntaxError, match="page token"):
        ladder.search_runs(page_token="not-a-token")
    with pytest.raises(ValueError, match="limit"):
        ladder.search_runs(limit=0)


def test_quoted_names_allow_any_key() -> None:
    node = parse_filter("metrics.`val loss` < 1 and params.\"my.param\" = 'x'")
    assert isinstance(node, And)
    assert [c.field.name for c in node.items if isinstance(c, Compare)] == ["val loss", "my.param"]
    assert parse_order("metrics.`val loss` desc")[0].field.name == "val loss"


@given(st.text(max_size=60))
def test_the_parser_never_fails_with_anything_but_a_filter_syntax_error(source: str) -> None:
    with contextlib.suppress(ladder.FilterSyntaxError):
        parse_filter(source)


# --- property test: the database agrees with a Python evaluation of the same filter ---------
_FIELDS = [("metrics", "acc"), ("metrics", "loss"), ("params", "C"), ("tags", "team")]
_VALUES = {
    ("metrics", "acc"): [0.1, 0.25, 0.5, 0.75, 0.9],
    ("metrics", "loss"): [0.2, 0.5, 0.8],
    ("params", "C"): ["0.1", "1", "10"],
    ("tags", "team"): ["a", "b"],
}


@st.composite
def _comparisons(draw: st.DrawFn) -> str:
    kind, name = draw(st.sampled_from(_FIELDS))
    value = draw(st.sampled_from(_VALUES[(kind, name)]))
    if kind == "metrics":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"{kind}.{name} {op} {value}"
    op = draw(st.sampled_from(["=", "!="]))
    return f"{kind}.{name} {op} '{value}'"


_filters = st.recursive(
    _comparisons(),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} and {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} or {p[1]})"),
        inner.map(lambda e: f"not ({e})"),
    ),
    max_leaves=5,
)


def _evaluate(node: object, run: ladder.RunInfo) -> bool:
    if isinstance(node, And):
        return all(_evaluate(item, run) for item in node.items)
    if isinstance(node, Or):
        return any(_evaluate(item, run) for item in node.items)
    if isinstance(node, Not):
        return not _evaluate(node.item, run)
    assert isinstance(node, Compare)
    source = getattr(run, node.field.kind)
    if node.field.name not in source:
        return False  # a comparison with a missing value is false, like SQL NULL
    value = source[node.field.name]
    ops = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return bool(ops[node.op](value, node.value))


@pytest.fixture(scope="module")
def search_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ladder.RunInfo]]:
    """40 runs with random params, metrics (some missing) and tags, in a store of their own."""
    from ladder.workspace import open_workspace

    home = tmp_path_factory.mktemp("search-corpus")
    ws = open_workspace(home)
    rng = random.Random(11)
    for index in range(40):
        with ladder.start_run(name=f"c{index}", workspace=ws) as run:
            run.log_params({"C": rng.choice(_VALUES[("params", "C")])})
            metrics = {"acc": rng.choice(_VALUES[("metrics", "acc")])}
            if rng.random() < 0.6:
                metrics["loss"] = rng.choice(_VALUES[("metrics", "loss")])
            run.log_metrics(metrics)
            if rng.random() < 0.8:
                run.set_tags({"team": rng.choice(_VALUES[("tags", "team")])})
    return home, ladder.search_runs(limit=1000, workspace=ws).runs


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=_filters)
def test_search_matches_a_reference_evaluation_of_the_filter(
    search_corpus: tuple[Path, list[ladder.RunInfo]], where: str
) -> None:
    from ladder.workspace import open_workspace

    home, runs = search_corpus
    node = parse_filter(where)
    expected = {r.id for r in runs if _evaluate(node, r)}
    found = ladder.search_runs(where=where, limit=1000, workspace=open_workspace(home)).runs
    assert {r.id for r in found} == expected, where


def test_nan_never_matches_an_ordering_comparison(workspace) -> None:
    with ladder.start_run() as run:
        run.log_metric("score", math.nan)
    assert ladder.search_runs(where="metrics.score > 0 or metrics.score <= 0").runs == []
    assert [r.id for r in ladder.search_runs(where="metrics.score is not null").runs] == [run.id]
