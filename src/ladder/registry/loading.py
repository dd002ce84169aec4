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

    def predict_with_proba(
        self, data: Any, *, validate: bool = True, allow_extra: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and class probabilities, equal to ``predict`` and ``predict_proba``.

        For scikit-learn classifiers whose ``predict`` is the argmax of their
        probabilities (``_ARGMAX_CLASSIFIERS``, also as a Pipeline's last step), the
        model runs once and the predictions are ``classes_`` at each row's most
        probable column; any other model is asked twice.
        """
        if not self._predictor.has_proba:
            raise UnsupportedModel(
                f"model {self.version.uri} ({self.version.flavor}): has no predict_proba"
            )
        frame = self.prepare(data, allow_extra=allow_extra) if validate else as_frame(data)
        proba = self._predictor.predict_proba(frame)
        estimator = getattr(self._predictor, "model", None)
        rule = _argmax_rule(estimator) if self.version.flavor == "sklearn" else None
        classes = getattr(estimator, "classes_", None)
        if (
            rule is None
            or not isinstance(classes, np.ndarray)
            or classes.ndim != 1
            or proba.ndim != 2
            or proba.shape[1] != len(classes)
        ):
            return self._predictor.predict(frame), proba
        if rule == _TIES_DIFFER:
            top = proba.max(axis=1, keepdims=True)
            # A shared (or NaN) maximum: argmax takes the first column, the model's own
            # threshold on its scores may pick another, so let the model decide.
            if np.isnan(top).any() or ((proba == top).sum(axis=1) > 1).any():
                return self._predictor.predict(frame), proba
        return classes.take(np.argmax(proba, axis=1), axis=0), proba


# How ``predict`` of a scikit-learn classifier relates to ``predict_proba`` (by exact class;
# a subclass may override either). _ARGMAX: ``predict`` is ``classes_`` at the argmax of the
# probabilities, ties included. _TIES_DIFFER: ``predict`` thresholds or takes the argmax of
# scores that ``predict_proba`` maps through a per-row increasing function (expit, softmax,
# dividing by the row's sum as trees do in older scikit-learn), so the two agree wherever
# the most probable class is unique. Classifiers with a tuned threshold, SVC's Platt scaling
# and the rest are absent: they are asked twice.
_ARGMAX = "argmax"
_TIES_DIFFER = "ties differ"
_PIPELINE = "pipeline"
_ARGMAX_CLASSIFIERS = {
    "sklearn.ensemble:RandomForestClassifier": _ARGMAX,
    "sklearn.ensemble:ExtraTreesClassifier": _ARGMAX,
    "sklearn.tree:DecisionTreeClassifier": _TIES_DIFFER,
    "sklearn.tree:ExtraTreeClassifier": _TIES_DIFFER,
    "sklearn.calibration:CalibratedClassifierCV": _ARGMAX,
    "sklearn.ensemble:GradientBoostingClassifier": _TIES_DIFFER,
    "sklearn.ensemble:HistGradientBoostingClassifier": _TIES_DIFFER,
    "sklearn.linear_model:LogisticRegression": _TIES_DIFFER,
}
_argmax_types: dict[type, str] = {}  # filled on first use (scikit-learn imported then)


def _argmax_rule(estimator: Any) -> str | None:
    """``_ARGMAX``, ``_TIES_DIFFER`` or None (ask the model twice) for a fitted estimator."""
    if not _argmax_types:
        import importlib

        from sklearn.pipeline import Pipeline

        found: dict[type, str] = {Pipeline: _PIPELINE}
        for path, kind in _ARGMAX_CLASSIFIERS.items():
            module, name = path.split(":")
            found[getattr(importlib.import_module(module), name)] = kind
        _argmax_types.update(found)  # one step: another thread never sees half of it
    rule = _argmax_types.get(type(estimator))
    if rule == _PIPELINE:  # its predict and predict_proba feed its last step the same rows
        steps = estimator.steps
        return _argmax_types.get(type(steps[-1][1])) if steps else None
    return rule


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
