"""Time-sortable identifiers (ULID layout: 48-bit milliseconds + 80 random bits)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def now_ms() -> int:
    """The wall-clock time in whole milliseconds: how Ladder's records store times."""
    return int(time.time() * 1000)


def new_id(now_ms: int | None = None) -> str:
    """Return a 26-character id whose lexical order follows creation time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def id_time_ms(identifier: str) -> int:
    """Return the creation time in milliseconds encoded in an id from ``new_id``."""
    value = 0
    for char in identifier[:10]:
        value = (value << 5) | _ALPHABET.index(char)
    return value
