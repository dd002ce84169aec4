"""Alert rules: a small safe parser, round-trips, three-valued evaluation, clear errors."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.errors import AlertRuleSyntaxError
from ladder.monitoring.alerts import (
    OPERATORS,
    AlertRule,
    And,
    Comparison,
    Expression,
    Not,
    Or,
    parse_rule,
)

PYTHON_OPS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
words = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda w: w.lower() not in {"and", "or", "not"}
)
odd_words = st.text(
    alphabet=st.characters(blacklist_characters="`", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
).filter(lambda w: "." not in w)
metrics = st.lists(st.one_of(words, odd_words), min_size=1, max_size=3).map(".".join)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
comparisons = st.builds(Comparison, metrics, st.sampled_from(OPERATORS), numbers)
expressions: st.SearchStrategy[Expression] = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=6,
)


def test_the_rules_of_the_issue_parse() -> None:
    assert parse_rule("drift_share > 0.3") == Comparison("drift_share", ">", 0.3)
    assert parse_rule("estimated.roc_auc < 0.8") == Comparison("estimated.roc_auc", "<", 0.8)
    assert parse_rule("missing_rate.income > 0.05") == Comparison("missing_rate.income", ">", 0.05)
    assert parse_rule("missing_rate.`annual income` >= 5e-2") == Comparison(
        "missing_rate.annual income", ">=", 0.05
    )


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    a, b, c = (Comparison(name, ">", 1.0) for name in "abc")
    assert parse_rule("a > 1 or b > 1 and c > 1") == Or((a, And((b, c))))
    assert parse_rule("(a > 1 or b > 1) and c > 1") == And((Or((a, b)), c))
    assert parse_rule("not a > 1 and b > 1") == And((Not(a), b))


@settings(max_examples=100, deadline=None)
@given(expressions)
def test_formatting_a_rule_and_parsing_it_again_gives_the_same_rule(expression: Expression) -> None:
    assert parse_rule(expression.format()) == expression


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_with_a_syntax_error_only(text: str) -> None:
    try:
        parse_rule(text)
    except AlertRuleSyntaxError as exc:
        assert "alert rule" in str(exc)


@settings(max_examples=100, deadline=None)
@given(
    op=st.sampled_from(OPERATORS),
    threshold=numbers,
    observed=numbers,
)
def test_a_comparison_fires_exactly_when_python_says_it_holds(
    op: str, threshold: float, observed: float
) -> None:
    rule = AlertRule.parse(f"drift_share {op} {threshold!r}")
    outcome = rule.evaluate({"drift_share": observed})
    assert outcome.fired is PYTHON_OPS[op](observed, threshold)
    assert outcome.observed == {"drift_share": observed}


def test_a_metric_the_window_lacks_is_unknown_and_does_not_fire() -> None:
    rule = AlertRule.parse("estimated.roc_auc < 0.8")
    assert rule.evaluate({"drift_share": 0.9}).fired is None
    # Kleene logic: unknown or true is true, unknown and false is false
    assert (
        AlertRule.parse("estimated.roc_auc < 0.8 or drift_share > 0.5")
        .evaluate({"drift_share": 0.9})
        .fired
        is True
    )
    assert (
        AlertRule.parse("estimated.roc_auc < 0.8 and drift_share > 0.95")
        .evaluate({"drift_share": 0.9})
        .fired
        is False
    )
    assert AlertRule.parse("not estimated.roc_auc < 0.8").evaluate({}).fired is None


def test_rules_know_which_kind_of_problem_they_watch() -> None:
    assert AlertRule.parse("drift_share > 0.3").kind == "drift"
    assert AlertRule.parse("psi.age > 0.2").kind == "drift"
    assert AlertRule.parse("estimated.roc_auc < 0.8").kind == "performance"
    assert AlertRule.parse("realised.mae > 3").kind == "performance"
    assert AlertRule.parse("missing_rate.income > 0.05").kind == "data_quality"
    assert AlertRule.parse("schema_violations > 0").kind == "data_quality"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a comparison"),
        ("drift_share >", "expected a number, got the end of the rule"),
        ("drift_share 0.3", "expected a comparison operator"),
        ("drift_share > 0.3 and", "expected a metric name"),
        ("(drift_share > 0.3", "expected ')'"),
        (
            "drift_share > 0.3)",
            "expected 'and', 'or' or the end of the rule, got ')' at position 18",
        ),
        ("__import__('os') > 1", 'unexpected character "\'" at position 12'),
        ("drift_share > abc", "expected a number, got 'abc' at position 15"),
        ("and > 1", "expected a metric name"),
        ("missing_rate.`` > 1", "empty quoted name"),
    ],
)
def test_bad_rules_say_what_was_expected_and_where(text: str, message: str) -> None:
    with pytest.raises(AlertRuleSyntaxError) as caught:
        parse_rule(text)
    assert message in str(caught.value)


def test_very_long_rules_are_refused() -> None:
    with pytest.raises(AlertRuleSyntaxError, match="at most 2000 characters"):
        parse_rule("a > 1 or " * 300 + "a > 1")
