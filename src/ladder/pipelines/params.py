"""Parameters checked against type hints before anything runs, and parsed from the command line.

The check follows what a reader of the hint expects: ``float`` takes ints (and
turns them into floats, so ``C=1`` and ``C=1.0`` share a cache entry) but not
bools, containers are checked element by element, unions take any member, and
hints the checker cannot judge (a ``Protocol``, a ``TypeVar``, a forward
reference it cannot resolve) accept every value.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import json
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any

from ladder.errors import ParameterTypeError

_MISSING = object()


def resolved_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The function's type hints; hints that cannot be resolved are left out (and not checked)."""
    try:
        return typing.get_type_hints(function)
    except Exception:
        pass
    hints: dict[str, Any] = {}
    namespace = getattr(function, "__globals__", {})
    for name, annotation in getattr(function, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)
            except Exception:
                continue
        hints[name] = annotation
    return hints


def hint_text(hint: Any) -> str:
    if isinstance(hint, type):
        return (
            hint.__qualname__
            if hint.__module__ == "builtins"
            else f"{hint.__module__}.{hint.__qualname__}"
        )
    return str(hint).replace("typing.", "")


def conforms(value: Any, hint: Any) -> bool:
    """True when ``value`` fits ``hint`` as far as it can be told at run time."""
    if hint is Any or hint is object or hint is inspect.Parameter.empty:
        return True
    if hint is None or hint is type(None):
        return value is None
    if isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return conforms(value, args[0])
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is typing.Literal:
        return any(value == arg and type(value) is type(arg) for arg in args)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is complex:
        return isinstance(value, numbers.Complex) and not isinstance(value, bool)
    if origin is None:
        if isinstance(hint, type):
            if getattr(hint, "_is_protocol", False):
                return True
            return isinstance(value, hint)
        return True
    if not isinstance(origin, type):
        return True
    if not isinstance(value, origin):
        return False
    if not args:
        return True
    return _items_conform(value, origin, args)


def _items_conform(value: Any, origin: type, args: tuple[Any, ...]) -> bool:
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(conforms(item, args[0]) for item in value)
        return len(value) == len(args) and all(
            conforms(item, arg) for item, arg in zip(value, args, strict=True)
        )
    if issubclass(origin, cabc.Mapping):
        key_hint, value_hint = (*args, Any, Any)[:2]
        return all(conforms(k, key_hint) and conforms(v, value_hint) for k, v in value.items())
    if issubclass(origin, (cabc.Sequence, cabc.Set)) and not isinstance(value, (str, bytes)):
        return all(conforms(item, args[0]) for item in value)
    return True


def coerced(value: Any, hint: Any) -> Any:
    """``value`` in the hint's canonical form: an int given for a float becomes a float."""
    if hint is float and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return float(value)
    return value


def check_value(value: Any, hint: Any, owner: str) -> Any:
    """Return ``value`` (coerced) if it fits ``hint``, else raise ``ParameterTypeError``."""
    if not conforms(value, hint):
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise ParameterTypeError(
            f"{owner}: expected {hint_text(hint)}, got {type(value).__name__} {shown}"
        )
    return coerced(value, hint)


def produces(declared: Any, hint: Any) -> bool:
    """Whether a step declared to return ``declared`` can feed a parameter hinted ``hint``.

    Only plain classes are compared; anything richer is accepted (it is checked
    by the step's own code at run time).
    """
    if not isinstance(declared, type) or not isinstance(hint, type):
        return True
    if hint in (object, Any) or getattr(hint, "_is_protocol", False):
        return True
    if hint is float and declared in (int, float):
        return True
    if declared in (object, type(None)):
        return True
    return issubclass(declared, hint) or issubclass(hint, declared)


def accepts_text(hint: Any) -> bool:
    """True when the hint takes a raw string (so command-line text is not parsed as JSON)."""
    if hint is str:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return accepts_text(typing.get_args(hint)[0])
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return any(accepts_text(arg) for arg in typing.get_args(hint) if arg is not type(None))
    if origin is typing.Literal:
        return all(isinstance(arg, str) for arg in typing.get_args(hint))
    return False


def parse_text(text: str, hint: Any = _MISSING) -> Any:
    """A parameter value given as text (``--param C=0.5``): JSON unless the hint takes a string.

    Without a hint, text that is not valid JSON stays a string.
    """
    if hint is not _MISSING and accepts_text(hint):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_assignment(item: str) -> tuple[str, str]:
    """``"C=0.5"`` → ``("C", "0.5")``; the value may contain ``=``."""
    name, sep, text = item.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterTypeError(
            f"--param {item!r}: expected NAME=VALUE with NAME a Python identifier"
        )
    return name, text
