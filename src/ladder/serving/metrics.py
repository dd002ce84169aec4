"""Prometheus metrics of a server: requests, errors, latency and batch sizes per variant.

Each app has its own registry (several apps can live in one test process).
With ``--workers N`` the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` before
starting the workers, every worker writes its samples there, and ``/metrics``
answers with the sum over all workers, whichever worker is asked.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
_VARIANT_LABELS = ("deployment", "variant", "model", "version")


class ServingMetrics:
    """The metric families of one server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "ladder_serving_requests",
            "Requests answered, by endpoint, variant, model version and HTTP status.",
            ["endpoint", *_VARIANT_LABELS, "status"],
            registry=registry,
        )
        self.errors = Counter(
            "ladder_serving_errors",
            "Failed requests or shadow predictions, by kind (bad_request, validation, model…).",
            ["endpoint", *_VARIANT_LABELS, "kind"],
            registry=registry,
        )
        self.latency = Histogram(
            "ladder_serving_request_latency_seconds",
            "Time from a request's arrival to its prediction, per variant and model version.",
            list(_VARIANT_LABELS),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "ladder_serving_batch_rows",
            "Rows per predict call after micro-batching, per variant and model version.",
            list(_VARIANT_LABELS),
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.log_rows = Counter(
            "ladder_serving_prediction_log_rows",
            "Prediction-log rows written to the artifact store.",
            ["deployment"],
            registry=registry,
        )
        self.model_info = Gauge(
            "ladder_serving_model_info",
            "1 for each variant and model version this server routes to now.",
            list(_VARIANT_LABELS),
            registry=registry,
            multiprocess_mode="max",
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (summed over workers when there are several)."""
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            combined = CollectorRegistry()
            multiprocess.MultiProcessCollector(combined)
            return generate_latest(combined), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
