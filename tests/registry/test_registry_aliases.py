"""Aliases move atomically and every move is audited (who, when, from → to, why)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from registry_helpers import fitted_logistic

import ladder
from ladder.errors import (
    AliasConflict,
    AliasNotFound,
    InvalidModelURI,
    ModelNameMismatch,
    ModelNotFound,
)
from ladder.registry import alias_history, get_aliases, get_model_version, remove_alias, set_alias
from ladder.workspace import Workspace


def register(name: str, count: int) -> None:
    model, _, _ = fitted_logistic(rows=60)
    for _ in range(count):
        ladder.register_model(model, name)


def test_moves_and_removals_are_audited_with_who_when_and_why(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    register("loans", 3)
    monkeypatch.setenv("LADDER_USER", "ana")
    set_alias("loans", "champion", 1, reason="first model")
    set_alias("loans", "champion", "loans/2", reason="better auc")
    set_alias("loans", "challenger", 3)
    remove_alias("loans", "challenger", reason="experiment over", actor="bob")
    assert get_model_version("loans@champion").version == 2
    assert get_model_version("loans/2").aliases == ("champion",)
    events = alias_history("loans")
    assert [
        (e.alias, e.action, e.from_version, e.to_version, e.actor, e.reason) for e in events
    ] == [
        ("champion", "set", None, 1, "ana", "first model"),
        ("champion", "set", 1, 2, "ana", "better auc"),
        ("challenger", "set", None, 3, "ana", None),
        ("challenger", "remove", 3, None, "bob", "experiment over"),
    ]
    assert all(e.created > 0 for e in events)
    assert [e.to_version for e in alias_history("loans", "champion")] == [1, 2]
    assert [e.action for e in alias_history("loans", limit=1)] == ["remove"]


def test_an_alias_that_does_not_exist_lists_the_existing_ones(workspace: Workspace) -> None:
    register("loans", 2)
    set_alias("loans", "champion", 1)
    set_alias("loans", "shadow", 2)
    with pytest.raises(AliasNotFound, match=r"champion -> 1, shadow -> 2"):
        get_model_version("loans@challenger")
    with pytest.raises(AliasNotFound, match="champion, shadow"):
        remove_alias("loans", "challenger")
    with pytest.raises(AliasNotFound, match="no aliases"):
        register("fraud", 1)
        get_model_version("fraud@champion")


def test_an_alias_cannot_point_at_another_models_version_or_a_missing_one(
    workspace: Workspace,
) -> None:
    register("loans", 1)
    register("fraud", 2)
    with pytest.raises(ModelNameMismatch, match=r"fraud/2.*not of 'loans'"):
        set_alias("loans", "champion", "fraud/2")
    with pytest.raises(ModelNameMismatch):
        set_alias("loans", "champion", get_model_version("fraud/1"))
    with pytest.raises(ModelNotFound, match="loans/9"):
        set_alias("loans", "champion", 9)
    with pytest.raises(ModelNotFound, match="not registered"):
        set_alias("ghost", "champion", 1)
    with pytest.raises(InvalidModelURI, match="reserved"):
        set_alias("loans", "latest", 1)
    assert get_aliases("loans") == {}
    assert alias_history("loans") == []


def run_together(count: int, work: Callable[[int], None]) -> list[BaseException | None]:
    barrier = threading.Barrier(count)
    outcomes: list[BaseException | None] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as exc:  # collected for the assertions
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_compare_and_set_moves_exactly_one_wins_all_audited(
    workspace: Workspace,
) -> None:
    register("loans", 5)
    set_alias("loans", "champion", 1)
    outcomes = run_together(
        4,
        lambda i: set_alias(
            "loans", "champion", i + 2, expected=1, actor=f"user{i}", workspace=workspace
        ),
    )
    winners = [i for i, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(o, AliasConflict) for o in outcomes if o is not None)
    winner = winners[0] + 2
    assert get_model_version("loans@champion").version == winner
    events = alias_history("loans", "champion")[1:]
    assert sorted(e.action for e in events) == ["rejected", "rejected", "rejected", "set"]
    assert {e.actor for e in events} == {"user0", "user1", "user2", "user3"}
    (moved,) = [e for e in events if e.action == "set"]
    assert (moved.from_version, moved.to_version) == (1, winner)
    assert all(e.from_version == winner for e in events if e.action == "rejected")


def test_concurrent_plain_moves_serialise_into_a_consistent_audit_chain(
    workspace: Workspace,
) -> None:
    register("loans", 4)
    outcomes = run_together(4, lambda i: set_alias("loans", "champion", i + 1, workspace=workspace))
    assert outcomes == [None] * 4
    events = alias_history("loans", "champion")
    assert len(events) == 4
    assert events[0].from_version is None
    for before, after in itertools.pairwise(events):
        assert after.from_version == before.to_version  # no lost update
    assert get_model_version("loans@champion").version == events[-1].to_version
