"""PyTorch modules: weights in safetensors, the architecture as an importable class path.

safetensors holds tensors only, so loading runs no code from the artifact; the
module is rebuilt by importing its class (from the user's own code, at the
recorded ``module:QualName``) and calling it with the recorded ``init_kwargs``,
then loading the weights strictly. Registration rebuilds it once to prove that
works, so a missing ``init_kwargs`` fails at registration, not at deploy time.
"""

from __future__ import annotations

import importlib
import itertools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd
import safetensors.torch
import torch

from ladder.errors import UnsupportedModel
from ladder.registry.flavors import Flavor, LoadOptions, Predictor, SavedModel

FILE = "model.safetensors"


class PyTorchPredictor(Predictor):
    def __init__(self, module: torch.nn.Module, dtype: torch.dtype) -> None:
        self.module = module.eval()
        self.dtype = dtype

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        features = torch.tensor(frame.to_numpy(dtype=np.float64), dtype=self.dtype)
        with torch.inference_mode():
            output = self.module(features)
        array = output.detach().cpu().numpy()
        if array.ndim == 2 and array.shape[1] == 1:
            array = array.ravel()
        return array


class PyTorchFlavor(Flavor):
    name = "pytorch"
    packages = ("torch", "safetensors", "numpy")
    extra = "torch"

    def save(self, model: Any, options: Mapping[str, Any]) -> SavedModel:
        if not isinstance(model, torch.nn.Module):
            raise UnsupportedModel(
                f"pytorch flavor: expected a torch.nn.Module, got {type(model).__name__}"
            )
        cls = type(model)
        class_path = f"{cls.__module__}:{cls.__qualname__}"
        if cls.__module__ == "__main__":
            warnings.warn(
                f"model class {cls.__qualname__} is defined in __main__: other processes cannot "
                "import it to load this model; move it to a module",
                stacklevel=4,
            )
        init_kwargs = dict(options.get("init_kwargs") or {})
        try:
            orjson.dumps(init_kwargs)
        except TypeError as exc:
            raise UnsupportedModel(
                f"pytorch init_kwargs: must be JSON-serialisable ({exc})"
            ) from None
        state = _plain_state(model)
        data = safetensors.torch.save(state)
        dtype = str(next(iter(state.values())).dtype).removeprefix("torch.") if state else "float32"
        meta = {"class": class_path, "init_kwargs": init_kwargs, "dtype": dtype}
        _build(meta, state)  # proves the class and kwargs rebuild the same module
        return SavedModel({FILE: data}, meta)

    def load(
        self, files: Mapping[str, bytes], meta: Mapping[str, Any], options: LoadOptions
    ) -> Predictor:
        state = safetensors.torch.load(files[FILE])
        return PyTorchPredictor(_build(meta, state), _dtype(meta))

    def wrap(self, model: Any, saved: SavedModel) -> Predictor:
        return PyTorchPredictor(model, _dtype(saved.meta))


def _plain_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as contiguous CPU tensors, with tensors that share memory copied apart
    (safetensors refuses shared storage)."""
    state: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, tensor in model.state_dict().items():
        plain = tensor.detach().cpu().contiguous()
        pointer = plain.untyped_storage().data_ptr()
        if pointer in seen and plain.numel():
            plain = plain.clone()
        seen.add(pointer)
        state[key] = plain
    return state


def _dtype(meta: Mapping[str, Any]) -> torch.dtype:
    value = getattr(torch, str(meta.get("dtype", "float32")), None)
    return value if isinstance(value, torch.dtype) and value.is_floating_point else torch.float32


def _build(meta: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    class_path = str(meta["class"])
    module_name, _, qualname = class_path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise UnsupportedModel(
            f"pytorch model class {class_path}: cannot be imported here ({exc}); "
            "install the code that defines it"
        ) from None
    if not (isinstance(target, type) and issubclass(target, torch.nn.Module)):
        raise UnsupportedModel(f"pytorch model class {class_path}: not a torch.nn.Module subclass")
    kwargs = dict(meta.get("init_kwargs") or {})
    try:
        module = _on_meta_device(target, kwargs, state)
        if module is None:
            module = target(**kwargs)
            module.load_state_dict(dict(state), strict=True)
    except (TypeError, RuntimeError) as exc:
        raise UnsupportedModel(
            f"pytorch model {class_path}: rebuilding it with init_kwargs="
            f"{dict(meta.get('init_kwargs') or {})} failed: {exc}"
        ) from None
    return module


def _on_meta_device(
    target: type[torch.nn.Module], kwargs: dict[str, Any], state: Mapping[str, torch.Tensor]
) -> torch.nn.Module | None:
    """Build the module without allocating or randomly initialising weights, then take the
    stored tensors as its parameters. None when some tensor would stay unmaterialised
    (e.g. a plain tensor attribute made in ``__init__``): the caller builds it normally."""
    try:
        with torch.device("meta"):
            module = target(**kwargs)
        module.load_state_dict(dict(state), strict=True, assign=True)
    except (TypeError, RuntimeError, NotImplementedError):
        return None
    tensors = itertools.chain(
        module.parameters(),
        module.buffers(),
        (v for m in module.modules() for v in vars(m).values() if isinstance(v, torch.Tensor)),
    )
    return None if any(t.is_meta for t in tensors) else module


FLAVOR = PyTorchFlavor()
