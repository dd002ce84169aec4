"""Flavors: each saves in a format that runs no code on load, and predicts the same after."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registry_helpers import (
    Doubler,
    ThresholdModel,
    classification_data,
    fitted_logistic,
    regression_data,
    require_library,
)
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import ladder
from ladder.errors import ArtifactCorrupted, UnsupportedModel, UntrustedModel
from ladder.registry import clear_model_cache, load_model
from ladder.workspace import Workspace


@pytest.fixture(autouse=True)
def cold_cache() -> None:
    clear_model_cache()


def reload(uri: str, **options: object) -> ladder.registry.LoadedModel:
    clear_model_cache()
    return load_model(uri, **options)  # type: ignore[arg-type]


def test_sklearn_round_trip_predicts_identically(sqlite_workspace: Workspace) -> None:
    frame, y = classification_data()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(frame, y)
    version = ladder.register_model(model, "forest", input_example=frame.head(20))
    loaded = reload(version.uri)
    assert loaded.version.flavor == "sklearn"
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.classes == (0, 1)


def test_xgboost_round_trip_uses_native_json(sqlite_workspace: Workspace) -> None:
    xgb = require_library("xgboost")
    frame, y = classification_data()
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, y)
    version = ladder.register_model(model, "xgb", input_example=frame.head(20))
    assert version.flavor == "xgboost"
    loaded = reload(version.uri)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame), rtol=1e-6)
    regressor = xgb.XGBRegressor(n_estimators=5).fit(*regression_data())
    features, _ = regression_data()
    loaded = reload(ladder.register_model(regressor, "xgb-r", input_example=features).uri)
    np.testing.assert_allclose(loaded.predict(features), regressor.predict(features), rtol=1e-6)
    assert not loaded.has_proba


def test_lightgbm_round_trip_keeps_string_class_labels(sqlite_workspace: Workspace) -> None:
    lgb = require_library("lightgbm")
    frame, y = classification_data()
    labels = np.where(y == 1, "default", "repaid")
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(frame, labels)
    version = ladder.register_model(model, "lgbm", input_example=frame.head(20))
    assert version.flavor == "lightgbm"
    loaded = reload(version.uri)
    assert loaded.classes == ("default", "repaid")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))


def test_onnx_round_trip_with_probabilities(sqlite_workspace: Workspace) -> None:
    require_library("onnxruntime")
    skl2onnx = require_library("skl2onnx")
    frame, y = classification_data()
    model = LogisticRegression().fit(frame.to_numpy(np.float32), y)
    proto = skl2onnx.to_onnx(model, frame.to_numpy(np.float32)[:1])
    version = ladder.register_model(proto, "onnx-lr", input_example=frame.head(20))
    assert version.flavor == "onnx"
    loaded = reload(version.uri)
    assert loaded.classes == (0, 1)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame.to_numpy(np.float32)))
    np.testing.assert_allclose(
        loaded.predict_proba(frame), model.predict_proba(frame.to_numpy(np.float32)), atol=1e-5
    )


def test_pytorch_round_trip_from_safetensors_and_class_path(sqlite_workspace: Workspace) -> None:
    torch = require_library("torch")
    from registry_torch_models import TiedNet, TinyNet

    torch.manual_seed(0)
    frame, _ = classification_data()
    net = TinyNet(features=4, hidden=6)
    version = ladder.register_model(
        net, "net", input_example=frame.head(20), init_kwargs={"features": 4, "hidden": 6}
    )
    assert version.flavor == "pytorch"
    assert version.flavor_meta["class"] == "registry_torch_models:TinyNet"
    loaded = reload(version.uri)
    expected = net(torch.tensor(frame.to_numpy(), dtype=torch.float32)).detach().numpy().ravel()
    np.testing.assert_allclose(loaded.predict(frame), expected, rtol=1e-6)
    tied = ladder.register_model(
        TiedNet(), "tied", input_example=pd.DataFrame(np.ones((2, 3)), columns=list("abc"))
    )
    assert reload(tied.uri).predict(pd.DataFrame(np.ones((2, 3)), columns=list("abc"))).shape == (
        2,
    )


def test_pytorch_model_that_cannot_be_rebuilt_fails_at_registration(
    sqlite_workspace: Workspace,
) -> None:
    require_library("torch")
    from registry_torch_models import TinyNet

    with pytest.raises(UnsupportedModel, match="init_kwargs"):
        ladder.register_model(TinyNet(features=4), "net")


def test_python_flavor_needs_trust_to_load(sqlite_workspace: Workspace) -> None:
    frame, _ = classification_data()
    version = ladder.register_model(
        ThresholdModel("income", 0.0), "rule", flavor="python", input_example=frame.head()
    )
    with pytest.raises(UntrustedModel, match="trust=True"):
        reload(version.uri)
    loaded = load_model(version.uri, trust=True)
    np.testing.assert_array_equal(loaded.predict(frame), (frame["income"] > 0).astype(int))
    assert loaded.has_proba
    with pytest.raises(UntrustedModel):  # a trusted load cached in memory does not leak to others
        load_model(version.uri)


def test_skops_file_with_an_untrusted_type_is_refused_naming_it(
    sqlite_workspace: Workspace,
) -> None:
    frame, y = classification_data()
    model = make_pipeline(Doubler(), LogisticRegression()).fit(frame, y)
    version = ladder.register_model(model, "custom", input_example=frame.head())
    with pytest.raises(UntrustedModel, match=r"registry_helpers\.Doubler"):
        reload(version.uri)
    loaded = load_model(version.uri, trusted_types=["registry_helpers.Doubler"])
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def _object_files(ws: Workspace, digest: str) -> list[Path]:
    manifest = ws.artifacts.read_manifest(digest)
    return [Path(ws.artifacts.object_path(entry.digest)) for entry in manifest.entries]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_model_artifact_raises_artifact_corrupted(
    sqlite_workspace: Workspace, damage: str
) -> None:
    model, frame, _ = fitted_logistic()
    version = ladder.register_model(model, "loans", input_example=frame.head())
    (path,) = _object_files(sqlite_workspace, version.artifact_digest)
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(
        data[: len(data) // 2] if damage == "truncate" else data[:-1] + bytes([data[-1] ^ 1])
    )
    with pytest.raises(ArtifactCorrupted):
        reload(version.uri)


def test_loaded_models_are_cached_by_version_so_predict_reads_no_files(
    sqlite_workspace: Workspace,
) -> None:
    model, frame, _ = fitted_logistic()
    version = ladder.register_model(model, "loans", input_example=frame.head())
    ladder.registry.set_alias("loans", "champion", 1)
    first = load_model("loans@champion")
    for path in _object_files(sqlite_workspace, version.artifact_digest):
        path.chmod(0o644)
        path.unlink()
    assert load_model("loans/1") is first  # alias and number resolve to the same cached object
    assert first.predict(frame).shape == (len(frame),)


def test_predict_proba_on_a_regressor_is_refused(sqlite_workspace: Workspace) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = regression_data()
    loaded = reload(
        ladder.register_model(
            LinearRegression().fit(features, target), "lr", input_example=features
        ).uri
    )
    with pytest.raises(UnsupportedModel, match="predict_proba"):
        loaded.predict_proba(features)


def test_loaded_model_validates_input_against_the_signature(sqlite_workspace: Workspace) -> None:
    model, frame, _ = fitted_logistic()
    ladder.register_model(model, "loans", input_example=frame.head())
    loaded = load_model("loans/1")
    with pytest.raises(ladder.errors.SignatureMismatch) as caught:
        loaded.predict(frame.drop(columns=["debt"]))
    assert [(p.column, p.reason) for p in caught.value.problems] == [("debt", "missing column")]
    assert loaded.predict(frame.astype({"age": "float32"})).shape == (len(frame),)


def test_pytorch_class_in_main_warns(sqlite_workspace: Workspace) -> None:
    torch = require_library("torch")
    namespace: dict[str, object] = {"torch": torch, "__name__": "__main__"}
    exec(
        "class MainNet(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__(); self.l = torch.nn.Linear(2, 1)\n"
        "    def forward(self, x):\n        return self.l(x)\n",
        namespace,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(UnsupportedModel):  # __main__ here is pytest, which lacks the class
            ladder.register_model(namespace["MainNet"](), "main-net")  # type: ignore[operator]
    assert any("__main__" in str(w.message) for w in caught)


def test_pytorch_module_with_plain_tensor_attributes_loads_correctly(
    sqlite_workspace: Workspace,
) -> None:
    torch = require_library("torch")
    from registry_torch_models import ScaledNet

    net = ScaledNet()
    rows = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, -1.0]})
    version = ladder.register_model(net, "scaled", input_example=rows)
    expected = net(torch.tensor(rows.to_numpy(), dtype=torch.float32)).detach().numpy().ravel()
    np.testing.assert_allclose(reload(version.uri).predict(rows), expected, rtol=1e-6)
