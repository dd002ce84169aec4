"""Model URIs: name/3, name@alias, name@latest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ladder.errors import InvalidModelURI
from ladder.registry import ModelURI, parse_model_uri
from ladder.registry.uri import check_alias

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}", fullmatch=True)
aliases = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True).filter(
    lambda a: a.lower() != "latest"
)


def test_version_alias_and_latest_uris_parse() -> None:
    assert parse_model_uri("loans/3") == ModelURI("loans", version=3)
    assert parse_model_uri("loans@champion") == ModelURI("loans", alias="champion")
    assert parse_model_uri("loans@latest").is_latest
    assert parse_model_uri("models:/loans/2") == ModelURI("loans", version=2)


@given(names, st.integers(min_value=1, max_value=10**6))
def test_version_uris_round_trip(name: str, version: int) -> None:
    parsed = parse_model_uri(f"{name}/{version}")
    assert (parsed.name, parsed.version, parsed.alias) == (name, version, None)
    assert parse_model_uri(str(parsed)) == parsed


@given(names, aliases)
def test_alias_uris_round_trip(name: str, alias: str) -> None:
    parsed = parse_model_uri(f"{name}@{alias}")
    assert (parsed.name, parsed.alias) == (name, alias)
    assert str(parsed) == f"{name}@{alias}"


@pytest.mark.parametrize(
    "uri",
    [
        "loans",
        "loans/0",
        "loans/-1",
        "loans/01",
        "loans/x",
        "/3",
        "@champion",
        "lo ans/1",
        "loans@",
        "loans@1st",
        "../loans/1",
        "loans/1/2",
        "loans@cham pion",
        "",
    ],
)
def test_malformed_uris_are_refused_with_the_uri_named(uri: str) -> None:
    with pytest.raises(InvalidModelURI):
        parse_model_uri(uri)


@given(st.text(max_size=40))
def test_any_text_either_parses_or_raises_invalid_model_uri(text: str) -> None:
    try:
        parsed = parse_model_uri(text)
    except InvalidModelURI:
        return
    assert parse_model_uri(str(parsed)) == parsed


def test_latest_is_reserved_as_an_alias_name() -> None:
    with pytest.raises(InvalidModelURI, match="reserved"):
        check_alias("latest")


def test_non_string_uri_is_refused() -> None:
    with pytest.raises(InvalidModelURI, match="expected a string"):
        parse_model_uri(3)
