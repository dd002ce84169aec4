"""The full schema of ``ladder.toml``, validated with pydantic.

An error names the key path and the line it is on, with what was expected and
what was given. Environment variables (``LADDER_*``) still override the
``[project]`` and ``[store]`` keys, as resolved by ``ladder.config``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ladder.config import CONFIG_FILE, find_root, read_toml
from ladder.errors import ConfigError

Finding = Literal["performance", "drift", "data_quality"]
RETRAIN_DEFAULT: tuple[Finding, ...] = ("performance",)
BLOCK_DEFAULT: tuple[Finding, ...] = ("data_quality",)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | float | int, field: str = "duration") -> float:
    """Seconds in ``"90"``, ``"15m"``, ``"1h"``, ``"2d"`` or a number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{field}: expected a non-negative duration, got {text}")
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{field}: expected a duration such as '90s', '15m', '1h', got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSection(_Section):
    name: str = "default"


class StoreSection(_Section):
    uri: str | None = None
    artifacts: str | None = None


class PipelineSection(_Section):
    """A training pipeline: ``entry = "module:pipeline"`` (a ``@ladder.pipeline`` function)."""

    entry: str
    executor: Literal["local", "ray"] = "local"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("entry")
    @classmethod
    def _entry(cls, value: str) -> str:
        if not re.match(r"^[^:]+:[A-Za-z_]\w*$", value):
            raise ValueError(
                f"expected 'package.module:pipeline' or 'path/to/file.py:pipeline', got {value!r}"
            )
        return value


class GateSection(_Section):
    """Thresholds a candidate must pass against the champion (see ``ladder.gate``)."""

    dataset: str
    label: str | None = None
    metrics: dict[str, dict[str, float]]
    by: str | None = None


class ModelSection(_Section):
    """A registered model: the pipeline that produces it and the gate it must pass."""

    pipeline: str | None = None
    champion_alias: str = "champion"
    # Gate python-flavor (cloudpickle) candidates too: only for pipelines you trust.
    trust: bool = False
    gate: GateSection | None = None


class CanarySection(_Section):
    """How a candidate earns promotion once deployed beside the champion."""

    mode: Literal["canary", "shadow"] = "canary"
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    min_requests: Annotated[int, Field(ge=1)] = 200
    max_wait: str = "30m"
    max_error_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    max_latency_p99_ms: Annotated[float, Field(gt=0.0)] | None = None
    max_performance_drop: Annotated[float, Field(ge=0.0)] = 0.02

    @field_validator("max_wait")
    @classmethod
    def _wait(cls, value: str) -> str:
        parse_duration(value, "max_wait")
        return value


class DeploymentSection(_Section):
    model: str
    canary: CanarySection = Field(default_factory=CanarySection)

    @field_validator("model")
    @classmethod
    def _model_uri(cls, value: str) -> str:
        from ladder.errors import InvalidModelURI
        from ladder.registry import parse_model_uri

        try:
            parse_model_uri(value)
        except InvalidModelURI as exc:
            raise ValueError(str(exc)) from None
        return value


class MonitorSection(_Section):
    deployment: str
    reference: str | None = None
    window: str = "1000 predictions"
    alerts: list[str] = Field(default_factory=list)


class TriggerSection(_Section):
    """What starts the loop. ``on`` picks which of the other keys apply."""

    on: Literal["schedule", "dataset", "alert", "manual"]
    model: str
    cron: str | None = None
    dataset: str | None = None
    monitor: str | None = None
    alerts: list[Finding] = Field(default_factory=lambda: list(RETRAIN_DEFAULT))
    cooldown: str = "1h"
    max_per_day: Annotated[int, Field(ge=1)] = 3

    @model_validator(mode="after")
    def _needs(self) -> TriggerSection:
        required = {"schedule": "cron", "dataset": "dataset", "alert": "monitor"}.get(self.on)
        if required and getattr(self, required) is None:
            raise ValueError(f"a trigger with on = {self.on!r} needs {required!r}")
        parse_duration(self.cooldown, "cooldown")
        return self

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        from ladder.automation.schedule import parse_cron

        if value is not None:
            try:
                parse_cron(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value


class PolicySection(_Section):
    """What a monitor finding does. The defaults follow the design: performance drops
    retrain, drift alone is explained, data-quality failures block retraining."""

    retrain_on: list[Finding] = Field(default_factory=lambda: list(RETRAIN_DEFAULT))
    block_on: list[Finding] = Field(default_factory=lambda: list(BLOCK_DEFAULT))
    interval: str = "60s"


class LadderConfig(_Section):
    project: ProjectSection = Field(default_factory=ProjectSection)
    store: StoreSection = Field(default_factory=StoreSection)
    pipelines: dict[str, PipelineSection] = Field(default_factory=dict)
    models: dict[str, ModelSection] = Field(default_factory=dict)
    deployments: dict[str, DeploymentSection] = Field(default_factory=dict)
    monitors: dict[str, MonitorSection] = Field(default_factory=dict)
    triggers: dict[str, TriggerSection] = Field(default_factory=dict)
    policy: PolicySection = Field(default_factory=PolicySection)

    @model_validator(mode="after")
    def _references(self) -> LadderConfig:
        for name, model in self.models.items():
            if model.pipeline is not None and model.pipeline not in self.pipelines:
                raise ValueError(
                    f"models.{name}.pipeline: no [pipelines.{model.pipeline}] section "
                    f"(defined: {sorted(self.pipelines) or 'none'})"
                )
        for name, monitor in self.monitors.items():
            if monitor.deployment not in self.deployments:
                raise ValueError(
                    f"monitors.{name}.deployment: no [deployments.{monitor.deployment}] section "
                    f"(defined: {sorted(self.deployments) or 'none'})"
                )
        for name, trigger in self.triggers.items():
            produced = self.models.get(trigger.model)
            if produced is not None and (produced.pipeline is None or produced.gate is None):
                raise ValueError(
                    f"triggers.{name}: model {trigger.model!r} needs a pipeline and a "
                    f"[models.{trigger.model}.gate] to be retrained automatically "
                    "(an ungated candidate is never deployed)"
                )
            if trigger.model not in self.models:
                raise ValueError(
                    f"triggers.{name}.model: no [models.{trigger.model}] section "
                    f"(defined: {sorted(self.models) or 'none'})"
                )
            if trigger.monitor is not None and trigger.monitor not in self.monitors:
                raise ValueError(
                    f"triggers.{name}.monitor: no [monitors.{trigger.monitor}] section "
                    f"(defined: {sorted(self.monitors) or 'none'})"
                )
        return self


def load_config(path: Path | None = None) -> LadderConfig:
    """Read and validate ``ladder.toml`` (the project's, or ``path``); a missing file is empty."""
    config_path = path or (find_root() / CONFIG_FILE)
    if not config_path.is_file():
        return LadderConfig()
    data = read_toml(config_path)
    try:
        return LadderConfig.model_validate(data)
    except ValidationError as exc:
        text = config_path.read_text(encoding="utf-8", errors="replace")
        problems = []
        for error in exc.errors():
            location = [str(part) for part in error["loc"]]
            key = ".".join(location) or "(top level)"
            line = locate_key(text, location)
            where = f"line {line}, " if line else ""
            given = error.get("input")
            shown = "" if isinstance(given, dict) else f" (given: {given!r})"
            problems.append(f"{where}{key}: {error['msg']}{shown}")
        raise ConfigError(
            f"{config_path}: invalid configuration:\n  " + "\n  ".join(problems)
        ) from None


def locate_key(text: str, location: list[str]) -> int | None:
    """The 1-based line of the deepest key of ``location`` found in TOML ``text``, if any."""
    table: list[str] = []
    best: tuple[int, int] | None = None  # (matched depth, line)
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    assignment = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        found = header.match(line)
        if found:
            table = [part.strip().strip("\"'") for part in found.group(1).split(".")]
            path = table
        else:
            found = assignment.match(line)
            if not found:
                continue
            path = table + [part.strip().strip("\"'") for part in found.group(1).split(".")]
        depth = 0
        for have, want in zip(path, location, strict=False):
            if have != want:
                break
            depth += 1
        if depth and (best is None or depth > best[0]):
            best = (depth, number)
    return best[1] if best else None


EXAMPLE = """\
# Ladder project configuration (validated by `ladder config check`).
# Environment variables override [project] and [store]:
# LADDER_PROJECT, LADDER_STORE_URI, LADDER_ARTIFACT_URI.

[project]
name = "{name}"

[store]
# Metadata: SQLite in .ladder/ by default; PostgreSQL for a team:
# uri = "postgresql+psycopg://user@host:5432/ladder"
# Artifacts: a local folder by default; any fsspec URL such as s3://bucket/prefix:
# artifacts = "s3://my-bucket/ladder"

# A training pipeline: a function decorated with @ladder.pipeline.
# [pipelines.training]
# entry = "train:training"          # module:function, importable from the project root
# executor = "local"                # or "ray"
# params = {{ C = 1.0 }}

# A model: which pipeline produces it and the gate a candidate must pass.
# [models.loans]
# pipeline = "training"
# [models.loans.gate]
# dataset = "loans-holdout@latest"
# label = "default"
# metrics = {{ roc_auc = {{ min = 0.75, min_delta = 0.0 }} }}

# A deployment and how a candidate earns promotion (canary or shadow).
# [deployments.loans]
# model = "loans@champion"
# [deployments.loans.canary]
# mode = "canary"
# share = 0.2
# min_requests = 200
# max_wait = "30m"
# max_error_rate = 0.02

# A monitor over the deployment's prediction log, with alert rules.
# [monitors.loans]
# deployment = "loans"
# window = "1000 predictions"
# alerts = ["estimated.roc_auc < 0.75", "drift_share > 0.5"]

# What starts a retrain: schedule (cron), dataset, alert or manual.
# [triggers.performance-drop]
# on = "alert"
# monitor = "loans"
# model = "loans"
# cooldown = "1h"
# max_per_day = 3

# What findings do: retrain on performance drops, explain drift, block on data quality.
# [policy]
# retrain_on = ["performance"]
# block_on = ["data_quality"]
# interval = "60s"
"""
