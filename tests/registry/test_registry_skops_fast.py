"""The fast skops reader: skops' objects, skops' trust rules, and skops itself as the fallback."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import BuiltinFunctionType, FunctionType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from skops.io._audit import Node
from skops.io._general import DictNode, ListNode, ObjectNode, SetNode, TupleNode, TypeNode
from skops.io._numpy import NdArrayNode, RandomStateNode
from skops.io._sklearn import LossNode, TreeNode
from skops.io._utils import LoadContext

import ladder
from ladder.errors import ArtifactCorrupted, UntrustedModel
from ladder.registry import clear_model_cache, load_model
from ladder.registry.flavors import LoadOptions, skops_io
from ladder.registry.flavors.sklearn import FILE, FLAVOR, TRUSTED_TYPES
from ladder.registry.flavors.skops_io import (
    NotHandled,
    UntrustedTypes,
    dump_skops,
    load_skops,
    read_skops,
)
from ladder.workspace import Workspace

TRUSTED = list(TRUSTED_TYPES)
COLUMNS = [f"f{i}" for i in range(5)]


def _data() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=200, n_features=5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=COLUMNS)
    frame["colour"] = np.array(["red", "green", "blue"])[np.arange(200) % 3]
    _, target = make_regression(n_samples=200, n_features=5, random_state=0)
    return frame, y, target


FRAME, LABELS, TARGET = _data()
NUMERIC = FRAME[COLUMNS]


def _fit(name: str) -> tuple[Any, pd.DataFrame]:
    """A fitted estimator of the corpus and the frame it predicts on."""
    if name == "pipeline":
        encode = ColumnTransformer(
            [("num", StandardScaler(), COLUMNS), ("cat", OneHotEncoder(), ["colour"])]
        )
        return Pipeline([("encode", encode), ("model", LogisticRegression())]).fit(
            FRAME, LABELS
        ), FRAME
    if name == "forest_regressor":
        return RandomForestRegressor(8, random_state=0).fit(NUMERIC, TARGET), NUMERIC
    estimator = {
        "forest": RandomForestClassifier(8, random_state=0),
        "extra_trees": ExtraTreesClassifier(8, random_state=0),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=8, random_state=0),
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=8, max_features=0.5, random_state=0
        ),
        "logistic": LogisticRegression(),
        "kmeans": KMeans(3, n_init=2, random_state=0),
        "decision_tree": DecisionTreeClassifier(random_state=0),
    }[name]
    return estimator.fit(NUMERIC, LABELS), NUMERIC


CORPUS = [
    "forest",
    "forest_regressor",
    "extra_trees",
    "gradient_boosting",
    "hist_gradient_boosting",
    "logistic",
    "pipeline",
    "kmeans",
    "decision_tree",
]


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[Any, pd.DataFrame]]:
    return {name: _fit(name) for name in CORPUS}


def rewrite(
    data: bytes,
    edit: Callable[[dict[str, Any]], None] | None = None,
    members: dict[str, bytes] | None = None,
) -> bytes:
    """A copy of skops file ``data`` with its schema edited and some members replaced."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        contents = {name: source.read(name) for name in source.namelist()}
    schema = json.loads(contents["schema.json"])
    if edit is not None:
        edit(schema)
    contents["schema.json"] = json.dumps(schema).encode()
    contents.update(members or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, content in contents.items():
            target.writestr(name, content)
    return buffer.getvalue()


def nodes(state: Any) -> Iterator[dict[str, Any]]:
    """Every node of a schema, parents before children."""
    if isinstance(state, dict):
        if "__loader__" in state:
            yield state
        for value in state.values():
            yield from nodes(value)
    elif isinstance(state, list):
        for value in state:
            yield from nodes(value)


def assert_same(fast: Any, slow: Any, path: str = "model") -> None:
    """``fast`` and ``slow`` are equal objects of the same types, arrays to the byte."""
    assert type(fast) is type(slow), path
    if isinstance(fast, np.ndarray):
        assert fast.dtype == slow.dtype and fast.dtype.descr == slow.dtype.descr, path
        assert fast.shape == slow.shape, path
        assert fast.flags.writeable == slow.flags.writeable, path
        assert fast.flags.c_contiguous == slow.flags.c_contiguous, path
        if fast.dtype.names:  # field by field: padding bytes hold whatever memory held
            for field in fast.dtype.names:
                assert fast[field].tobytes() == slow[field].tobytes(), f"{path}.{field}"
        elif fast.dtype.hasobject:
            assert_same(fast.tolist(), slow.tolist(), path)
        else:
            assert fast.tobytes() == slow.tobytes(), path
    elif isinstance(fast, dict):
        assert list(fast) == list(slow), path
        for key in fast:
            assert_same(fast[key], slow[key], f"{path}[{key!r}]")
    elif isinstance(fast, (list, tuple)):
        assert len(fast) == len(slow), path
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(fast, np.random.RandomState):
        assert_same(fast.get_state(legacy=False), slow.get_state(legacy=False), path)
    elif isinstance(fast, np.random.Generator):
        assert_same(fast.bit_generator.state, slow.bit_generator.state, path)
    elif isinstance(fast, np.generic):  # NaN included: compared as bytes
        assert fast.dtype == slow.dtype and fast.tobytes() == slow.tobytes(), path
    elif isinstance(fast, float) and np.isnan(fast):
        assert np.isnan(slow), path
    elif fast is None or isinstance(fast, (bool, int, float, str, bytes, type, slice)):
        assert fast == slow, path
    elif isinstance(fast, (np.ufunc, FunctionType, BuiltinFunctionType)):
        assert fast is slow, path
    elif hasattr(fast, "__dict__") and hasattr(fast, "get_params"):
        assert_same(fast.__getstate__(), slow.__getstate__(), path)
    else:  # Tree, losses and other extension types: what pickle would save of them
        assert_same(fast.__reduce_ex__(2)[1:], slow.__reduce_ex__(2)[1:], path)


def assert_predicts_like(loaded: Any, model: Any, frame: pd.DataFrame) -> None:
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert repr(loaded.get_params()) == repr(model.get_params())


@pytest.mark.parametrize("name", CORPUS)
@pytest.mark.parametrize("writer", ["skops", "ladder"])
def test_fast_reader_builds_what_skops_builds(
    corpus: dict[str, tuple[Any, pd.DataFrame]], name: str, writer: str
) -> None:
    model, frame = corpus[name]
    data = sio.dumps(model) if writer == "skops" else dump_skops(model)
    fast = read_skops(data, TRUSTED)  # NotHandled here would mean the slow path
    slow = sio.loads(data, trusted=TRUSTED)
    assert_same(fast, slow)
    assert_predicts_like(fast, model, frame)


@pytest.mark.parametrize("name", CORPUS)
def test_files_ladder_writes_load_with_plain_skops(
    corpus: dict[str, tuple[Any, pd.DataFrame]], name: str, tmp_path: Path
) -> None:
    model, frame = corpus[name]
    path = tmp_path / "model.skops"
    path.write_bytes(FLAVOR.save(model, {}).files[FILE])
    assert_predicts_like(sio.load(path, trusted=TRUSTED), model, frame)
    assert path.stat().st_size < len(sio.dumps(model))  # the schema is written compactly


@pytest.mark.parametrize("name", CORPUS)
def test_fast_reader_flags_exactly_the_types_skops_flags(
    corpus: dict[str, tuple[Any, pd.DataFrame]], name: str
) -> None:
    data = sio.dumps(corpus[name][0])
    expected = sio.get_untrusted_types(data=data)
    if expected:
        with pytest.raises(UntrustedTypes) as refused:
            read_skops(data, [])
        assert refused.value.types == expected
    else:
        read_skops(data, [])


@pytest.fixture
def trap_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A module ``ladder_trap`` that leaves a marker file when imported (and then fails)."""
    marker = tmp_path / "imported"
    (tmp_path / "ladder_trap.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nraise RuntimeError('ladder_trap was imported')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("ladder_trap", None)


def _rename_root(schema: dict[str, Any]) -> None:
    schema["__module__"], schema["__class__"] = "ladder_trap", "Estimator"


def test_untrusted_type_is_refused_before_its_module_is_imported(
    corpus: dict[str, tuple[Any, pd.DataFrame]], trap_module: Path
) -> None:
    data = rewrite(dump_skops(corpus["logistic"][0]), _rename_root)
    with pytest.raises(UntrustedTypes) as refused:
        read_skops(data, TRUSTED)
    assert refused.value.types == ["ladder_trap.Estimator"]
    with pytest.raises(UntrustedModel, match=r"ladder_trap\.Estimator"):
        FLAVOR.load({FILE: data}, {}, LoadOptions())
    assert not trap_module.exists() and "ladder_trap" not in sys.modules
    # Trusting the type is what lets the loader import it (so the marker would show it).
    with pytest.raises(RuntimeError, match="ladder_trap was imported"):
        load_skops(data, [*TRUSTED, "ladder_trap.Estimator"])
    assert trap_module.exists()


def test_untrusted_types_deep_in_the_file_are_all_named(
    corpus: dict[str, tuple[Any, pd.DataFrame]], trap_module: Path
) -> None:
    def plant(schema: dict[str, Any]) -> None:
        found = list(nodes(schema))
        scaler = next(n for n in found if n["__class__"] == "StandardScaler")
        scaler["__module__"] = "ladder_trap"
        for key_type in (n for n in found if n["__loader__"] == "TypeNode"):
            key_type["__module__"], key_type["__class__"] = "os", "system"
        array = next(n for n in found if n["__loader__"] == "NdArrayNode")
        array["__module__"], array["__class__"] = "ladder_trap", "frombuffer"

    data = rewrite(sio.dumps(corpus["pipeline"][0]), plant)
    expected = ["ladder_trap.StandardScaler", "ladder_trap.frombuffer", "os.system"]
    assert sio.get_untrusted_types(data=data) == expected
    with pytest.raises(UntrustedTypes) as refused:
        read_skops(data, TRUSTED)
    assert refused.value.types == expected
    assert not trap_module.exists()


def test_trees_need_trusting_as_in_skops(corpus: dict[str, tuple[Any, pd.DataFrame]]) -> None:
    data = dump_skops(corpus["decision_tree"][0])
    with pytest.raises(UntrustedTypes) as refused:
        load_skops(data, [])
    assert refused.value.types == ["sklearn.tree._tree.Tree"]
    load_skops(data, ["sklearn.tree._tree.Tree"])


# A list of models holding every node kind the fast reader builds, and names to swap in.
_MIXED = [
    _fit("pipeline")[0],
    GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0).fit(NUMERIC, LABELS),
    HistGradientBoostingClassifier(max_iter=2, max_features=0.5, random_state=0).fit(
        NUMERIC, LABELS
    ),
]
_MIXED_FILE = sio.dumps(_MIXED)
_MIXED_NODES = len(
    list(nodes(json.loads(zipfile.ZipFile(io.BytesIO(_MIXED_FILE)).read("schema.json"))))
)
_NAMES = [
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "collections.OrderedDict",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.random.mtrand.RandomState",
    "sklearn.tree._tree.Tree",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "os.system",
    "ladder_untrusted.Thing",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    renames=st.lists(
        st.tuples(st.integers(0, _MIXED_NODES - 1), st.sampled_from(_NAMES)),
        min_size=1,
        max_size=6,
    )
)
def test_fast_audit_agrees_with_skops_whatever_the_types_are_called(
    renames: list[tuple[int, str]],
) -> None:
    def edit(schema: dict[str, Any]) -> None:
        found = list(nodes(schema))
        for index, path in renames:
            found[index]["__module__"], found[index]["__class__"] = path.rsplit(".", 1)

    data = rewrite(_MIXED_FILE, edit)
    expected = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED))
    if expected:
        with pytest.raises(UntrustedTypes) as refused:
            read_skops(data, TRUSTED)
        assert refused.value.types == expected
    else:  # nothing to refuse: what the fast reader builds, skops builds too
        try:
            read_skops(data, TRUSTED)
        except NotHandled:
            return
        sio.loads(data, trusted=TRUSTED)


def test_a_bit_generator_named_in_a_state_is_audited_as_skops_does(
    corpus: dict[str, tuple[Any, pd.DataFrame]],
) -> None:
    def rename(schema: dict[str, Any]) -> None:
        generator = next(n for n in nodes(schema) if n["__loader__"] == "RandomGeneratorNode")
        generator["content"]["bit_generator"]["content"]["bit_generator"]["content"] = '"seed"'

    data = rewrite(sio.dumps(corpus["hist_gradient_boosting"][0]), rename)
    assert "numpy.random.seed" in sio.get_untrusted_types(data=data)
    with pytest.raises(UntrustedTypes) as refused:
        read_skops(data, TRUSTED)
    assert refused.value.types == ["numpy.random.seed"]


def test_shared_objects_stay_shared(corpus: dict[str, tuple[Any, pd.DataFrame]]) -> None:
    array = np.arange(6.0).reshape(2, 3)
    model = corpus["logistic"][0]
    data = dump_skops({"a": array, "b": array, "models": [model, model]})
    fast, slow = read_skops(data, []), sio.loads(data, trusted=[])
    assert_same(fast, slow)
    assert fast["a"] is fast["b"] and slow["a"] is slow["b"]
    assert fast["models"][0] is fast["models"][1]


def test_node_kinds_the_reader_does_not_know_fall_back_to_skops(
    corpus: dict[str, tuple[Any, pd.DataFrame]],
) -> None:
    sparse = LogisticRegression().fit(NUMERIC, LABELS).sparsify()  # coef_: a scipy matrix
    logged = make_pipeline(FunctionTransformer(np.abs), LogisticRegression()).fit(NUMERIC, LABELS)
    trusted = [*TRUSTED, "scipy.sparse._csr.csr_matrix"]  # skops trusts no sparse matrix
    for model, loader in ((sparse, "SparseMatrixNode"), (logged, "FunctionNode")):
        data = dump_skops(model)
        with pytest.raises(NotHandled, match=loader):
            read_skops(data, trusted)
        loaded = load_skops(data, trusted)
        assert_same(loaded, sio.loads(data, trusted=trusted))
        assert_predicts_like(loaded, model, NUMERIC)


@pytest.mark.parametrize("where", ["slice bound", "object id"])
def test_integers_beyond_64_bits_are_left_to_skops(
    corpus: dict[str, tuple[Any, pd.DataFrame]], where: str
) -> None:
    # The schema is parsed with orjson, which reads such integers as floats.
    def widen(schema: dict[str, Any]) -> None:
        bounds = next(n for n in nodes(schema) if n["__loader__"] == "SliceNode")
        if where == "slice bound":
            bounds["content"]["stop"] = 2**70
        else:
            bounds["__id__"] = 2**80

    data = rewrite(dump_skops(corpus["pipeline"][0]), widen)
    with pytest.raises(NotHandled, match="integer"):
        read_skops(data, TRUSTED)
    encode = load_skops(data, TRUSTED).named_steps["encode"]
    stops = [bounds.stop for bounds in encode.output_indices_.values()]
    assert (2**70 in stops) == (where == "slice bound")


def test_other_skops_versions_are_left_to_skops(
    corpus: dict[str, tuple[Any, pd.DataFrame]], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, frame = corpus["forest"]
    monkeypatch.setattr(skops_io, "_SKOPS_VERIFIED", False)
    data = dump_skops(model)
    assert b'\n  "__class__"' in zipfile.ZipFile(io.BytesIO(data)).read("schema.json")  # skops'
    with pytest.raises(NotHandled, match="skops"):
        read_skops(data, TRUSTED)
    assert_predicts_like(load_skops(data, TRUSTED), model, frame)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "BadZipFile"),
        (lambda data: b"not a zip file at all", "BadZipFile"),
        (lambda data: data.replace(b"\x93NUMPY", b"\x93NUMPZ", 1), "CRC-32"),
    ],
    ids=["truncated", "not-a-zip", "altered-array"],
)
def test_a_damaged_archive_gives_a_clear_error(
    corpus: dict[str, tuple[Any, pd.DataFrame]], damage: Callable[[bytes], bytes], message: str
) -> None:
    data = damage(dump_skops(corpus["forest"][0]))
    expected = rf"model\.skops: expected a skops archive.*{message}"
    with pytest.raises(ArtifactCorrupted, match=expected):
        FLAVOR.load({FILE: data}, {}, LoadOptions())


_tripped: list[str] = []


def _trip() -> None:
    _tripped.append("unpickled")


class Tripwire:
    """Unpickling it calls ``_trip``."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_trip, ())


def test_object_arrays_are_never_unpickled() -> None:
    data = dump_skops({"x": np.arange(3)})
    member = next(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".npy"))
    pickled = io.BytesIO()
    np.save(pickled, np.array([Tripwire()], dtype=object), allow_pickle=True)
    crafted = rewrite(data, members={member: pickled.getvalue()})
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_skops(crafted, [])
    assert _tripped == []


_numeric = st.one_of(
    hnp.scalar_dtypes(),
    hnp.integer_dtypes(endianness=">"),
    hnp.floating_dtypes(endianness=">"),
    hnp.array_dtypes(subtype_strategy=hnp.scalar_dtypes(), max_size=3),
)


@pytest.mark.filterwarnings("ignore:Stored array in format 3.0")  # unicode field names
@settings(max_examples=60, deadline=None)
@given(
    array=hnp.arrays(_numeric, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    fortran=st.booleans(),
)
def test_arrays_read_as_numpy_reads_them(array: np.ndarray, fortran: bool) -> None:
    if fortran:
        array = np.asfortranarray(array)
    content: dict[str, Any] = {"array": array}
    if array.size:
        content["scalar"] = array.reshape(-1)[0]  # a numpy scalar (NdArrayNode of its class)
    data = dump_skops(content)
    fast, slow = read_skops(data, []), sio.loads(data, trusted=[])
    assert_same(fast, slow)
    assert fast["array"].flags.f_contiguous == slow["array"].flags.f_contiguous
    assert fast["array"].flags.owndata == slow["array"].flags.owndata


def _node_trust(node_class: type[Node], state: dict[str, Any]) -> set[str]:
    context = LoadContext(src=zipfile.ZipFile(io.BytesIO(sio.dumps([]))), protocol=2)
    return set(node_class({"__module__": "m", "__class__": "c", **state}, context).trusted)


def test_default_trust_per_node_kind_is_skops_own() -> None:
    empty_list = {"__module__": "builtins", "__class__": "list", "__loader__": "ListNode"}
    empty = {**empty_list, "content": []}
    empty_dict = {
        "__module__": "builtins",
        "__class__": "dict",
        "__loader__": "DictNode",
        "content": {},
        "key_types": empty,
    }
    assert _node_trust(ObjectNode, {}) == skops_io._OBJECT
    assert _node_trust(DictNode, {"content": {}, "key_types": empty}) == skops_io._DICT
    assert _node_trust(ListNode, {"content": []}) == skops_io._LIST
    assert _node_trust(TupleNode, {"content": []}) == skops_io._TUPLE
    assert _node_trust(SetNode, {"content": []}) == skops_io._SET
    assert _node_trust(TypeNode, {}) == skops_io._TYPE
    assert _node_trust(NdArrayNode, {"type": "json", "content": [], "shape": empty}) == (
        skops_io._NDARRAY
    )
    assert _node_trust(RandomStateNode, {"content": empty_dict}) == skops_io._RANDOM_STATE
    reduce = {"content": empty_dict, "__reduce__": {"args": {**empty, "__loader__": "TupleNode"}}}
    assert _node_trust(TreeNode, reduce) == set()
    assert _node_trust(LossNode, reduce) == skops_io._LOSSES


def test_registered_forest_loads_through_the_fast_reader(workspace: Workspace) -> None:
    model, frame = _fit("forest")
    version = ladder.register_model(model, "forest", input_example=frame.head(10))
    clear_model_cache()
    loaded = load_model(version.uri)
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
