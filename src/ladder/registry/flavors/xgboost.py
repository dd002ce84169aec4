"""XGBoost models in XGBoost's own JSON format (no code runs on load)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ladder.errors import UnsupportedModel
from ladder.registry.flavors import Flavor, LoadOptions, Predictor, SavedModel, as_array
from ladder.registry.signature import python_scalar

FILE = "model.json"
# Wrapper classes rebuilt by name; nothing outside this list is ever imported from the meta.
_WRAPPERS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")


class XGBoostPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        self.model = model
        classes = getattr(model, "classes_", None) if hasattr(model, "n_classes_") else None
        self.classes = tuple(python_scalar(c) for c in classes) if classes is not None else None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if isinstance(self.model, xgb.Booster):
            return as_array(self.model.predict(xgb.DMatrix(frame, enable_categorical=True)))
        return as_array(self.model.predict(frame))

    @property
    def has_proba(self) -> bool:
        return self.classes is not None

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            return super().predict_proba(frame)
        return as_array(self.model.predict_proba(frame))


class XGBoostFlavor(Flavor):
    name = "xgboost"
    packages = ("xgboost", "numpy")
    extra = "xgboost"

    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        if isinstance(model, xgb.Booster):
            return SavedModel({FILE: bytes(model.save_raw("json"))}, {"class": "Booster"})
        wrapper = type(model).__name__
        if wrapper not in _WRAPPERS:
            raise UnsupportedModel(
                f"XGBoost model of type {wrapper}: expected a Booster or one of {_WRAPPERS}"
            )
        return SavedModel({FILE: bytes(model.get_booster().save_raw("json"))}, {"class": wrapper})

    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        wrapper = str(meta.get("class", "Booster"))
        if wrapper == "Booster":
            booster = xgb.Booster()
            booster.load_model(bytearray(files[FILE]))
            return XGBoostPredictor(booster)
        if wrapper not in _WRAPPERS:
            raise UnsupportedModel(f"XGBoost model class {wrapper!r}: expected one of {_WRAPPERS}")
        model = getattr(xgb, wrapper)()
        model.load_model(bytearray(files[FILE]))
        return XGBoostPredictor(model)

    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        return XGBoostPredictor(model)


FLAVOR = XGBoostFlavor()
