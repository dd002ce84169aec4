"""Dataset names and ``name@version`` references.

A name is what users type on the command line and what lineage stores, so it
is kept to one safe path segment: letters, digits, ``_ - .``; it starts with a
letter or digit and never contains ``..``. A version is a number (``@3``),
``@latest``, a version id (64 hex digits) or a unique prefix of one (at least
6 hex digits, not all digits; an all-digit version is always a number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ladder.errors import InvalidDatasetName

MAX_NAME = 128
MIN_ID_PREFIX = 6
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEX = re.compile(r"^[0-9a-f]+$")


def check_dataset_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise ``InvalidDatasetName``."""
    if not isinstance(name, str):
        raise InvalidDatasetName(f"dataset name: expected a string, got {type(name).__name__}")
    reason = _name_problem(name)
    if reason:
        raise InvalidDatasetName(
            f"dataset name {name!r} refused: {reason} "
            "(use letters, digits, '_', '-' and '.', starting with a letter or digit)"
        )
    return name


def _name_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters ({len(name)})"
    if ".." in name:
        return "it contains '..'"
    for char in name:
        if char == "/" or char == "\\":
            return f"it contains a path separator {char!r}"
        if char.isspace():
            return "it contains whitespace"
        if char == "@":
            return "'@' separates the name from a version (name@3)"
    if not _NAME.match(name):
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "_.-"))), None)
        if bad is not None:
            return f"character {bad!r} is not allowed"
        return "it must start with a letter or a digit"
    return None


@dataclass(frozen=True)
class VersionSelector:
    """What follows ``@``: exactly one of ``number``, ``id_prefix`` or ``latest`` is set."""

    number: int | None = None
    id_prefix: str | None = None

    @property
    def latest(self) -> bool:
        return self.number is None and self.id_prefix is None

    def __str__(self) -> str:
        if self.number is not None:
            return str(self.number)
        return self.id_prefix or "latest"


def parse_ref(ref: str) -> tuple[str, VersionSelector]:
    """Split ``name``, ``name@3``, ``name@latest`` or ``name@<version id or prefix>``."""
    if not isinstance(ref, str):
        raise InvalidDatasetName(
            f"dataset reference: expected 'name@version', got {type(ref).__name__}"
        )
    name, sep, version = ref.strip().partition("@")
    check_dataset_name(name)
    if not sep or version == "latest":
        return name, VersionSelector()
    if version.isdigit():
        number = int(version)
        if number < 1:
            raise InvalidDatasetName(
                f"dataset reference {ref!r}: versions count from 1, got {number}"
            )
        return name, VersionSelector(number=number)
    lowered = version.lower()
    if not _HEX.match(lowered) or not MIN_ID_PREFIX <= len(lowered) <= 64:
        raise InvalidDatasetName(
            f"dataset reference {ref!r}: expected @<number>, @latest or @<version id> "
            f"({MIN_ID_PREFIX} to 64 hex digits), got {version!r}"
        )
    return name, VersionSelector(id_prefix=lowered)
