"""Materializers: how a step value becomes a file in the artifact store, and back.

Each materializer has a name and a version (both enter the cache key of the
steps that read its files) and writes one file in a safe, library-native format:
Parquet for data frames and Arrow tables, ``.npy`` (no pickle) for arrays, skops
for scikit-learn estimators (loaded against an explicit list of trusted types),
JSON for plain Python data, raw bytes. A value no materializer handles is an
error that names the step and the type: Ladder never falls back to pickle. Users
add their own with ``register_materializer``; ``PickleMaterializer`` exists only
for types a user registers it for, explicitly.
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ladder.artifacts.store import ArtifactStore
from ladder.errors import MaterializerError, MaterializerNotFound

if TYPE_CHECKING:
    from ladder.workspace import Workspace

_REGISTER_HINT = (
    "register one with ladder.pipelines.register_materializer(MyMaterializer()) "
    "(a subclass of ladder.pipelines.Materializer with handles/save/load; see docs/pipelines.md), "
    "or return a supported type (DataFrame, numpy array, scikit-learn estimator, "
    "dict/list/scalars, bytes)"
)


@dataclass(frozen=True)
class StoredValue:
    """A step value in the artifact store: enough to load it, cache on it and trace it."""

    digest: str
    size: int
    materializer: str
    version: int
    type_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "size": self.size,
            "materializer": self.materializer,
            "version": self.version,
            "type": self.type_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredValue:
        return cls(
            digest=str(data["digest"]),
            size=int(data["size"]),
            materializer=str(data["materializer"]),
            version=int(data["version"]),
            type_name=str(data["type"]),
        )


def type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


class Materializer(ABC):
    """Saves values it ``handles`` to one file and loads them back.

    ``name`` identifies the format in stored records; bump ``version`` when the
    file format changes (steps that read the old files then miss the cache).
    The default ``handles`` accepts instances of ``types``.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    suffix: ClassVar[str] = ".bin"

    def __init__(self, types: Iterable[type] = ()) -> None:
        self.types = tuple(types)

    def handles(self, value: Any) -> bool:
        return bool(self.types) and isinstance(value, self.types)

    @abstractmethod
    def save(self, value: Any, path: Path) -> None:
        """Write ``value`` to the file ``path``."""

    @abstractmethod
    def load(self, path: Path) -> Any:
        """Read the value back from ``path`` (the file must not be modified)."""

    def reference(self, value: Any) -> tuple[str, str] | None:
        """``(kind, ref)`` of a Ladder object stored by reference (dataset, model), for lineage."""
        return None


def _imported_instance(value: Any, module: str, *names: str) -> bool:
    """isinstance against a library's classes, without importing the library when it is absent."""
    loaded = sys.modules.get(module)
    if loaded is None:
        return False
    classes = tuple(cls for name in names if isinstance(cls := getattr(loaded, name, None), type))
    return bool(classes) and isinstance(value, classes)


class BytesMaterializer(Materializer):
    name = "bytes"
    suffix = ".bin"

    def handles(self, value: Any) -> bool:
        return isinstance(value, (bytes, bytearray, memoryview))

    def save(self, value: Any, path: Path) -> None:
        path.write_bytes(bytes(value))

    def load(self, path: Path) -> Any:
        return path.read_bytes()


_JSON_SCALARS = (str, int, float, bool, type(None))


def first_non_json(value: Any, where: str = "") -> tuple[str, str] | None:
    """The location and type of the first element JSON cannot hold exactly, else None.

    Dict keys must be strings (JSON would turn other keys into strings silently).
    Tuples are accepted and come back as lists.
    """
    if isinstance(value, _JSON_SCALARS):
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where}[{key!r}] (key)", type_name(key)
            found = first_non_json(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = first_non_json(item, f"{where}[{index}]")
            if found:
                return found
        return None
    return where or "value", type_name(value)


class JsonMaterializer(Materializer):
    """Plain data: None, bool, int, float (NaN and ±inf too), str, lists, dicts with str keys."""

    name = "json"
    suffix = ".json"

    def handles(self, value: Any) -> bool:
        return first_non_json(value) is None

    def save(self, value: Any, path: Path) -> None:
        path.write_text(json.dumps(value, allow_nan=True, ensure_ascii=False))

    def load(self, path: Path) -> Any:
        return json.loads(path.read_text())


class NumpyMaterializer(Materializer):
    name = "numpy"
    suffix = ".npy"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "numpy", "ndarray", "generic")

    def save(self, value: Any, path: Path) -> None:
        import numpy as np

        array = np.asarray(value)
        if array.dtype.hasobject:
            raise MaterializerError(
                f"numpy array of dtype object: saving it would need pickle; "
                f"expected a numeric, bool, string or datetime dtype, got {array.dtype}"
            )
        with path.open("wb") as handle:
            np.save(handle, array, allow_pickle=False)

    def load(self, path: Path) -> Any:
        import numpy as np

        array = np.load(path, allow_pickle=False)
        return array[()] if array.ndim == 0 else array


_SERIES_COLUMN = "__ladder_series__"


class PandasMaterializer(Materializer):
    """DataFrames and Series as Parquet (index and dtypes kept through pandas metadata)."""

    name = "pandas"
    suffix = ".parquet"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "pandas", "DataFrame", "Series")

    def save(self, value: Any, path: Path) -> None:
        import pandas as pd

        frame = value
        if isinstance(value, pd.Series):
            frame = value.to_frame(name=_SERIES_COLUMN)
            frame.attrs = {"ladder_series_name": value.name}
        bad = [c for c in frame.columns if not isinstance(c, str)]
        if bad:
            raise MaterializerError(
                f"pandas DataFrame: Parquet needs string column names, got {bad[:5]!r} "
                f"(rename them, e.g. df.columns = df.columns.astype(str))"
            )
        frame.to_parquet(path, engine="pyarrow")

    def load(self, path: Path) -> Any:
        import pandas as pd

        frame = pd.read_parquet(path, engine="pyarrow")
        if list(frame.columns) == [_SERIES_COLUMN]:
            series = frame[_SERIES_COLUMN]
            series.name = frame.attrs.get("ladder_series_name")
            return series
        return frame


class PolarsMaterializer(Materializer):
    name = "polars"
    suffix = ".parquet"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "polars", "DataFrame")

    def save(self, value: Any, path: Path) -> None:
        value.write_parquet(path)

    def load(self, path: Path) -> Any:
        import polars as pl

        return pl.read_parquet(path)


class ArrowMaterializer(Materializer):
    name = "pyarrow"
    suffix = ".parquet"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "pyarrow", "Table")

    def save(self, value: Any, path: Path) -> None:
        import pyarrow.parquet as pq

        pq.write_table(value, path)

    def load(self, path: Path) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(path)


# Beyond skops' own default list (numpy, scipy and common sklearn types), a skops file may hold
# scikit-learn's internal types (a fitted forest's Tree, say) without the user trusting them.
_TRUSTED_SKOPS_MODULES = ("sklearn.",)
_trusted_types: set[str] = set()


def trust_types(*names: str) -> None:
    """Let skops files hold these types (``"module.Class"``), e.g. another package's estimator."""
    for name in names:
        if not isinstance(name, str) or "." not in name:
            raise MaterializerError(f"trusted type: expected 'module.Class', got {name!r}")
    _trusted_types.update(names)


def trusted_type_names() -> list[str]:
    return sorted(_trusted_types)


def _untrusted(names: Iterable[str]) -> list[str]:
    return sorted(
        n for n in names if n not in _trusted_types and not n.startswith(_TRUSTED_SKOPS_MODULES)
    )


class SklearnMaterializer(Materializer):
    """scikit-learn estimators through skops: no code runs on load, types are checked first."""

    name = "sklearn-skops"
    suffix = ".skops"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "sklearn.base", "BaseEstimator")

    def save(self, value: Any, path: Path) -> None:
        import skops.io as sio

        sio.dump(value, path)
        refused = _untrusted(sio.get_untrusted_types(file=path))
        if refused:
            raise MaterializerError(self._refusal(refused))

    def load(self, path: Path) -> Any:
        import skops.io as sio

        found = sio.get_untrusted_types(file=path)
        refused = _untrusted(found)
        if refused:
            raise MaterializerError(self._refusal(refused))
        return sio.load(path, trusted=found)

    @staticmethod
    def _refusal(refused: list[str]) -> str:
        return (
            f"skops file holds types outside the trusted list (skops defaults and sklearn.*): "
            f"{refused}; if you trust them, call "
            f"ladder.pipelines.trust_types({', '.join(repr(r) for r in refused)})"
        )


class PickleMaterializer(Materializer):
    """Pickle, only for the types it is registered for (loading runs code: opt in explicitly)."""

    name = "pickle"
    suffix = ".pkl"

    def __init__(self, types: Iterable[type] = ()) -> None:
        super().__init__(types)
        if not self.types:
            raise MaterializerError(
                "PickleMaterializer: expected the types to pickle, e.g. "
                "PickleMaterializer(types=[MyModel]); Ladder never pickles other types"
            )

    def save(self, value: Any, path: Path) -> None:
        with path.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, path: Path) -> Any:
        with path.open("rb") as handle:
            return pickle.load(handle)


_loading_workspace: ContextVar[Workspace | Callable[[], Workspace] | None] = ContextVar(
    "ladder_loading_ws", default=None
)


def _workspace() -> Workspace:
    """The workspace a value is loaded for: by-reference materializers look objects up there."""
    from ladder.workspace import Workspace, open_workspace

    found = _loading_workspace.get()
    if found is None:
        return open_workspace()
    return found if isinstance(found, Workspace) else found()


class DatasetMaterializer(Materializer):
    """A Ladder dataset version, stored by reference (``name@<version id>``), not by content.

    The reference pins the exact version, so a step that takes a dataset version
    is cached on that version and records it as a lineage input.
    """

    name = "ladder-dataset"
    suffix = ".json"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "ladder.data.version", "DatasetVersion")

    def save(self, value: Any, path: Path) -> None:
        path.write_text(json.dumps({"ref": value.ref, "project": value.project}))

    def load(self, path: Path) -> Any:
        from ladder.data.dataset import get

        return get(json.loads(path.read_text())["ref"], workspace=_workspace())

    def reference(self, value: Any) -> tuple[str, str] | None:
        return "dataset", str(value.ref)


class ModelMaterializer(Materializer):
    """A registered model version (or a model loaded from one), stored by its ``name/N`` URI."""

    name = "ladder-model"
    suffix = ".json"

    def handles(self, value: Any) -> bool:
        return _imported_instance(value, "ladder.registry.versions", "ModelVersion") or (
            _imported_instance(value, "ladder.registry.loading", "LoadedModel")
        )

    def save(self, value: Any, path: Path) -> None:
        loaded = _imported_instance(value, "ladder.registry.loading", "LoadedModel")
        path.write_text(json.dumps({"uri": value.uri, "loaded": loaded}))

    def load(self, path: Path) -> Any:
        document = json.loads(path.read_text())
        if document["loaded"]:
            from ladder.registry import load_model

            return load_model(document["uri"], workspace=_workspace())
        from ladder.registry import get_model_version

        return get_model_version(document["uri"], workspace=_workspace())

    def reference(self, value: Any) -> tuple[str, str] | None:
        return "model", str(value.uri)


class _Registry:
    """Materializers in lookup order: the user's (newest first), then the built-ins."""

    def __init__(self, builtins: list[Materializer]) -> None:
        self._builtins = builtins
        self._custom: list[Materializer] = []
        self._lock = threading.Lock()

    def register(self, materializer: Materializer) -> None:
        if not isinstance(materializer, Materializer):
            raise MaterializerError(
                f"register_materializer: expected a Materializer instance, "
                f"got {type(materializer).__name__}"
            )
        name = getattr(type(materializer), "name", None)
        if not isinstance(name, str) or not name:
            raise MaterializerError(
                f"materializer {type(materializer).__name__}: expected a class attribute "
                f"name (a non-empty string), got {name!r}"
            )
        with self._lock:
            self._custom = [m for m in self._custom if m.name != name]
            self._custom.insert(0, materializer)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._custom = [m for m in self._custom if m.name != name]

    def all(self) -> list[Materializer]:
        with self._lock:
            return [*self._custom, *self._builtins]

    def custom(self) -> list[Materializer]:
        with self._lock:
            return list(self._custom)

    def for_value(self, value: Any) -> Materializer | None:
        for materializer in self.all():
            if materializer.handles(value):
                return materializer
        return None

    def by_name(self, name: str) -> Materializer | None:
        return next((m for m in self.all() if m.name == name), None)


_registry = _Registry(
    [
        BytesMaterializer(),
        JsonMaterializer(),
        NumpyMaterializer(),
        PandasMaterializer(),
        PolarsMaterializer(),
        ArrowMaterializer(),
        SklearnMaterializer(),
        DatasetMaterializer(),
        ModelMaterializer(),
    ]
)


def register_materializer(materializer: Materializer) -> None:
    """Use ``materializer`` for the values it handles, ahead of the built-ins.

    A materializer with the same ``name`` is replaced. Registered materializers
    travel with each step to worker processes and Ray tasks.
    """
    _registry.register(materializer)


def unregister_materializer(name: str) -> None:
    _registry.unregister(name)


def custom_materializers() -> list[Materializer]:
    return _registry.custom()


def materializer_for(value: Any, owner: str) -> Materializer:
    """The materializer of ``value``; ``owner`` (e.g. "step 'train' output") names it in errors."""
    materializer = _registry.for_value(value)
    if materializer is not None:
        return materializer
    detail = ""
    if isinstance(value, (dict, list, tuple)):
        found = first_non_json(value)
        if found:
            where, inner = found
            detail = (
                f" (a {type(value).__name__} is stored as JSON only when it holds JSON values; "
                f"{where} is a {inner})"
            )
    raise MaterializerNotFound(
        f"{owner}: no materializer for type {type_name(value)}{detail}; {_REGISTER_HINT}. "
        f"Ladder never pickles step values silently"
    )


_PLAIN = (str, bytes, int, float, bool, type(None), list, tuple, dict)


def lineage_reference(value: Any) -> tuple[str, str] | None:
    """``(kind, ref)`` when ``value`` is a Ladder object other slices track (dataset, model)."""
    if isinstance(value, _PLAIN):
        return None
    materializer = _registry.for_value(value)
    return None if materializer is None else materializer.reference(value)


def materializer_named(name: str, version: int) -> Materializer:
    materializer = _registry.by_name(name)
    if materializer is None:
        raise MaterializerError(
            f"stored value written by materializer {name!r} v{version}: no materializer of "
            f"that name is registered in this process; register it before loading"
        )
    if version > materializer.version:
        raise MaterializerError(
            f"stored value written by materializer {name!r} v{version}: this process has "
            f"v{materializer.version}; upgrade the package that provides it"
        )
    return materializer


def current_version(name: str) -> int | None:
    materializer = _registry.by_name(name)
    return None if materializer is None else materializer.version


@contextmanager
def materialized(
    value: Any, owner: str, stem: str, scratch: Path | None = None
) -> Iterator[tuple[Path, Materializer]]:
    """Write ``value`` to a temporary file named ``stem`` + the materializer's suffix.

    ``scratch``: where the temporary folder goes (a local artifact store's own, so
    the file can be moved into the store rather than copied).
    """
    materializer = materializer_for(value, owner)
    with tempfile.TemporaryDirectory(prefix="ladder-value-", dir=scratch) as folder:
        path = Path(folder) / f"{stem}{materializer.suffix}"
        try:
            materializer.save(value, path)
        except MaterializerError as exc:
            raise MaterializerError(f"{owner}: {exc}") from None
        except Exception as exc:
            raise MaterializerError(
                f"{owner}: materializer {materializer.name!r} could not save a "
                f"{type_name(value)}: {type(exc).__name__}: {exc}"
            ) from exc
        yield path, materializer


def store_value(value: Any, artifacts: ArtifactStore, owner: str) -> StoredValue:
    """Materialize ``value`` straight into the artifact store (no run records it)."""
    with materialized(value, owner, "value", artifacts.scratch_dir()) as (path, materializer):
        stored = artifacts.put_owned_file(path)
        return StoredValue(
            stored.digest, stored.size, materializer.name, materializer.version, type_name(value)
        )


def load_value(
    artifacts: ArtifactStore,
    stored: StoredValue,
    workspace: Workspace | Callable[[], Workspace] | None = None,
) -> Any:
    """Read a stored value back (its bytes verified against the digest first).

    ``workspace`` (or a function opening it, called only if needed) is where values
    stored by reference (datasets, models) are looked up.
    """
    materializer = materializer_named(stored.materializer, stored.version)
    token = _loading_workspace.set(workspace)
    with artifacts.local_copy(stored.digest) as path:
        try:
            return materializer.load(path)
        except MaterializerError:
            raise
        except Exception as exc:
            raise MaterializerError(
                f"stored value {stored.digest} ({stored.type_name}): materializer "
                f"{stored.materializer!r} could not load it: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            _loading_workspace.reset(token)
