"""scikit-learn models, saved with skops and loaded only with an explicit list of trusted types.

skops rebuilds objects from a description instead of unpickling them; any type
it does not trust by default must be named by the loader. Ladder names a fixed
list of scikit-learn internals below (trees, histogram-boosting predictors,
neighbour trees, optimisers, calibrators); anything else in the file, such as
a user's own transformer class, refuses to load until the caller passes it in
``load_model(..., trusted_types=[...])``. Files are written and read by
``skops_io``: plain skops files, read with skops' trust rules in a fraction of
skops' time, and handed to ``skops.io.loads`` where its reader was not built
for them.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ladder.errors import ArtifactCorrupted, UntrustedModel
from ladder.registry.flavors import Flavor, LoadOptions, Predictor, SavedModel, as_array
from ladder.registry.flavors.skops_io import UntrustedTypes, dump_skops, load_skops
from ladder.registry.signature import python_scalar

FILE = "model.skops"

# Types skops does not trust by default that plain scikit-learn models are built from.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)


class SklearnPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        self.model = model
        # A model fitted on an array warns when given named columns; give it the array.
        fitted_on_array = hasattr(model, "n_features_in_") and not hasattr(
            model, "feature_names_in_"
        )
        self._by_name = not fitted_on_array
        classes = getattr(model, "classes_", None)
        self.classes = tuple(python_scalar(c) for c in classes) if classes is not None else None

    def _features(self, frame: pd.DataFrame) -> Any:
        return frame if self._by_name else frame.to_numpy()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return as_array(self.model.predict(self._features(frame)))

    @property
    def has_proba(self) -> bool:
        return self.classes is not None and hasattr(self.model, "predict_proba")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            return super().predict_proba(frame)
        return as_array(self.model.predict_proba(self._features(frame)))


class SklearnFlavor(Flavor):
    name = "sklearn"
    packages = ("scikit-learn", "skops", "numpy", "scipy")
    extra = None  # scikit-learn and skops are core dependencies

    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        # Which types a loader must trust is found when loading (naming them), not here:
        # auditing the file costs a third of saving it.
        return SavedModel({FILE: dump_skops(model)}, {})

    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        trusted = [*TRUSTED_TYPES, *options.trusted_types]
        try:
            model = load_skops(files[FILE], trusted)
        except UntrustedTypes as exc:
            raise UntrustedModel(
                f"skops file holds types outside the trusted list: {', '.join(exc.types)}; "
                "if you trust this model's source, pass "
                f"trusted_types={exc.types!r} to load_model"
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, TypeError) as exc:
            raise ArtifactCorrupted(
                f"{FILE}: expected a skops archive (a zip with schema.json and the arrays it "
                f"names), could not read it: {type(exc).__name__}: {exc}"
            ) from exc
        return SklearnPredictor(model)

    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        return SklearnPredictor(model)


FLAVOR = SklearnFlavor()
