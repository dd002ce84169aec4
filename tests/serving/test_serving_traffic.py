"""Traffic policies: parsing ``--canary/--shadow/--ab``, validity, sticky and shared routing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.errors import InvalidTrafficPolicy
from ladder.serving.traffic import (
    TrafficPolicy,
    Variant,
    choose_variant,
    parse_share_spec,
    policy_from_options,
    route_point,
)


def test_single_model_policy_sends_everything_to_primary() -> None:
    policy = policy_from_options("loans@champion")
    assert policy.kind == "single"
    assert [(v.name, v.model, v.share) for v in policy.variants] == [
        ("primary", "loans@champion", 100.0)
    ]


def test_canary_takes_its_share_from_the_primary_and_shadow_takes_none() -> None:
    policy = policy_from_options("loans@champion", canary="loans/5:10", shadow="loans/6")
    assert policy.kind == "canary+shadow"
    assert {v.name: v.share for v in policy.variants} == {
        "primary": 90.0,
        "canary": 10.0,
        "shadow": 0.0,
    }
    assert [v.name for v in policy.shadows] == ["shadow"]


def test_ab_split_names_the_variants_a_and_b() -> None:
    policy = policy_from_options("loans/4", ab="loans/5:50")
    assert policy.kind == "ab"
    assert {v.name: (v.model, v.share) for v in policy.live} == {
        "a": ("loans/4", 50.0),
        "b": ("loans/5", 50.0),
    }


def test_policy_survives_a_round_trip_through_json_dict() -> None:
    policy = policy_from_options("loans@champion", canary="loans/5:12.5", shadow="loans/6")
    assert TrafficPolicy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("loans/5", "expected MODEL:PERCENT"),
        ("loans/5:ten", "must be a number"),
        ("loans/5:0", "between 0 and 100"),
        ("loans/5:100", "between 0 and 100"),
        ("loans/5:-3", "between 0 and 100"),
        (":10", "expected MODEL:PERCENT"),
    ],
)
def test_malformed_share_specs_are_refused_with_the_expected_form(spec: str, message: str) -> None:
    with pytest.raises(InvalidTrafficPolicy, match=message):
        parse_share_spec(spec, "--canary")


def test_canary_and_ab_cannot_be_combined() -> None:
    with pytest.raises(InvalidTrafficPolicy, match="cannot be combined"):
        policy_from_options("loans/1", canary="loans/2:10", ab="loans/3:50")


def test_policies_that_cannot_route_are_refused() -> None:
    with pytest.raises(InvalidTrafficPolicy, match="add up to 100"):
        TrafficPolicy((Variant("primary", "m/1", 80.0),))
    with pytest.raises(InvalidTrafficPolicy, match="expected one of"):
        TrafficPolicy((Variant("blue", "m/1", 100.0),))
    with pytest.raises(InvalidTrafficPolicy, match="share 0"):
        TrafficPolicy((Variant("primary", "m/1", 100.0), Variant("shadow", "m/2", 5, True)))
    with pytest.raises(InvalidTrafficPolicy, match="version must be a positive integer"):
        policy_from_options("m/0")


@settings(max_examples=200, deadline=None)
@given(key=st.text(min_size=1, max_size=40), share=st.floats(0.5, 99.5))
def test_sticky_routing_sends_a_key_to_the_same_variant_every_time(key: str, share: float) -> None:
    policy = policy_from_options("m/1", canary=f"m/2:{share}")
    first = choose_variant(policy.live, key)
    assert all(choose_variant(policy.live, key) == first for _ in range(5))
    assert 0 <= route_point(key) < 100


@pytest.mark.parametrize("share", [10.0, 50.0])
def test_keys_spread_over_variants_in_proportion_to_their_shares(share: float) -> None:
    policy = policy_from_options("m/1", canary=f"m/2:{share}")
    keyed = sum(choose_variant(policy.live, f"user-{i}").name == "canary" for i in range(20_000))
    unkeyed = sum(choose_variant(policy.live, None).name == "canary" for _ in range(20_000))
    assert keyed / 20_000 == pytest.approx(share / 100, abs=0.015)
    assert unkeyed / 20_000 == pytest.approx(share / 100, abs=0.015)
