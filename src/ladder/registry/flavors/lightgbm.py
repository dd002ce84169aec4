"""LightGBM models in LightGBM's own text format (no code runs on load).

A scikit-learn wrapper (``LGBMClassifier``…) is saved as its booster plus the
class labels; loading rebuilds the booster and maps probabilities back to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ladder.registry.flavors import Flavor, LoadOptions, Predictor, SavedModel, as_array
from ladder.registry.signature import python_scalar

FILE = "model.txt"


class LightGBMPredictor(Predictor):
    def __init__(self, booster: lgb.Booster, classes: tuple[Any, ...] | None) -> None:
        self.booster = booster
        self.classes = classes

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        return as_array(self.booster.predict(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes is None:
            return self._raw(frame)
        return np.asarray(self.classes)[self.predict_proba(frame).argmax(axis=1)]

    @property
    def has_proba(self) -> bool:
        return self.classes is not None

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes is None:
            return super().predict_proba(frame)
        raw = self._raw(frame)
        if raw.ndim == 1:  # binary: probability of the second class
            return np.column_stack([1.0 - raw, raw])
        return raw


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    packages = ("lightgbm", "numpy")
    extra = "lightgbm"

    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        booster, classes = _booster_and_classes(model)
        meta = {"class": type(model).__name__, "classes": list(classes) if classes else None}
        return SavedModel({FILE: booster.model_to_string().encode()}, meta)

    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        booster = lgb.Booster(model_str=files[FILE].decode())
        classes = meta.get("classes")
        return LightGBMPredictor(booster, tuple(classes) if classes is not None else None)

    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        booster, classes = _booster_and_classes(model)
        return LightGBMPredictor(booster, classes)


def _booster_and_classes(model: Any) -> tuple[lgb.Booster, tuple[Any, ...] | None]:
    if isinstance(model, lgb.Booster):
        return model, None
    classes = getattr(model, "classes_", None) if isinstance(model, lgb.LGBMClassifier) else None
    return model.booster_, tuple(python_scalar(c) for c in classes) if classes is not None else None


FLAVOR = LightGBMFlavor()
