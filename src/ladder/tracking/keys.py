"""Validation of what users log: keys, param and tag values, metric values."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from ladder.errors import InvalidKey, InvalidValue

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_KEY = re.compile(r"^[A-Za-z0-9_.\-/ ]+$")
# Keys already checked, so that hot paths can skip the check with one set lookup.
valid_keys: set[str] = set()


def check_key(key: Any, kind: str) -> str:
    """Return ``key`` if it is a valid ``kind`` key (param, metric, tag), else raise."""
    if key in valid_keys:
        return str(key)
    if not isinstance(key, str):
        raise InvalidKey(f"{kind} key: expected a string, got {type(key).__name__} {key!r}")
    if len(key) > MAX_KEY:
        raise InvalidKey(f"{kind} key {key[:40]!r}…: at most {MAX_KEY} characters, got {len(key)}")
    if not _KEY.match(key) or key.strip() != key or "//" in key:
        raise InvalidKey(
            f"{kind} key {key!r}: expected letters, digits and _ - . / or inner spaces"
        )
    if len(valid_keys) < 100_000:
        valid_keys.add(key)
    return key


def param_text(key: str, value: Any) -> str:
    """The stored text of a param value (params are stored as text, like the peer tools)."""
    text = value if isinstance(value, str) else _scalar_text(value)
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidValue(
            f"param {key!r}: value at most {MAX_PARAM_VALUE} characters, got {len(text)}"
        )
    return text


def tag_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else _scalar_text(value)
    if len(text) > MAX_TAG_VALUE:
        raise InvalidValue(
            f"tag {key!r}: value at most {MAX_TAG_VALUE} characters, got {len(text)}"
        )
    return text


def _scalar_text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return str(value)


def metric_value(key: str, value: Any) -> float:
    """Return ``value`` as a float; anything that is not a real number is a ``TypeError``."""
    if isinstance(value, float):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(
        f"metric {key!r}: expected a real number (int or float, NaN and ±inf allowed), "
        f"got {type(value).__name__} {value!r:.60}"
    )
