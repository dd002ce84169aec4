"""Flavors: how one kind of model is saved to bytes, loaded back and asked for predictions.

Each flavor lives in its own module and imports its library only when used, so
``import ladder`` never pulls in torch or xgboost. Saved files are plain bytes
(``SavedModel.files``); the registry stores them content-addressed and hands the
verified bytes back to ``load``, so no flavor touches the artifact store or disk.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ladder.errors import UnsupportedModel

# Flavor name -> module. The order is the detection order in ``detect_flavor``.
_MODULES = {
    "pytorch": "ladder.registry.flavors.pytorch",
    "onnx": "ladder.registry.flavors.onnx",
    "xgboost": "ladder.registry.flavors.xgboost",
    "lightgbm": "ladder.registry.flavors.lightgbm",
    "sklearn": "ladder.registry.flavors.sklearn",
    "python": "ladder.registry.flavors.python",
}
# The top-level package a model class (or one of its bases) comes from -> flavor.
_PACKAGE_FLAVOR = {
    "torch": "pytorch",
    "onnx": "onnx",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "sklearn": "sklearn",
}
FLAVOR_NAMES = tuple(_MODULES)


@dataclass(frozen=True)
class SavedModel:
    """A model as bytes: file name -> content, plus what the flavor needs to load it (JSON-able)."""

    files: dict[str, bytes]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOptions:
    """What the caller of ``load_model`` vouches for."""

    trust: bool = False
    trusted_types: tuple[str, ...] = ()


class Predictor(ABC):
    """A loaded model, fed a frame already validated against the signature."""

    classes: tuple[Any, ...] | None = None

    @abstractmethod
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions, one per row (labels for a classifier)."""

    @property
    def has_proba(self) -> bool:
        return False

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one row per input row, columns in ``classes`` order."""
        raise UnsupportedModel(
            "this model has no predict_proba (it is not a probabilistic classifier)"
        )


class Flavor(ABC):
    """Saves and loads one kind of model."""

    name: ClassVar[str]
    packages: ClassVar[tuple[str, ...]]  # distributions a loader needs (recorded as requirements)
    extra: ClassVar[str | None] = None  # the pip extra of ladder-mlops that installs them

    @abstractmethod
    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        """Serialise ``model`` to bytes in a format that runs no code when read back."""

    @abstractmethod
    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        """Rebuild a predictor from the bytes ``save`` produced."""

    @abstractmethod
    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        """A predictor over the live object (used at registration to infer the signature)."""

    def requirements(self) -> list[str]:
        """``package==version`` of each package this flavor needs, as installed now."""
        found = []
        for package in self.packages:
            try:
                found.append(f"{package}=={metadata.version(package)}")
            except metadata.PackageNotFoundError:
                continue
        return found


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; its library must be installed."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise UnsupportedModel(f"flavor {name!r}: expected one of {', '.join(FLAVOR_NAMES)}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = {"pytorch": "torch"}.get(name, name)
        raise UnsupportedModel(
            f"flavor {name!r} needs {exc.name or 'a library'} which is not installed: "
            f"pip install 'ladder-mlops[{extra}]'"
        ) from None
    flavor: Flavor = module.FLAVOR
    return flavor


def detect_flavor(model: Any) -> str:
    """The safe flavor for ``model``, from the packages its class and bases come from.

    Never picks ``python`` (pickle): that must be asked for by name.
    """
    for cls in type(model).__mro__:
        flavor = _PACKAGE_FLAVOR.get(cls.__module__.split(".", 1)[0])
        if flavor is not None:
            return flavor
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    hint = (
        "; pass flavor='python' to store it with cloudpickle (loading it then needs trust=True)"
        if callable(getattr(model, "predict", None))
        else ""
    )
    raise UnsupportedModel(
        f"model of type {kind}: no safe flavor saves it (scikit-learn, XGBoost, LightGBM, "
        f"ONNX and PyTorch models are supported){hint}"
    )


def as_array(values: Any) -> np.ndarray:
    """Model output as a NumPy array (pandas objects and lists included)."""
    if isinstance(values, (pd.DataFrame, pd.Series)):
        return values.to_numpy()
    return np.asarray(values)
