"""Loading model versions for prediction, with an in-process cache by version.

``load_model(uri)`` resolves the URI with one indexed query; a version already
loaded in this process (with the same trust options) is returned from memory,
so calling it per request costs a lookup, not a deserialisation. Files come
from the artifact store with their digests verified (``ArtifactCorrupted`` on
any mismatch, truncation included); nothing is written to disk.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ladder.errors import UnsupportedModel
from ladder.registry.flavors import LoadOptions, Predictor, get_flavor
from ladder.registry.signature import Signature, as_frame
from ladder.registry.uri import parse_model_uri
from ladder.registry.versions import ModelVersion, hydrate, version_row
from ladder.workspace import Workspace, open_workspace

CACHE_SIZE = 16  # loaded versions kept per process (least recently used are dropped)


class LoadedModel:
    """A model version ready to predict. Inputs are validated against its signature."""

    def __init__(self, version: ModelVersion, predictor: Predictor) -> None:
        self.version = version
        self.signature: Signature | None = version.signature
        self._predictor = predictor

    def __repr__(self) -> str:
        return f"<LoadedModel {self.version.uri} ({self.version.flavor})>"

    @property
    def uri(self) -> str:
        return self.version.uri

    @property
    def classes(self) -> tuple[Any, ...] | None:
        return self._predictor.classes

    @property
    def has_proba(self) -> bool:
        return self._predictor.has_proba

    def prepare(self, data: Any, *, allow_extra: bool = False) -> pd.DataFrame:
        """``data`` as the frame the model is fed: validated and cast when there is a signature."""
        if self.signature is None:
            return as_frame(data)
        return self.signature.validate(data, allow_extra=allow_extra)

    def predict(self, data: Any, *, validate: bool = True, allow_extra: bool = False) -> np.ndarray:
        """Predictions for each row of ``data`` (a DataFrame, records, columns or a 2-D array).

        Raises ``SignatureMismatch`` listing every offending column and row.
        ``validate=False`` skips the check for frames already prepared by ``prepare``.
        """
        frame = self.prepare(data, allow_extra=allow_extra) if validate else as_frame(data)
        return self._predictor.predict(frame)

    def predict_proba(
        self, data: Any, *, validate: bool = True, allow_extra: bool = False
    ) -> np.ndarray:
        """Class probabilities (columns in ``classes`` order), for classifiers that have them."""
        if not self._predictor.has_proba:
            raise UnsupportedModel(
                f"model {self.version.uri} ({self.version.flavor}): has no predict_proba"
            )
        frame = self.prepare(data, allow_extra=allow_extra) if validate else as_frame(data)
        return self._predictor.predict_proba(frame)


_CacheKey = tuple[str, str, bool, tuple[str, ...]]
_cache: OrderedDict[_CacheKey, LoadedModel] = OrderedDict()
_cache_lock = threading.Lock()
_load_locks: dict[_CacheKey, threading.Lock] = {}


def load_model(
    uri: str,
    *,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    workspace: Workspace | None = None,
) -> LoadedModel:
    """Load the model version ``uri`` (``name/3``, ``name@alias``, ``name@latest``).

    ``trust=True`` allows the ``python`` (cloudpickle) flavor, whose loading runs
    code from the file. ``trusted_types`` extends the types a scikit-learn (skops)
    file may contain beyond Ladder's list, e.g. your own transformer classes.
    """
    ws = workspace or open_workspace()
    parsed = parse_model_uri(uri)
    with ws.store.read() as session:
        model, row = version_row(session, ws.project, parsed)
        key: _CacheKey = (ws.settings.store_uri, row.id, trust, tuple(sorted(trusted_types)))
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
                return cached
        version = hydrate(session, model, row)
    # One loader per version at a time: concurrent requests for a cold model wait for it
    # instead of each deserialising their own copy.
    with _cache_lock:
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        loaded = _load(ws, version, LoadOptions(trust=trust, trusted_types=tuple(trusted_types)))
        with _cache_lock:
            _cache[key] = loaded
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
            _load_locks.pop(key, None)
        return loaded


def _load(ws: Workspace, version: ModelVersion, options: LoadOptions) -> LoadedModel:
    flavor = get_flavor(version.flavor)
    manifest = ws.artifacts.read_manifest(version.artifact_digest)
    files = {entry.path: ws.artifacts.get_bytes(entry.digest) for entry in manifest.entries}
    predictor = flavor.load(files, version.flavor_meta, options)
    return LoadedModel(version, predictor)


def clear_model_cache() -> None:
    """Forget every loaded model (the next ``load_model`` reads and verifies the files again)."""
    with _cache_lock:
        _cache.clear()
