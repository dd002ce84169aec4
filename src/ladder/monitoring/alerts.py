"""Alert rules: ``drift_share > 0.3``, ``estimated.roc_auc < 0.8``, ``missing_rate.income > 0.05``.

A rule compares a metric of a window with a number; rules combine with ``and``,
``or``, ``not`` and parentheses. A metric name is dot-separated words; a word
with other characters (a feature called ``annual income``) is written between
backticks: ``missing_rate.`annual income` > 0.05``. The parser is a small
recursive-descent parser over a tokenizer: nothing is ever evaluated as Python.

Evaluation uses three-valued logic: a comparison on a metric the window does
not have (no labels yet, say) is *unknown*, ``and``/``or`` follow Kleene's
tables, and only a rule that is *true* fires.

Metrics a window offers (``MonitorResult.metrics``), by kind:

* drift: ``drift_share``, ``dataset_drift`` (0/1), ``drifted_features``,
  ``drift.<column>`` (the score compared with the column's threshold),
  ``drifted.<column>`` (0/1), ``psi.<column>``, ``jensenshannon.<column>``,
  ``p_value.<column>``, ``prediction_drift``;
* performance: ``realised.<metric>``, ``estimated.<metric>`` with
  ``estimated.<metric>.lower`` / ``.upper``, ``reference.<metric>``, ``performance_drop``;
* data quality: ``missing_rate.<column>``, ``missing_rate_change.<column>``,
  ``out_of_range_rate.<column>``, ``unseen_category_rate.<column>``,
  ``type_violations``, ``schema_violations``, ``missing_columns``, ``quality_failed``;
* volume: ``rows``, ``labelled_rows``, ``unknown_label_ids``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ladder.errors import AlertRuleSyntaxError

OPERATORS = (">=", "<=", "==", "!=", ">", "<")
KEYWORDS = frozenset({"and", "or", "not"})
DRIFT_PREFIXES = frozenset(
    {
        "drift_share",
        "dataset_drift",
        "drifted_features",
        "drift",
        "drifted",
        "psi",
        "jensenshannon",
        "p_value",
        "prediction_drift",
    }
)
PERFORMANCE_PREFIXES = frozenset({"realised", "estimated", "reference", "performance_drop"})
KIND_DRIFT = "drift"
KIND_PERFORMANCE = "performance"
KIND_DATA_QUALITY = "data_quality"
MAX_RULE_LENGTH = 2000

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<op>>=|<=|==|!=|>|<)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<dot>\.)
  | (?P<quoted>`[^`]*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)
_PLAIN_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class Comparison:
    """``metric op value``."""

    metric: str
    op: str
    value: float

    def evaluate(self, values: Mapping[str, float]) -> bool | None:
        observed = values.get(self.metric)
        if observed is None or (isinstance(observed, float) and math.isnan(observed)):
            return None
        return _compare(float(observed), self.op, self.value)

    def format(self) -> str:
        return f"{format_metric(self.metric)} {self.op} {_format_number(self.value)}"

    def metrics(self) -> set[str]:
        return {self.metric}


@dataclass(frozen=True)
class Not:
    operand: Expression

    def evaluate(self, values: Mapping[str, float]) -> bool | None:
        result = self.operand.evaluate(values)
        return None if result is None else not result

    def format(self) -> str:
        return f"not {_wrap(self.operand, Not)}"

    def metrics(self) -> set[str]:
        return self.operand.metrics()


@dataclass(frozen=True)
class And:
    operands: tuple[Expression, ...]

    def evaluate(self, values: Mapping[str, float]) -> bool | None:
        results = [o.evaluate(values) for o in self.operands]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True

    def format(self) -> str:
        return " and ".join(_wrap(o, And) for o in self.operands)

    def metrics(self) -> set[str]:
        return set().union(*(o.metrics() for o in self.operands))


@dataclass(frozen=True)
class Or:
    operands: tuple[Expression, ...]

    def evaluate(self, values: Mapping[str, float]) -> bool | None:
        results = [o.evaluate(values) for o in self.operands]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False

    def format(self) -> str:
        return " or ".join(_wrap(o, Or) for o in self.operands)

    def metrics(self) -> set[str]:
        return set().union(*(o.metrics() for o in self.operands))


Expression = Comparison | Not | And | Or


_STRENGTH: dict[type, int] = {Or: 0, And: 1, Not: 2, Comparison: 3}


def _wrap(expression: Expression, parent: type) -> str:
    """Parenthesise an operand that binds more loosely than its parent (or nests its kind)."""
    kind = type(expression)
    looser = _STRENGTH[kind] < _STRENGTH[parent]
    nested = kind is parent and parent is not Not
    text = expression.format()
    return f"({text})" if looser or nested else text


def _compare(observed: float, op: str, value: float) -> bool:
    if op == ">":
        return observed > value
    if op == ">=":
        return observed >= value
    if op == "<":
        return observed < value
    if op == "<=":
        return observed <= value
    if op == "==":
        return observed == value
    return observed != value


def _format_number(value: float) -> str:
    if math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    return repr(float(value))


def format_metric(metric: str) -> str:
    """A metric name as a rule writes it: words joined by dots, other words in backticks."""
    return ".".join(
        part if _PLAIN_WORD.match(part) and part.lower() not in KEYWORDS else f"`{part}`"
        for part in metric.split(".")
    )


# -- parsing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise AlertRuleSyntaxError(
                f"alert rule {text!r}: unexpected character {text[position]!r} at position "
                f"{position + 1}"
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def fail(self, expected: str) -> AlertRuleSyntaxError:
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            given = f"{token.text!r} at position {token.position + 1}"
        else:
            given = "the end of the rule"
        return AlertRuleSyntaxError(f"alert rule {self.text!r}: expected {expected}, got {given}")

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Expression:
        if not self.tokens:
            raise AlertRuleSyntaxError(
                "alert rule '': expected a comparison such as 'drift_share > 0.3'"
            )
        expression = self.or_expression()
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end of the rule")
        return expression

    def or_expression(self) -> Expression:
        operands = [self.and_expression()]
        while self.keyword("or"):
            operands.append(self.and_expression())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expression(self) -> Expression:
        operands = [self.not_expression()]
        while self.keyword("and"):
            operands.append(self.not_expression())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expression(self) -> Expression:
        if self.keyword("not"):
            return Not(self.not_expression())
        token = self.peek()
        if token is not None and token.kind == "lparen":
            self.index += 1
            inner = self.or_expression()
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise self.fail("')'")
            self.index += 1
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        metric = self.metric()
        token = self.peek()
        if token is None or token.kind != "op":
            raise self.fail(f"a comparison operator ({', '.join(OPERATORS)})")
        self.index += 1
        number = self.peek()
        if number is None or number.kind != "number":
            raise self.fail("a number")
        self.index += 1
        return Comparison(metric, token.text, float(number.text))

    def metric(self) -> str:
        parts = [self.word()]
        while (token := self.peek()) is not None and token.kind == "dot":
            self.index += 1
            parts.append(self.word())
        return ".".join(parts)

    def word(self) -> str:
        token = self.peek()
        if token is None or token.kind not in ("word", "quoted"):
            raise self.fail("a metric name such as drift_share or missing_rate.income")
        if token.kind == "word" and token.text.lower() in KEYWORDS:
            raise self.fail(
                "a metric name (quote it with backticks if it is called like a keyword)"
            )
        self.index += 1
        if token.kind == "quoted":
            inner = token.text[1:-1]
            if not inner:
                raise AlertRuleSyntaxError(
                    f"alert rule {self.text!r}: empty quoted name at position {token.position + 1}"
                )
            return inner
        return token.text


def parse_rule(text: str) -> Expression:
    """Parse an alert rule; raise ``AlertRuleSyntaxError`` showing where it went wrong."""
    if not isinstance(text, str):
        raise AlertRuleSyntaxError(f"alert rule: expected text, got {type(text).__name__}")
    if len(text) > MAX_RULE_LENGTH:
        raise AlertRuleSyntaxError(
            f"alert rule: expected at most {MAX_RULE_LENGTH} characters, got {len(text)}"
        )
    return _Parser(text).parse()


def metric_kind(metric: str) -> str:
    """``drift``, ``performance`` or ``data_quality``: which part of a window a metric is about."""
    head = metric.split(".")[0]
    if head in DRIFT_PREFIXES:
        return KIND_DRIFT
    if head in PERFORMANCE_PREFIXES:
        return KIND_PERFORMANCE
    return KIND_DATA_QUALITY


@dataclass(frozen=True)
class AlertRule:
    """A parsed rule; ``kind`` is the kind of its first metric (for triggers to filter on)."""

    text: str
    expression: Expression = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> AlertRule:
        return cls(text.strip(), parse_rule(text))

    @property
    def kind(self) -> str:
        first = _first_metric(self.expression)
        return metric_kind(first)

    def evaluate(self, values: Mapping[str, float]) -> RuleOutcome:
        fired = self.expression.evaluate(values)
        observed = {m: values.get(m) for m in sorted(self.expression.metrics())}
        return RuleOutcome(self.text, self.kind, fired, observed)


def _first_metric(expression: Expression) -> str:
    if isinstance(expression, Comparison):
        return expression.metric
    if isinstance(expression, Not):
        return _first_metric(expression.operand)
    return _first_metric(expression.operands[0])


@dataclass(frozen=True)
class RuleOutcome:
    """One evaluation of a rule on a window: ``fired`` is None when a metric was missing."""

    rule: str
    kind: str
    fired: bool | None
    observed: Mapping[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "fired": self.fired,
            "observed": dict(self.observed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleOutcome:
        return cls(
            rule=str(data["rule"]),
            kind=str(data["kind"]),
            fired=data.get("fired"),
            observed=dict(data.get("observed", {})),
        )


def parse_rules(texts: Iterable[str]) -> tuple[AlertRule, ...]:
    return tuple(AlertRule.parse(text) for text in texts)


def evaluate_rules(
    rules: Iterable[AlertRule], values: Mapping[str, float]
) -> tuple[RuleOutcome, ...]:
    return tuple(rule.evaluate(values) for rule in rules)
