"""The run filter language shared by ``search_runs(where=...)`` and ``ladder runs list --where``.

Grammar (keywords are case-insensitive)::

    expr       := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expr ")" | comparison
    comparison := field op literal | field ["not"] "in" "(" literal ("," literal)* ")"
                | field "is" ["not"] "null"
    field      := ("metrics" | "params" | "tags") "." name | attribute
    name       := word | `back quoted` | "double quoted"
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "like" | "ilike"
    literal    := number | 'single quoted' | "double quoted" | nan | inf | -inf

Metrics compare as numbers against their latest value; params and tags are text
and take =, !=, like, ilike, in. Attributes: id, name, status, project, kind,
user, host, parent_id, git_commit, git_branch, start_time, end_time (ms).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from ladder.errors import FilterSyntaxError

Kind = Literal["metrics", "params", "tags", "attributes"]
ATTRIBUTES = {
    "id": "id",
    "run_id": "id",
    "name": "name",
    "status": "status",
    "project": "project",
    "kind": "kind",
    "user": "user",
    "host": "host",
    "parent_id": "parent_id",
    "git_commit": "git_commit",
    "git_branch": "git_branch",
    "start_time": "start_time",
    "end_time": "end_time",
}
NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
_PREFIXES: dict[str, Kind] = {
    "metrics": "metrics",
    "metric": "metrics",
    "m": "metrics",
    "params": "params",
    "param": "params",
    "p": "params",
    "tags": "tags",
    "tag": "tags",
    "t": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "a": "attributes",
}
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "like", "ilike")
_ORDERING = ("<", "<=", ">", ">=")


@dataclass(frozen=True)
class Field:
    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.name}"


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # one of OPERATORS, "in", "not in", "is null", "is not null"
    value: float | str | tuple[float | str, ...] | None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
    | (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<dquoted>"(?:[^"\\]|\\.)*")
    | (?P<bquoted>`[^`]*`)
    | (?P<op>==|!=|<>|<=|>=|<|>|=)
    | (?P<punct>[(),])
    | (?P<word>[-+]?[A-Za-z_][A-Za-z0-9_\-/]*(?:\.(?:[A-Za-z0-9_\-/]+|`[^`]*`|"(?:[^"\\]|\\.)*"))*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if not match or match.end() == position:
            start = position + (len(source[position:]) - len(source[position:].lstrip()))
            raise FilterSyntaxError(
                f"filter: unexpected character {source[start]!r} at position {start} in {source!r}"
            )
        kind = match.lastgroup or ""
        text = match.group(kind)
        tokens.append(_Token(kind, text, match.start(kind)))
        position = match.end()
    return tokens


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1]
    if quote == "`":
        return body
    if quote == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0

    def fail(self, expected: str) -> FilterSyntaxError:
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            given = f"{token.text!r} at position {token.position}"
        else:
            given = "the end of the filter"
        return FilterSyntaxError(f"filter {self.source!r}: expected {expected}, got {given}")

    def peek_word(self) -> str | None:
        if self.index < len(self.tokens) and self.tokens[self.index].kind == "word":
            return self.tokens[self.index].text.lower()
        return None

    def take(self, kind: str, text: str | None = None) -> _Token | None:
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            if token.kind == kind and (text is None or token.text.lower() == text):
                self.index += 1
                return token
        return None

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterSyntaxError("filter: expected an expression, got an empty string")
        node = self.expr()
        if self.index != len(self.tokens):
            raise self.fail("'and', 'or' or the end of the filter")
        return node

    def expr(self) -> Node:
        items = [self.term()]
        while self.take("word", "or"):
            items.append(self.term())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def term(self) -> Node:
        items = [self.factor()]
        while self.take("word", "and"):
            items.append(self.factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def factor(self) -> Node:
        if self.take("word", "not"):
            return Not(self.factor())
        if self.take("punct", "("):
            node = self.expr()
            if not self.take("punct", ")"):
                raise self.fail("')'")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        token = self.take("word")
        if token is None:
            raise self.fail("a field such as metrics.acc, params.C, tags.team or status")
        field = parse_field(token.text, self.source)
        word = self.peek_word()
        if word == "is":
            self.index += 1
            negate = bool(self.take("word", "not"))
            if not self.take("word", "null"):
                raise self.fail("'null'")
            return Compare(field, "is not null" if negate else "is null", None)
        if word in ("in", "not"):
            self.index += 1
            negate = word == "not"
            if negate and not self.take("word", "in"):
                raise self.fail("'in'")
            if not self.take("punct", "("):
                raise self.fail("'(' after 'in'")
            values = [self.literal()]
            while self.take("punct", ","):
                values.append(self.literal())
            if not self.take("punct", ")"):
                raise self.fail("')' closing the 'in' list")
            return _checked(Compare(field, "not in" if negate else "in", tuple(values)), self)
        if word in ("like", "ilike"):
            self.index += 1
            return _checked(Compare(field, word, self.literal()), self)
        op_token = self.take("op")
        if op_token is None:
            raise self.fail("a comparison operator (= != < <= > >= like ilike in is)")
        op = {"==": "=", "<>": "!="}.get(op_token.text, op_token.text)
        return _checked(Compare(field, op, self.literal()), self)

    def literal(self) -> float | str:
        if self.index >= len(self.tokens):
            raise self.fail("a number or a quoted string")
        token = self.tokens[self.index]
        if token.kind == "number":
            self.index += 1
            return float(token.text)
        if token.kind in ("string", "dquoted"):
            self.index += 1
            return _unquote(token.text)
        if token.kind == "word" and token.text.lower() in ("nan", "inf", "+inf", "-inf"):
            self.index += 1
            return float(token.text)
        raise self.fail("a number or a quoted string")


def _checked(node: Compare, parser: _Parser) -> Compare:
    kind = node.field.kind
    values = node.value if isinstance(node.value, tuple) else (node.value,)
    numeric = kind == "metrics" or (kind == "attributes" and node.field.name in NUMERIC_ATTRIBUTES)
    if numeric:
        if node.op in ("like", "ilike"):
            raise FilterSyntaxError(
                f"filter {parser.source!r}: {node.field} is a number; 'like' needs text"
            )
        if any(not isinstance(v, float) for v in values):
            raise FilterSyntaxError(
                f"filter {parser.source!r}: {node.field} is a number, got text {values[0]!r}"
            )
    else:
        if node.op in _ORDERING:
            raise FilterSyntaxError(
                f"filter {parser.source!r}: {node.field} is text; use = != like ilike in "
                f"(ordering comparisons are for metrics and times), got {node.op!r}"
            )
        texts = tuple(_number_text(v) if isinstance(v, float) else str(v) for v in values)
        return Compare(node.field, node.op, texts if isinstance(node.value, tuple) else texts[0])
    return node


def _number_text(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def parse_field(text: str, source: str = "") -> Field:
    """Parse ``metrics.acc``, ``params.`my key```, ``tags."team"`` or an attribute name."""
    head, dot, rest = text.partition(".")
    kind = _PREFIXES.get(head.lower()) if dot else None
    if kind is None:
        if text.lower() in ATTRIBUTES:
            return Field("attributes", ATTRIBUTES[text.lower()])
        raise FilterSyntaxError(
            f"filter {source or text!r}: unknown field {text!r}; expected metrics.NAME, "
            f"params.NAME, tags.NAME or one of {', '.join(sorted(set(ATTRIBUTES)))}"
        )
    name = _unquote(rest) if rest[:1] in ("`", '"') and rest[-1:] == rest[:1] else rest
    if not name:
        raise FilterSyntaxError(f"filter {source or text!r}: field {text!r} has no name")
    if kind == "attributes":
        if name.lower() not in ATTRIBUTES:
            raise FilterSyntaxError(
                f"filter {source or text!r}: unknown attribute {name!r}; expected one of "
                f"{', '.join(sorted(set(ATTRIBUTES)))}"
            )
        name = ATTRIBUTES[name.lower()]
    return Field(kind, name)


def parse_filter(source: str) -> Node:
    """Parse a filter expression into a tree; raise ``FilterSyntaxError`` naming the position."""
    if not isinstance(source, str):
        raise FilterSyntaxError(f"filter: expected a string, got {type(source).__name__}")
    return _Parser(source).parse()


def parse_order(items: str | list[str] | tuple[str, ...] | None) -> list[OrderKey]:
    """Parse ``"metrics.acc desc"`` (or a list of such) into order keys."""
    if items is None:
        return [OrderKey(Field("attributes", "start_time"), True)]
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    keys = []
    for item in items:
        try:
            tokens = _tokenize(item)
        except FilterSyntaxError:
            tokens = []
        if not tokens or len(tokens) > 2 or tokens[0].kind != "word":
            raise FilterSyntaxError(f"order_by: expected 'FIELD' or 'FIELD asc|desc', got {item!r}")
        direction = tokens[1].text.lower() if len(tokens) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise FilterSyntaxError(
                f"order_by {item!r}: expected direction asc or desc, got {tokens[1].text!r}"
            )
        keys.append(OrderKey(parse_field(tokens[0].text, item), direction == "desc"))
    return keys


def required_metrics(node: Node | None) -> set[str]:
    """Metric keys every matching run must have (compared at the top level of an 'and')."""
    if node is None:
        return set()
    if isinstance(node, Compare):
        if node.field.kind == "metrics" and node.op not in ("is null", "!=", "not in"):
            return {node.field.name}
        return set()
    if isinstance(node, And):
        found: set[str] = set()
        for item in node.items:
            found |= required_metrics(item)
        return found
    return set()
