"""The autopilot: triggers → retrain → gate → canary → promote or roll back, explained.

``tick()`` is one idempotent pass (for cron or CI): it takes the store's autopilot
lock, resumes loops that a previous process left half-way, evaluates the
configured monitors and triggers, starts at most one loop per model, and moves
every loop in canary forward when its evidence is in. ``run()`` repeats ticks
until SIGTERM. Every decision is an event with its reason and figures.

A loop's stage is written before the stage's side effects, and every side effect
is idempotent (moving an alias to where it already points, removing a canary
already gone), so a process killed mid-way leaves a state the next tick finishes:
the deployment is always at its old policy or its new one, never in between.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd
from sqlalchemy import func, select

from ladder.automation.config import (
    CanarySection,
    LadderConfig,
    TriggerSection,
    load_config,
    parse_duration,
)
from ladder.automation.events import record_event
from ladder.automation.lock import autopilot_lock
from ladder.automation.models import LoopRow, TriggerStateRow
from ladder.automation.schedule import is_due
from ladder.errors import LadderError
from ladder.ids import new_id
from ladder.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from ladder.registry import GateResult

ACTIVE_STAGES = ("training", "gating", "deploying", "canary", "promoting", "rolling_back")
MANUAL_PENDING = "manual:pending"
# Early rollback: with this many canary requests, an error rate over the limit is enough.
EARLY_ROLLBACK_REQUESTS = 20
MIN_LABELS_FOR_PERFORMANCE = 30


@dataclass
class TickReport:
    """What one pass did; ``held_lock`` False means another autopilot is active."""

    held_lock: bool = True
    actions: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.actions.append(text)


@dataclass(frozen=True)
class VariantStats:
    """Live evidence about one variant of a deployment since a point in time."""

    variant: str
    requests: int
    errors: int
    latency_p99_ms: float | None
    labelled: int
    accuracy: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "latency_p99_ms": self.latency_p99_ms,
            "labelled": self.labelled,
            "accuracy": self.accuracy,
        }


def _now_ms() -> int:
    return int(time.time() * 1000)


class Autopilot:
    """One autopilot over one project's configuration and store."""

    def __init__(self, config: LadderConfig | None = None, workspace: Workspace | None = None):
        self.ws = workspace or open_workspace()
        self.config = (
            config if config is not None else load_config(self.ws.settings.root / "ladder.toml")
        )

    # -- the pass ----------------------------------------------------------------------------
    def tick(self) -> TickReport:
        report = TickReport()
        with autopilot_lock(self.ws) as held:
            if not held:
                report.held_lock = False
                report.add("another autopilot holds this store's lock; nothing done")
                return report
            for loop in self._active_loops():
                self._advance(loop, report)
            self._run_monitors(report)
            for name, trigger in self.config.triggers.items():
                reason = self._trigger_reason(name, trigger, report)
                if reason is not None:
                    self._start_loop(name, trigger, reason, report)
        return report

    def run(self, interval: float | None = None, stop: threading.Event | None = None) -> None:
        """Tick every ``interval`` seconds (the policy's, by default) until stopped or SIGTERM."""
        stop = stop or threading.Event()
        seconds = interval if interval is not None else parse_duration(self.config.policy.interval)
        with _stop_on_sigterm(stop):
            while not stop.is_set():
                self.tick()
                stop.wait(seconds)

    # -- monitors and triggers ---------------------------------------------------------------
    def _run_monitors(self, report: TickReport) -> None:
        if not self.config.monitors:
            return
        from ladder.monitoring import run_monitor, sync_config_monitors

        sync_config_monitors(self.ws)
        for name in self.config.monitors:
            try:
                results = run_monitor(name, workspace=self.ws)
            except LadderError as exc:
                report.add(f"monitor {name}: {exc}")
                continue
            if results:
                report.add(f"monitor {name}: {len(results)} window(s) evaluated")

    def _trigger_state(self, name: str) -> TriggerStateRow:
        now = _now_ms()

        def work(session: Any) -> TriggerStateRow:
            row = _trigger_row(session, name, armed=now)
            return TriggerStateRow(
                name=row.name, armed=row.armed, last_fired=row.last_fired, last_seen=row.last_seen
            )

        return self.ws.store.write(work)

    def _save_trigger(self, name: str, *, fired: bool, seen: str | None) -> None:
        now = _now_ms()

        def work(session: Any) -> None:
            row = session.get(TriggerStateRow, name)
            assert row is not None
            if fired:
                row.last_fired = now
            row.last_seen = seen

        self.ws.store.write(work)

    def _trigger_reason(self, name: str, trigger: TriggerSection, report: TickReport) -> str | None:
        """Why ``trigger`` fires now, or None. Also records findings that do not fire it."""
        state = self._trigger_state(name)
        if state.last_seen == MANUAL_PENDING:
            self._save_trigger(name, fired=True, seen=None)
            return "fired by hand (ladder trigger fire)"
        if trigger.on == "schedule":
            assert trigger.cron is not None
            last = state.last_fired or state.armed
            now = datetime.now(timezone.utc)
            if is_due(trigger.cron, datetime.fromtimestamp(last / 1000, timezone.utc), now):
                self._save_trigger(name, fired=True, seen=state.last_seen)
                return f"schedule {trigger.cron!r} is due"
            return None
        if trigger.on == "dataset":
            assert trigger.dataset is not None
            from ladder.data import dataset as datasets

            try:
                latest = datasets.get(f"{trigger.dataset}@latest", workspace=self.ws)
            except LadderError:
                return None
            if state.last_seen is None:
                self._save_trigger(name, fired=False, seen=latest.version_id)
                return None
            if latest.version_id != state.last_seen:
                self._save_trigger(name, fired=True, seen=latest.version_id)
                return f"new version {latest.name}@{latest.number} of dataset {trigger.dataset!r}"
            return None
        if trigger.on == "alert":
            return self._alert_reason(name, trigger, state, report)
        return None  # manual triggers fire only through fire_trigger

    def _alert_reason(
        self, name: str, trigger: TriggerSection, state: TriggerStateRow, report: TickReport
    ) -> str | None:
        from ladder.monitoring import alerts

        assert trigger.monitor is not None
        fresh = alerts(trigger.monitor, after=state.last_seen, workspace=self.ws)
        if not fresh:
            return None
        self._save_trigger(name, fired=False, seen=fresh[-1].id)
        policy = self.config.policy
        blocking = [a for a in fresh if a.kind in policy.block_on or a.blocks_retraining]
        if blocking:
            alert = blocking[-1]
            record_event(
                "retrain_blocked",
                f"retraining {trigger.model!r} blocked: {alert.kind} alert {alert.message}; "
                "training on broken data would make the model worse",
                model=trigger.model,
                trigger=name,
                details={"alert": alert.id, "rule": alert.rule, "observed": alert.observed},
                workspace=self.ws,
            )
            report.add(f"trigger {name}: blocked by a {alert.kind} alert")
            return None
        retrain = [a for a in fresh if a.kind in trigger.alerts and a.kind in policy.retrain_on]
        if retrain:
            alert = retrain[-1]
            self._save_trigger(name, fired=True, seen=fresh[-1].id)
            return f"{alert.kind} alert on monitor {alert.monitor!r}: {alert.message}"
        for alert in fresh:
            record_event(
                "drift_explained",
                f"{alert.kind} alert on monitor {alert.monitor!r} without a performance effect: "
                f"{alert.message} (reported, not a reason to retrain)",
                model=trigger.model,
                trigger=name,
                details={"alert": alert.id, "rule": alert.rule, "observed": alert.observed},
                workspace=self.ws,
            )
        return None

    # -- loops -------------------------------------------------------------------------------
    def _active_loops(self) -> list[LoopRow]:
        with self.ws.store.read() as session:
            return list(
                session.scalars(
                    select(LoopRow).where(LoopRow.stage.in_(ACTIVE_STAGES)).order_by(LoopRow.id)
                ).all()
            )

    def _start_loop(
        self, name: str, trigger: TriggerSection, reason: str, report: TickReport
    ) -> None:
        model = trigger.model
        now = _now_ms()
        cooldown_ms = parse_duration(trigger.cooldown) * 1000
        with self.ws.store.read() as session:
            active = session.scalar(
                select(LoopRow).where(LoopRow.model == model, LoopRow.stage.in_(ACTIVE_STAGES))
            )
            last_start = session.scalar(
                select(func.max(LoopRow.started)).where(LoopRow.model == model)
            )
            today = session.scalar(
                select(func.count()).where(
                    LoopRow.model == model, LoopRow.started >= now - 86_400_000
                )
            )
        skip = None
        if active is not None:
            skip = f"a loop for {model!r} is in progress (loop {active.id}, {active.stage})"
        elif last_start is not None and now - last_start < cooldown_ms:
            wait = (cooldown_ms - (now - last_start)) / 1000
            ago = (now - last_start) / 1000
            skip = f"cooldown: last retrain of {model!r} {ago:.0f}s ago ({wait:.0f}s left)"
        elif today is not None and today >= trigger.max_per_day:
            skip = f"max rate: {today} retrains of {model!r} in 24 h (max {trigger.max_per_day})"
        if skip:
            record_event(
                "trigger_skipped",
                f"trigger {name!r} ({reason}) skipped: {skip}",
                model=model,
                trigger=name,
                workspace=self.ws,
            )
            report.add(f"trigger {name}: skipped ({skip})")
            return
        loop = LoopRow(
            id=new_id(),
            model=model,
            trigger=name,
            stage="training",
            started=now,
            updated=now,
            ended=None,
            candidate=None,
            champion=None,
            deployment=self._deployment_of(model),
            outcome=None,
            state="{}",
        )
        self.ws.store.write(lambda session: session.add(_copy_loop(loop)))
        record_event(
            "trigger_fired",
            f"trigger {name!r} fired: {reason}; retraining {model!r}",
            model=model,
            trigger=name,
            loop_id=loop.id,
            workspace=self.ws,
        )
        report.add(f"trigger {name}: fired ({reason}); loop {loop.id} started")
        self._advance(loop, report)

    def _deployment_of(self, model: str) -> str | None:
        from ladder.registry import parse_model_uri

        for name, deployment in self.config.deployments.items():
            # ladder.toml's deployment models are checked model URIs (config.DeploymentSection).
            if parse_model_uri(deployment.model).name == model:
                return name
        return None

    def _loop_event(
        self,
        loop: LoopRow,
        kind: str,
        message: str,
        *,
        version: int | None = None,
        deployment: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an event of ``loop``, about its candidate unless ``version`` says otherwise."""
        record_event(
            kind,
            message,
            model=loop.model,
            version=loop.candidate if version is None else version,
            deployment=deployment,
            loop_id=loop.id,
            details=details,
            workspace=self.ws,
        )

    def _set_stage(self, loop: LoopRow, stage: str, **changes: Any) -> None:
        loop.stage = stage
        loop.updated = _now_ms()
        for key, value in changes.items():
            setattr(loop, key, value)
        if stage not in ACTIVE_STAGES:
            loop.ended = loop.updated
        snapshot = _copy_loop(loop)
        self.ws.store.write(lambda session: session.merge(snapshot))

    def _advance(self, loop: LoopRow, report: TickReport) -> None:
        """Move ``loop`` through every stage that can complete now."""
        steps: dict[str, Callable[[LoopRow, TickReport], bool]] = {
            "training": self._train,
            "gating": self._gate,
            "deploying": self._deploy,
            "canary": self._judge_canary,
            "promoting": self._promote,
            "rolling_back": self._roll_back,
        }
        while loop.stage in steps:
            try:
                moved = steps[loop.stage](loop, report)
            except Exception as exc:
                self._loop_event(
                    loop,
                    "loop_failed",
                    f"loop {loop.id} failed at stage {loop.stage}: {exc}",
                    details={"stage": loop.stage, "error": f"{type(exc).__name__}: {exc}"},
                )
                report.add(f"loop {loop.id}: failed at {loop.stage}: {exc}")
                if loop.stage in ("deploying", "canary") and loop.deployment:
                    self._set_stage(loop, "rolling_back", state=_state(loop, reason=str(exc)))
                    continue
                self._set_stage(loop, "failed", outcome="failed")
                return
            if not moved:
                return

    def _train(self, loop: LoopRow, report: TickReport) -> bool:
        if _loop_state(loop).get("training_started"):
            # A previous process died while training: the pipeline run is not ours to wait on.
            self._loop_event(
                loop,
                "pipeline_failed",
                f"loop {loop.id}: the autopilot stopped while training; "
                "the loop ends and the trigger can fire again after the cooldown",
            )
            self._set_stage(loop, "failed", outcome="interrupted")
            return False
        model_config = self.config.models[loop.model]
        assert model_config.pipeline is not None
        pipeline_config = self.config.pipelines[model_config.pipeline]
        from ladder.pipelines import import_pipeline

        self._set_stage(loop, "training", state=_state(loop, training_started=True))
        self._loop_event(
            loop,
            "pipeline_started",
            f"training pipeline {model_config.pipeline!r} ({pipeline_config.entry}) started "
            f"on the {pipeline_config.executor} executor",
            details={"params": pipeline_config.params},
        )
        try:
            pipeline = import_pipeline(self._entry(pipeline_config.entry))
            result = pipeline.run(
                executor=pipeline_config.executor, workspace=self.ws, **pipeline_config.params
            )
        except Exception as exc:
            self._loop_event(
                loop,
                "pipeline_failed",
                f"training pipeline {model_config.pipeline!r} failed: {exc}; the champion is "
                "untouched and the trigger can fire again after the cooldown",
                details={"error": f"{type(exc).__name__}: {exc}"},
            )
            report.add(f"loop {loop.id}: training failed: {exc}")
            self._set_stage(loop, "failed", outcome="pipeline_failed")
            return False
        self._loop_event(
            loop,
            "pipeline_finished",
            f"training pipeline {model_config.pipeline!r} finished (run {result.run_id}, "
            f"{len(result.executed)} step(s) run, {len(result.cache_hits)} from cache)",
            details={"run_id": result.run_id, "cache_hits": result.cache_hits},
        )
        version = self._register(loop.model, result.output, result.run_id)
        champion = self._champion_number(loop.model)
        self._loop_event(
            loop,
            "candidate_registered",
            f"candidate {loop.model}/{version} registered from pipeline run {result.run_id}",
            version=version,
            details={"run_id": result.run_id, "champion": champion},
        )
        self._set_stage(
            loop,
            "gating",
            candidate=version,
            champion=champion,
            state=_state(loop, pipeline_run=result.run_id),
        )
        return True

    def _entry(self, entry: str) -> str:
        """A ``file.py:pipeline`` entry is relative to the project root, not the cwd."""
        module, _, attribute = entry.rpartition(":")
        if module.endswith(".py") and not Path(module).is_absolute():
            return f"{self.ws.settings.root / module}:{attribute}"
        return entry

    def _register(self, model: str, output: Any, pipeline_run: str) -> int:
        """The candidate's version: the pipeline's registered version, or its model registered
        (with the pipeline run as its producer: lineage to its data and commit)."""
        from ladder.registry import ModelVersion, register_model

        if isinstance(output, (tuple, list)):
            output = next((item for item in output if isinstance(item, ModelVersion)), output)
        if isinstance(output, ModelVersion):
            if output.name != model:
                raise LadderError(
                    f"pipeline output: expected a version of model {model!r}, got {output.uri}"
                )
            return output.version
        return register_model(output, model, run=pipeline_run, workspace=self.ws).version

    def _champion_number(self, model: str) -> int | None:
        from ladder.registry import get_aliases

        alias = self.config.models[model].champion_alias
        return get_aliases(model, workspace=self.ws).get(alias)

    def _gate(self, loop: LoopRow, report: TickReport) -> bool:
        from ladder.registry import gate

        model_config = self.config.models[loop.model]
        assert model_config.gate is not None and loop.candidate is not None
        spec = model_config.gate
        result = gate(
            candidate=f"{loop.model}/{loop.candidate}",
            against=f"{loop.model}@{model_config.champion_alias}",
            dataset=spec.dataset,
            label=spec.label,
            metrics=spec.metrics,
            by=spec.by,
            trust=model_config.trust,
            workspace=self.ws,
        )
        figures = [check.to_dict() for check in result.checks]
        summary = _gate_summary(result)
        if not result.passed:
            self._loop_event(
                loop,
                "gate_failed",
                f"gate failed for {loop.model}/{loop.candidate}: {summary}; nothing is deployed",
                details={"checks": figures},
            )
            report.add(f"loop {loop.id}: gate failed ({summary})")
            self._set_stage(loop, "rejected", outcome="gate_failed")
            return False
        self._loop_event(
            loop,
            "gate_passed",
            f"gate passed for {loop.model}/{loop.candidate}: {summary}",
            details={"checks": figures},
        )
        self._set_stage(loop, "deploying" if loop.deployment else "promoting")
        return True

    def _canary(self, loop: LoopRow) -> CanarySection:
        assert loop.deployment is not None
        return self.config.deployments[loop.deployment].canary

    def _deploy(self, loop: LoopRow, report: TickReport) -> bool:
        from ladder.serving import get_deployment, set_deployment

        assert loop.deployment is not None and loop.candidate is not None
        canary = self._canary(loop)
        uri = f"{loop.model}/{loop.candidate}"
        current = get_deployment(loop.deployment, workspace=self.ws)
        variant = current.policy.variant(canary.mode)  # the variant is named for the mode
        if variant is None or variant.model != uri:
            set_deployment(
                loop.deployment,
                canary=f"{uri}:{canary.share * 100:g}" if canary.mode == "canary" else None,
                shadow=uri if canary.mode == "shadow" else None,
                reason=f"autopilot loop {loop.id}: {canary.mode} for {uri}",
                workspace=self.ws,
            )
        started = _now_ms()
        self._loop_event(
            loop,
            "canary_started",
            f"{uri} deployed as {canary.mode} on {loop.deployment!r}"
            + (f" with {canary.share:.0%} of traffic" if canary.mode == "canary" else "")
            + f"; it needs {canary.min_requests} requests within {canary.max_wait}",
            deployment=loop.deployment,
            details={"mode": canary.mode, "share": canary.share},
        )
        report.add(f"loop {loop.id}: {uri} is {canary.mode} on {loop.deployment}")
        self._set_stage(loop, "canary", state=_state(loop, canary_since=started))
        return True

    def _judge_canary(self, loop: LoopRow, report: TickReport) -> bool:
        assert loop.deployment is not None
        canary = self._canary(loop)
        since = int(_loop_state(loop)["canary_since"])
        stats = variant_stats(loop.deployment, since_ms=since, workspace=self.ws)
        name = canary.mode
        candidate = stats.get(name) or _no_traffic(name)
        champion = stats.get("primary") or _no_traffic("primary")
        figures = {"candidate": candidate.to_dict(), "champion": champion.to_dict()}
        verdict: str | None = None
        problems = []
        if (
            candidate.requests >= EARLY_ROLLBACK_REQUESTS
            and candidate.error_rate > canary.max_error_rate
        ):
            problems.append(
                f"error rate {candidate.error_rate:.1%} > {canary.max_error_rate:.1%} "
                f"({candidate.errors} of {candidate.requests})"
            )
        if candidate.requests >= canary.min_requests:
            if (
                canary.max_latency_p99_ms is not None
                and candidate.latency_p99_ms is not None
                and candidate.latency_p99_ms > canary.max_latency_p99_ms
            ):
                problems.append(
                    f"latency p99 {candidate.latency_p99_ms:.1f} ms "
                    f"> {canary.max_latency_p99_ms:g} ms"
                )
            if (
                candidate.accuracy is not None
                and champion.accuracy is not None
                and champion.accuracy - candidate.accuracy > canary.max_performance_drop
            ):
                problems.append(
                    f"accuracy {candidate.accuracy:.3f} vs champion {champion.accuracy:.3f} "
                    f"(drop > {canary.max_performance_drop:g})"
                )
            verdict = "promote" if not problems else "roll back"
        elif problems:
            verdict = "roll back"
        elif _now_ms() - since > parse_duration(canary.max_wait) * 1000:
            problems.append(
                f"insufficient evidence: {candidate.requests} of {canary.min_requests} requests "
                f"within {canary.max_wait}"
            )
            verdict = "roll back"
        if verdict is None:
            return False  # keep collecting evidence
        text = (
            f"{name} {loop.model}/{loop.candidate} on {loop.deployment!r}: "
            f"{_evidence(candidate)} vs champion {_evidence(champion)}"
        )
        self._loop_event(
            loop,
            "canary_evaluated",
            f"{text} → {verdict}" + (f" ({'; '.join(problems)})" if problems else ""),
            deployment=loop.deployment,
            details=figures,
        )
        report.add(f"loop {loop.id}: canary judged → {verdict}")
        if verdict == "promote":
            self._set_stage(loop, "promoting", state=_state(loop, evidence=figures))
        else:
            self._set_stage(loop, "rolling_back", state=_state(loop, reason="; ".join(problems)))
        return True

    def _promote(self, loop: LoopRow, report: TickReport) -> bool:
        from ladder.registry import promote

        assert loop.candidate is not None
        uri = f"{loop.model}/{loop.candidate}"
        alias = self.config.models[loop.model].champion_alias
        if self._champion_number(loop.model) != loop.candidate:
            promote(uri, alias, reason=f"autopilot loop {loop.id}", workspace=self.ws)
        if loop.deployment:
            self._clear_candidate(loop, f"autopilot loop {loop.id}: {uri} promoted")
        self._loop_event(
            loop,
            "promoted",
            f"{uri} promoted to {alias}"
            + (f"; {loop.deployment!r} serves it to 100% of traffic" if loop.deployment else "")
            + (f" (previous champion: {loop.model}/{loop.champion})" if loop.champion else ""),
            deployment=loop.deployment,
            details={"previous": loop.champion},
        )
        report.add(f"loop {loop.id}: {uri} promoted")
        self._set_stage(loop, "promoted", outcome="promoted")
        return False

    def _roll_back(self, loop: LoopRow, report: TickReport) -> bool:
        uri = f"{loop.model}/{loop.candidate}"
        reason = str(_loop_state(loop).get("reason", "canary failed"))
        if loop.deployment:
            self._clear_candidate(loop, f"autopilot loop {loop.id}: rolled back {uri}: {reason}")
        self._loop_event(
            loop,
            "rolled_back",
            f"{uri} rolled back on {loop.deployment!r}: {reason}; "
            "the champion keeps all the traffic",
            deployment=loop.deployment,
            details={"reason": reason},
        )
        report.add(f"loop {loop.id}: {uri} rolled back ({reason})")
        self._set_stage(loop, "rolled_back", outcome="rolled_back")
        return False

    def _clear_candidate(self, loop: LoopRow, reason: str) -> None:
        """Remove the candidate's canary or shadow from the deployment (no-op if it is gone)."""
        from ladder.serving import get_deployment, set_deployment

        assert loop.deployment is not None
        policy = get_deployment(loop.deployment, workspace=self.ws).policy
        uri = f"{loop.model}/{loop.candidate}"
        canary, shadow = policy.variant("canary"), policy.variant("shadow")
        if canary is not None and canary.model == uri:
            set_deployment(loop.deployment, no_canary=True, reason=reason, workspace=self.ws)
        elif shadow is not None and shadow.model == uri:
            set_deployment(loop.deployment, no_shadow=True, reason=reason, workspace=self.ws)


def variant_stats(
    deployment: str, *, since_ms: int, workspace: Workspace | None = None
) -> dict[str, VariantStats]:
    """Requests, errors, latency p99 and (with labels) accuracy per variant since ``since_ms``."""
    from ladder.serving import failed_requests, predictions

    ws = workspace or open_workspace()
    since = pd.Timestamp(since_ms, unit="ms", tz="UTC")
    served = predictions(deployment, since=since, workspace=ws)
    failed = failed_requests(deployment, since=since, workspace=ws)
    stats: dict[str, VariantStats] = {}
    for variant in sorted(set(served["variant"]) | set(failed["variant"])):
        ok = served[served["variant"] == variant]
        errors = int((failed["variant"] == variant).sum())
        latency = float(ok["latency_ms"].quantile(0.99)) if len(ok) else None
        labelled = ok[ok["label"].notna()]
        accuracy = None
        if len(labelled) >= MIN_LABELS_FOR_PERFORMANCE:
            accuracy = float(
                (labelled["prediction"].astype(str) == labelled["label"].astype(str)).mean()
            )
        stats[str(variant)] = VariantStats(
            str(variant), len(ok) + errors, errors, latency, len(labelled), accuracy
        )
    return stats


def fire_trigger(
    name: str, config: LadderConfig | None = None, workspace: Workspace | None = None
) -> None:
    """Mark trigger ``name`` to fire on the next tick (``ladder trigger fire``)."""
    ws = workspace or open_workspace()
    cfg = config if config is not None else load_config(ws.settings.root / "ladder.toml")
    if name not in cfg.triggers:
        raise LadderError(
            f"trigger {name!r}: not in ladder.toml (defined: {sorted(cfg.triggers) or 'none'})"
        )
    now = _now_ms()

    def work(session: Any) -> None:
        _trigger_row(session, name, armed=now).last_seen = MANUAL_PENDING

    ws.store.write(work)


def _trigger_row(session: Any, name: str, *, armed: int) -> TriggerStateRow:
    """Trigger ``name``'s state row, created (armed at ``armed``) on first use."""
    row = session.get(TriggerStateRow, name)
    if row is None:
        row = TriggerStateRow(name=name, armed=armed, last_fired=None, last_seen=None)
        session.add(row)
    return row


def _gate_summary(result: GateResult) -> str:
    parts = []
    for check in result.checks:
        if check.slice is not None and check.passed:
            continue
        champion = (
            ""
            if check.champion is None or math.isnan(check.champion)
            else f" vs champion {check.champion:.3f}"
        )
        status = "ok" if check.passed else "FAIL: " + "; ".join(check.reasons)
        where = f" [{check.slice}]" if check.slice else ""
        parts.append(f"{check.metric}{where} {check.candidate:.3f}{champion} ({status})")
    return ", ".join(parts) or "no checks"


def _no_traffic(variant: str) -> VariantStats:
    return VariantStats(variant, 0, 0, None, 0, None)


def _evidence(stats: VariantStats) -> str:
    """One variant's figures as the canary verdict states them."""
    p99 = "-" if stats.latency_p99_ms is None else f"{stats.latency_p99_ms:.1f} ms"
    text = f"{stats.requests} requests, errors {stats.error_rate:.1%}, p99 {p99}"
    return text if stats.accuracy is None else f"{text}, accuracy {stats.accuracy:.3f}"


def _loop_state(loop: LoopRow) -> dict[str, Any]:
    """What a loop's stages left for the next ones (JSON in the loop row)."""
    data: dict[str, Any] = orjson.loads(loop.state or "{}")
    return data


def _state(loop: LoopRow, **changes: Any) -> str:
    """The loop's state with ``changes`` applied, as the JSON to store."""
    return orjson.dumps({**_loop_state(loop), **changes}).decode()


def _copy_loop(loop: LoopRow) -> LoopRow:
    return LoopRow(
        id=loop.id,
        model=loop.model,
        trigger=loop.trigger,
        stage=loop.stage,
        started=loop.started,
        updated=loop.updated,
        ended=loop.ended,
        candidate=loop.candidate,
        champion=loop.champion,
        deployment=loop.deployment,
        outcome=loop.outcome,
        state=loop.state,
    )


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
