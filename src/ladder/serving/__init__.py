"""Serving and deployments: REST inference, traffic policies, hot swap, the prediction log.

Level 4–5 in a few calls::

    from ladder.serving import create_deployment, set_deployment, predictions, log_labels

    create_deployment("loans", "loans@champion", canary="loans/5:10")
    # ladder serve --deployment loans        (the server follows every change)
    set_deployment("loans", model="loans/5", no_canary=True)
    frame = predictions("loans", since="2024-05-01")
    log_labels(frame.request_id[:3], [0, 1, 0], deployment="loans")

Importing this package does not import FastAPI or uvicorn; ``ladder.serving.app``
does, when a server starts.
"""

from ladder.serving.deployments import (
    Deployment,
    DeploymentEvent,
    create_deployment,
    deployment_history,
    get_deployment,
    list_deployments,
    rollback_deployment,
    set_deployment,
)
from ladder.serving.export import export_deployment
from ladder.serving.prediction_log import (
    LabelReceipt,
    failed_requests,
    log_labels,
    predictions,
    rejected_inputs,
)
from ladder.serving.traffic import TrafficPolicy, Variant, policy_from_options

__all__ = [
    "Deployment",
    "DeploymentEvent",
    "LabelReceipt",
    "TrafficPolicy",
    "Variant",
    "create_deployment",
    "deployment_history",
    "export_deployment",
    "failed_requests",
    "get_deployment",
    "list_deployments",
    "log_labels",
    "policy_from_options",
    "predictions",
    "rejected_inputs",
    "rollback_deployment",
    "set_deployment",
]
