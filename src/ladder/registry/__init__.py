"""The model registry: versions, safe flavors, signatures, aliases, gates, promotion, lineage.

Level 3–4 in a few calls::

    import ladder

    mv = ladder.register_model(model, "loans", input_example=X_train.head(), datasets=[train])
    result = ladder.gate(candidate=mv.uri, against="loans@champion", dataset=holdout,
                         label="default", metrics={"roc_auc": {"min": 0.8, "min_delta": 0.0}})
    ladder.promote(mv.uri, "champion")
    ladder.load_model("loans@champion").predict(new_rows)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ladder.exports import lazy_exports

if TYPE_CHECKING:
    from ladder.registry.aliases import (
        AliasEvent,
        alias_history,
        get_aliases,
        remove_alias,
        set_alias,
    )
    from ladder.registry.flavors import FLAVOR_NAMES
    from ladder.registry.gating import GateResult, MetricCheck, Threshold, gate, list_evaluations
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

# Imported on first use: listing models or checking a model URI needs neither
# scikit-learn (the gate's metrics) nor pandas (evaluation datasets).
_LAZY = {
    "AliasEvent": "ladder.registry.aliases",
    "BUILTIN_METRICS": "ladder.registry.metrics",
    "ColumnSpec": "ladder.registry.signature",
    "DatasetUse": "ladder.registry.versions",
    "FLAVOR_NAMES": "ladder.registry.flavors",
    "GateResult": "ladder.registry.gating",
    "LoadedModel": "ladder.registry.loading",
    "MetricCheck": "ladder.registry.gating",
    "ModelLineage": "ladder.registry.lineage",
    "ModelURI": "ladder.registry.uri",
    "ModelVersion": "ladder.registry.versions",
    "OutputSpec": "ladder.registry.signature",
    "RegisteredModel": "ladder.registry.versions",
    "Signature": "ladder.registry.signature",
    "Threshold": "ladder.registry.gating",
    "alias_history": "ladder.registry.aliases",
    "clear_model_cache": "ladder.registry.loading",
    "current_actor": "ladder.registry.versions",
    "gate": "ladder.registry.gating",
    "get_aliases": "ladder.registry.aliases",
    "get_model_version": "ladder.registry.versions",
    "infer_signature": "ladder.registry.signature",
    "list_evaluations": "ladder.registry.gating",
    "list_models": "ladder.registry.versions",
    "list_versions": "ladder.registry.versions",
    "load_model": "ladder.registry.loading",
    "model_lineage": "ladder.registry.lineage",
    "parse_model_uri": "ladder.registry.uri",
    "promote": "ladder.registry.promotion",
    "register_model": "ladder.registry.versions",
    "remove_alias": "ladder.registry.aliases",
    "resolve_uri": "ladder.registry.versions",
    "set_alias": "ladder.registry.aliases",
    "validate_input": "ladder.registry.signature",
}


__getattr__ = lazy_exports(__name__, globals(), _LAZY)


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
