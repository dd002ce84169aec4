"""How the registry names and reads dataset versions, through the data slice's public API.

The registry accepts a dataset version object (anything with ``.ref`` such as
``ladder.data``'s ``DatasetVersion``), a ``"name@version"`` string, or — for
gates — a pandas DataFrame. Strings are resolved through
``ladder.data.dataset.get`` only when data is needed, or to pin ``@latest`` to
the version it means today when recording lineage.
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

from ladder.artifacts.digest import hash_bytes
from ladder.errors import InvalidValue, LadderError
from ladder.workspace import Workspace

_FLOATING = ("latest",)


def dataset_ref(item: Any, workspace: Workspace | None = None) -> str:
    """The stable reference (``name@<version id>``) of a dataset version or string."""
    ref = getattr(item, "ref", None)
    if isinstance(ref, str):
        return ref
    if isinstance(item, str):
        name, sep, version = item.partition("@")
        if not sep or not name or not version:
            raise InvalidValue(f"dataset {item!r}: expected 'name@version' or a dataset version")
        if version in _FLOATING:
            try:
                resolved = _get_dataset(item, workspace, required=False)
            except LadderError:  # not a Ladder dataset: recorded as given
                return item
            if resolved is not None:
                return str(resolved.ref)
        return item
    raise InvalidValue(
        f"dataset: expected a dataset version, a 'name@version' string or a DataFrame, "
        f"got {type(item).__name__}"
    )


def dataset_frame(item: Any, workspace: Workspace | None = None) -> tuple[pd.DataFrame, str]:
    """The rows of a dataset (version, string or DataFrame) and the reference to record.

    A DataFrame has no name, so it is recorded by the digest of its content.
    """
    if isinstance(item, pd.DataFrame):
        hashed = pd.util.hash_pandas_object(item, index=True).to_numpy().tobytes()
        columns = ",".join(str(c) for c in item.columns).encode()
        return item, f"dataframe:{hash_bytes(columns + hashed)}"
    if isinstance(item, str):
        item = _get_dataset(item, workspace, required=True)
    to_pandas = getattr(item, "to_pandas", None)
    if not callable(to_pandas):
        raise InvalidValue(
            f"dataset: expected a dataset version, a 'name@version' string or a DataFrame, "
            f"got {type(item).__name__}"
        )
    return to_pandas(), dataset_ref(item)


def _get_dataset(ref: str, workspace: Workspace | None, *, required: bool) -> Any:
    try:
        data = importlib.import_module("ladder.data")
    except ImportError:
        if required:
            raise InvalidValue(
                f"dataset {ref!r}: reading a dataset by name needs ladder.data, which is not "
                "available here; pass a pandas DataFrame instead"
            ) from None
        return None
    return data.dataset.get(ref, workspace=workspace)
