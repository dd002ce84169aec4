"""The live route table of a server and how it is swapped without dropping a request.

A ``RouteTable`` is immutable: the traffic policy, the model version each
variant resolved to, and a loaded, warmed ``ServedVariant`` per variant. A
request reads ``Router.table`` once and finishes on that table even if a new
one is installed meanwhile, so the old model keeps answering until the new one
is loaded and warmed, and no request is ever left between two models.

``Router.watch`` polls in the background (never on the request path): the
deployment's revision (one indexed row) and, for variants given as aliases, the
version each alias points at now. When either moved, the new table is built on
a worker thread (loading and warming only versions not already served) and
installed with a single reference assignment.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from ladder.registry import load_model, resolve_uri
from ladder.serving.batching import BatchLimits
from ladder.serving.deployments import deployment_revision, get_deployment
from ladder.serving.metrics import ServingMetrics
from ladder.serving.prediction_log import PredictionLogWriter
from ladder.serving.traffic import TrafficPolicy, choose_variant, policy_from_options
from ladder.serving.variants import ServedVariant
from ladder.workspace import Workspace

log = logging.getLogger("ladder.serving")


@dataclass(frozen=True)
class RouteTable:
    """What a server routes to at one moment."""

    policy: TrafficPolicy
    revision: int | None  # the deployment's revision (None when serving a bare model)
    variants: dict[str, ServedVariant]
    resolved: dict[str, str]  # variant name -> name/N

    @property
    def live(self) -> list[ServedVariant]:
        return [self.variants[v.name] for v in self.policy.live]

    @property
    def shadows(self) -> list[ServedVariant]:
        return [self.variants[v.name] for v in self.policy.shadows]

    def choose(self, key: str | None) -> ServedVariant:
        """The variant that answers a request with routing ``key``."""
        live = self.policy.live
        if len(live) == 1:
            return self.variants[live[0].name]
        return self.variants[choose_variant(live, key).name]

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": v.name,
                "model": v.model,
                "version": self.resolved[v.name],
                "share": v.share,
                "shadow": v.shadow,
            }
            for v in self.policy.variants
        ]


@dataclass(frozen=True)
class ServingSource:
    """What a server serves: a stored deployment, or one model URI under a deployment name."""

    deployment: str
    model: str | None = None  # set when serving a bare model (``ladder serve loans@champion``)


class Router:
    """Holds the current route table and replaces it when the deployment or an alias moves."""

    def __init__(
        self,
        workspace: Workspace,
        source: ServingSource,
        metrics: ServingMetrics,
        writer: PredictionLogWriter | None,
        executor: Executor,
        limits: BatchLimits,
        *,
        trust: bool = False,
        trusted_types: tuple[str, ...] = (),
        probabilities: bool = True,
    ) -> None:
        self.workspace = workspace
        self.source = source
        self.metrics = metrics
        self.writer = writer
        self.executor = executor
        self.limits = limits
        self.trust = trust
        self.trusted_types = trusted_types
        self.probabilities = probabilities
        self.table: RouteTable | None = None
        self.reload_error: str | None = None
        self.swaps = 0

    # -- blocking parts (worker threads) -------------------------------------------------------
    def _policy(self) -> tuple[TrafficPolicy, int | None]:
        if self.source.model is not None:
            return policy_from_options(self.source.model), None
        deployment = get_deployment(self.source.deployment, workspace=self.workspace)
        return deployment.policy, deployment.revision

    def _resolve(self, policy: TrafficPolicy) -> dict[str, str]:
        return {v.name: resolve_uri(v.model, workspace=self.workspace) for v in policy.variants}

    def load(self) -> RouteTable:
        """Build and install the first table (server start-up)."""
        policy, revision = self._policy()
        table = self.build(policy, revision, self._resolve(policy))
        self.install(table)
        return table

    def changed(self) -> RouteTable | None:
        """A new table when the deployment or an alias moved since the current one, else None."""
        current = self.table
        assert current is not None
        policy, revision = current.policy, current.revision
        if self.source.model is None:
            latest = deployment_revision(self.source.deployment, self.workspace)
            if latest is None:
                raise LookupError(
                    f"deployment {self.source.deployment!r} was deleted; still serving "
                    f"revision {current.revision}"
                )
            if latest != current.revision:
                policy, revision = self._policy()
        resolved = self._resolve(policy)
        if revision == current.revision and resolved == current.resolved:
            return None
        return self.build(policy, revision, resolved)

    def build(
        self, policy: TrafficPolicy, revision: int | None, resolved: dict[str, str]
    ) -> RouteTable:
        """Load and warm every variant that is new or moved; keep the ones that did not."""
        previous = self.table
        variants: dict[str, ServedVariant] = {}
        for variant in policy.variants:
            uri = resolved[variant.name]
            kept = previous.variants.get(variant.name) if previous is not None else None
            if kept is not None and kept.uri == uri:
                variants[variant.name] = kept
                continue
            model = load_model(
                uri,
                trust=self.trust,
                trusted_types=self.trusted_types,
                workspace=self.workspace,
            )
            served = ServedVariant(
                name=variant.name,
                spec=variant.model,
                model=model,
                deployment=self.source.deployment,
                metrics=self.metrics,
                writer=self.writer,
                executor=self.executor,
                limits=self.limits,
                probabilities=self.probabilities,
            )
            served.warm()
            variants[variant.name] = served
        return RouteTable(policy, revision, variants, dict(resolved))

    def install(self, table: RouteTable) -> None:
        previous = self.table
        self.table = table  # one reference assignment: requests see the old or the new table
        self.swaps += previous is not None
        for served in table.variants.values():
            self.metrics.model_info.labels(*served.labels).set(1)
        if previous is not None:
            current = {id(v) for v in table.variants.values()}
            for served in previous.variants.values():
                if id(served) not in current:
                    self.metrics.model_info.labels(*served.labels).set(0)
            log.info(
                "deployment %s: now serving %s (revision %s)",
                self.source.deployment,
                table.policy.describe(),
                table.revision,
            )

    # -- the background poll -------------------------------------------------------------------
    async def watch(self, poll_seconds: float) -> None:
        """Poll for changes every ``poll_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(poll_seconds)
            try:
                table = await asyncio.to_thread(self.changed)
            except Exception as exc:  # keep serving the current table; say why in /version
                message = f"{type(exc).__name__}: {exc}"
                if message != self.reload_error:
                    log.error("deployment %s: reload failed: %s", self.source.deployment, message)
                self.reload_error = message
                continue
            self.reload_error = None
            if table is not None:
                self.install(table)
