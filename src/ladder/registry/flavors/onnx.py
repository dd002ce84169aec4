"""ONNX models, run with onnxruntime.

Input mapping: a graph with one 2-D input gets all signature columns as one
matrix (in signature order, cast to the input's element type); a graph whose
inputs are named like the columns gets each column as an ``(N, 1)`` tensor.
The first output is the prediction; a second output (a probability tensor or
skl2onnx's ZipMap list of dicts) is ``predict_proba``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

from ladder.errors import SignatureMismatch, SignatureProblem, UnsupportedModel
from ladder.registry.flavors import Flavor, LoadOptions, Predictor, SavedModel

FILE = "model.onnx"
_ELEMENT_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}
_CLASS_ATTRIBUTES = ("classlabels_strings", "classlabels_int64s", "classlabels_ints")


class ONNXPredictor(Predictor):
    def __init__(self, session: ort.InferenceSession, classes: tuple[Any, ...] | None) -> None:
        self.session = session
        self.inputs = session.get_inputs()
        self.output_names = [output.name for output in session.get_outputs()]
        self.classes = classes

    def _feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        names = [i.name for i in self.inputs]
        if len(self.inputs) > 1 or (names[0] in frame.columns and frame.shape[1] == 1):
            missing = [n for n in names if n not in frame.columns]
            if missing:
                raise SignatureMismatch(
                    f"ONNX graph inputs {missing} have no column of the same name",
                    [SignatureProblem(n, "column", "missing", "missing column") for n in missing],
                )
            return {
                i.name: frame[i.name]
                .to_numpy(dtype=_ELEMENT_TYPES.get(i.type, np.float32))
                .reshape(-1, 1)
                for i in self.inputs
            }
        single = self.inputs[0]
        return {single.name: frame.to_numpy(dtype=_ELEMENT_TYPES.get(single.type, np.float32))}

    def _run(self, frame: pd.DataFrame) -> list[Any]:
        return list(self.session.run(self.output_names, self._feed(frame)))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        prediction = np.asarray(self._run(frame)[0])
        if prediction.ndim == 2 and prediction.shape[1] == 1:
            prediction = prediction.ravel()
        return prediction

    @property
    def has_proba(self) -> bool:
        return len(self.output_names) > 1 and self.classes is not None

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            return super().predict_proba(frame)
        probabilities = self._run(frame)[1]
        if isinstance(probabilities, list):  # ZipMap: one {class: probability} per row
            assert self.classes is not None
            return np.array([[row[c] for c in self.classes] for row in probabilities])
        return np.asarray(probabilities)


class ONNXFlavor(Flavor):
    name = "onnx"
    packages = ("onnx", "onnxruntime", "numpy")
    extra = "onnx"

    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        if not isinstance(model, onnx.ModelProto):
            raise UnsupportedModel(
                f"ONNX flavor: expected an onnx.ModelProto, got {type(model).__name__}"
            )
        onnx.checker.check_model(model)
        return SavedModel({FILE: model.SerializeToString()}, {"classes": _classes(model)})

    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        session = ort.InferenceSession(files[FILE], providers=["CPUExecutionProvider"])
        classes = meta.get("classes")
        return ONNXPredictor(session, tuple(classes) if classes is not None else None)

    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        return self.load(saved.files, saved.meta, LoadOptions())


def _classes(model: onnx.ModelProto) -> list[Any] | None:
    """Class labels declared by the graph's classifier node (ONNX-ML operators), if any."""
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in _CLASS_ATTRIBUTES:
                values = onnx.helper.get_attribute_value(attribute)
                return [v.decode() if isinstance(v, bytes) else int(v) for v in values]
    return None


FLAVOR = ONNXFlavor()
