"""Any Python object with ``predict``, stored with cloudpickle.

Unpickling runs whatever code the file asks for, so a model saved this way
loads only when the caller passes ``trust=True``: it is the escape hatch for
models no safe format covers, not a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd

from ladder.errors import UnsupportedModel, UntrustedModel
from ladder.registry.flavors import Flavor, LoadOptions, Predictor, SavedModel, as_array
from ladder.registry.signature import python_scalar

FILE = "model.cloudpickle"


class PythonPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        self.model = model
        classes = getattr(model, "classes_", None)
        self.classes = tuple(python_scalar(c) for c in classes) if classes is not None else None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return as_array(self.model.predict(frame))

    @property
    def has_proba(self) -> bool:
        return callable(getattr(self.model, "predict_proba", None))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            return super().predict_proba(frame)
        return as_array(self.model.predict_proba(frame))


class PythonFlavor(Flavor):
    name = "python"
    packages = ("cloudpickle", "numpy", "pandas")
    extra = None  # cloudpickle is a core dependency

    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        if not callable(getattr(model, "predict", None)):
            raise UnsupportedModel(
                f"python flavor: expected an object with a predict method, "
                f"got {type(model).__module__}.{type(model).__qualname__}"
            )
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
        return SavedModel({FILE: cloudpickle.dumps(model)}, {"class": kind})

    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        if not options.trust:
            raise UntrustedModel(
                f"this model ({meta.get('class', 'a Python object')}) is stored with cloudpickle, "
                "and unpickling runs any code the file contains; load it with trust=True "
                "(ladder models predict --trust) only if you trust whoever registered it"
            )
        return PythonPredictor(cloudpickle.loads(files[FILE]))

    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        return PythonPredictor(model)


FLAVOR = PythonFlavor()
