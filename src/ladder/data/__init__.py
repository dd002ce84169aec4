"""Versioned datasets: content-addressed versions with schema, profile, sample and validation.

``ladder.dataset`` is the module ``ladder.data.dataset`` (``add``, ``get``,
``versions``, ``list_datasets``, ``diff``, ``checkout``, ``validate``). The
record types that other slices read (``DatasetProfile``, ``ReferenceSample``,
``ValidationReport``…) are importable from here; they load pyarrow and
pandas on first use only, so versioning plain files stays quick to start.
"""

from __future__ import annotations

import importlib
from typing import Any

from ladder.data import dataset
from ladder.data.dataset import DatasetSummary
from ladder.data.version import DatasetVersion

_LAZY = {
    "DatasetSchema": "ladder.data.schema",
    "ColumnSchema": "ladder.data.schema",
    "DatasetProfile": "ladder.data.profile",
    "ColumnProfile": "ladder.data.profile",
    "Histogram": "ladder.data.profile",
    "CategoryCount": "ladder.data.profile",
    "ReferenceSample": "ladder.data.sample",
    "ValidationReport": "ladder.data.validate",
    "CheckResult": "ladder.data.validate",
    "ValueExample": "ladder.data.validate",
    "DatasetDiff": "ladder.data.diff",
    "FileChange": "ladder.data.diff",
    "SchemaChange": "ladder.data.diff",
    "ColumnShift": "ladder.data.diff",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ladder.data' has no attribute {name!r}")


__all__ = [
    "CategoryCount",
    "CheckResult",
    "ColumnProfile",
    "ColumnSchema",
    "ColumnShift",
    "DatasetDiff",
    "DatasetProfile",
    "DatasetSchema",
    "DatasetSummary",
    "DatasetVersion",
    "FileChange",
    "Histogram",
    "ReferenceSample",
    "SchemaChange",
    "ValidationReport",
    "ValueExample",
    "dataset",
]
