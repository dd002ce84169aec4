"""Model URIs: ``name/3`` (a version), ``name@alias`` (a moving pointer), ``name@latest``.

A leading ``models:/`` (MLflow's spelling) is accepted and ignored, so URIs
copied from MLflow habits still work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ladder.errors import InvalidModelURI

LATEST = "latest"
MAX_NAME = 250
MAX_ALIAS = 64
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_PREFIX = "models:/"


@dataclass(frozen=True)
class ModelURI:
    """A parsed model URI: exactly one of ``version`` and ``alias`` is set."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return (
            f"{self.name}/{self.version}"
            if self.version is not None
            else f"{self.name}@{self.alias}"
        )

    @property
    def is_latest(self) -> bool:
        return self.alias == LATEST


def check_model_name(name: object) -> str:
    """Return ``name`` if it can name a model, else raise ``InvalidModelURI``."""
    if not isinstance(name, str):
        raise InvalidModelURI(f"model name: expected a string, got {type(name).__name__}")
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        raise InvalidModelURI(
            f"model name {name!r}: expected 1-{MAX_NAME} letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: object, *, settable: bool = True) -> str:
    """Return ``alias`` if it is a valid alias name (``latest`` is reserved when ``settable``)."""
    if not isinstance(alias, str):
        raise InvalidModelURI(f"alias: expected a string, got {type(alias).__name__}")
    if not alias or len(alias) > MAX_ALIAS or not _ALIAS.match(alias):
        raise InvalidModelURI(
            f"alias {alias!r}: expected 1-{MAX_ALIAS} letters, digits, '_' or '-', "
            "starting with a letter"
        )
    if settable and alias.lower() == LATEST:
        raise InvalidModelURI(
            f"alias {alias!r} is reserved: name@latest always means the highest version"
        )
    return alias


def parse_model_uri(uri: object) -> ModelURI:
    """Parse ``name/3``, ``name@alias`` or ``name@latest`` (optionally prefixed ``models:/``)."""
    if isinstance(uri, ModelURI):
        return uri
    if not isinstance(uri, str):
        raise InvalidModelURI(f"model URI: expected a string, got {type(uri).__name__}")
    text = uri.removeprefix(_PREFIX)
    if "@" in text:
        name, _, alias = text.partition("@")
        check_model_name(name)
        if alias.lower() == LATEST:
            return ModelURI(name, alias=LATEST)
        return ModelURI(name, alias=check_alias(alias))
    name, sep, number = text.rpartition("/")
    if not sep:
        raise InvalidModelURI(
            f"model URI {uri!r}: expected NAME/VERSION, NAME@ALIAS or NAME@latest"
        )
    check_model_name(name)
    if not number.isascii() or not number.isdigit() or int(number) < 1 or number.startswith("0"):
        raise InvalidModelURI(
            f"model URI {uri!r}: version must be a positive integer, got {number!r}"
        )
    return ModelURI(name, version=int(number))
