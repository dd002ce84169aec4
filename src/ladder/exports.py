"""Public names imported on first use: the ``__getattr__`` of Ladder's lazily exporting packages.

``import ladder`` (and ``ladder.pipelines``, ``ladder.registry``,
``ladder.automation``) binds no slice module; each exported name's module is
imported when the name is first read, then the name is bound in the package
so later reads are plain attribute lookups. A module must not share its name
with a function its package exports: importing it would bind the package
attribute to the module (``tests/store/test_public_names.py`` checks this).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], modules: Mapping[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``modules`` maps each name to its module."""

    def getattr_(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return getattr_
