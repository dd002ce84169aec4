"""The model registry: versions, safe flavors, signatures, aliases, gates, promotion, lineage.

Level 3–4 in a few calls::

    import ladder

    mv = ladder.register_model(model, "loans", input_example=X_train.head(), datasets=[train])
    result = ladder.gate(candidate=mv.uri, against="loans@champion", dataset=holdout,
                         label="default", metrics={"roc_auc": {"min": 0.8, "min_delta": 0.0}})
    ladder.promote(mv.uri, "champion")
    ladder.load_model("loans@champion").predict(new_rows)
"""

from ladder.registry.aliases import (
    AliasEvent,
    alias_history,
    get_aliases,
    remove_alias,
    set_alias,
)
from ladder.registry.flavors import FLAVOR_NAMES
from ladder.registry.gate import GateResult, MetricCheck, Threshold, gate, list_evaluations
from ladder.registry.lineage import ModelLineage, model_lineage
from ladder.registry.loading import LoadedModel, clear_model_cache, load_model
from ladder.registry.metrics import BUILTIN_METRICS
from ladder.registry.promotion import promote
from ladder.registry.signature import (
    ColumnSpec,
    OutputSpec,
    Signature,
    infer_signature,
    validate_input,
)
from ladder.registry.uri import ModelURI, parse_model_uri
from ladder.registry.versions import (
    DatasetUse,
    ModelVersion,
    RegisteredModel,
    current_actor,
    get_model_version,
    list_models,
    list_versions,
    register_model,
    resolve_uri,
)

__all__ = [
    "BUILTIN_METRICS",
    "FLAVOR_NAMES",
    "AliasEvent",
    "ColumnSpec",
    "DatasetUse",
    "GateResult",
    "LoadedModel",
    "MetricCheck",
    "ModelLineage",
    "ModelURI",
    "ModelVersion",
    "OutputSpec",
    "RegisteredModel",
    "Signature",
    "Threshold",
    "alias_history",
    "clear_model_cache",
    "current_actor",
    "gate",
    "get_aliases",
    "get_model_version",
    "infer_signature",
    "list_evaluations",
    "list_models",
    "list_versions",
    "load_model",
    "model_lineage",
    "parse_model_uri",
    "promote",
    "register_model",
    "remove_alias",
    "resolve_uri",
    "set_alias",
    "validate_input",
]
