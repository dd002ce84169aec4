"""Deployment evidence in files: containers, Kubernetes/Helm manifests, progressive delivery,
serving metrics and prediction logging markers.

Helm templates are not valid YAML before rendering, so manifests are read with
patterns over their text rather than parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ladder.maturity.scan import RepoScan

_KIND = re.compile(r"^kind:\s*['\"]?([A-Za-z]+)", re.MULTILINE)
_API = re.compile(r"^apiVersion:", re.MULTILINE)

# Progressive delivery: what a manifest must contain to count as canary / shadow / A-B rollout.
ROLLOUT_MARKERS: dict[str, re.Pattern[str]] = {
    "Argo Rollouts canary/blue-green": re.compile(
        r"^kind:\s*Rollout\b(?s:.*)\b(?:canary|blueGreen):", re.MULTILINE
    ),
    "Flagger canary": re.compile(r"^kind:\s*Canary\b", re.MULTILINE),
    "KServe canaryTrafficPercent": re.compile(r"\bcanaryTrafficPercent\s*:"),
    "Seldon traffic split or shadow": re.compile(
        r"^kind:\s*SeldonDeployment\b(?s:.*)(?:\btraffic:\s*\d|\bshadow:\s*true)", re.MULTILINE
    ),
    "Istio weighted routing or mirroring": re.compile(
        r"^kind:\s*VirtualService\b(?s:.*)(?:\bweight:\s*\d|\bmirror:)", re.MULTILINE
    ),
}
METRICS_MARKERS: dict[str, re.Pattern[str]] = {
    "Prometheus ServiceMonitor/PodMonitor": re.compile(
        r"^kind:\s*(?:ServiceMonitor|PodMonitor)\b", re.MULTILINE
    ),
    "prometheus.io/scrape annotation": re.compile(r"prometheus\.io/scrape"),
}
PREDICTION_LOG_MARKERS: dict[str, re.Pattern[str]] = {
    "KServe/Seldon request logger": re.compile(
        r"^kind:\s*(?:InferenceService|SeldonDeployment)\b(?s:.*)^\s+logger:", re.MULTILINE
    ),
}
_MODEL_REF = re.compile(r"models:/|\bladder\s+serve\b|@champion\b|\bstorageUri:")


@dataclass(frozen=True)
class DeploymentEvidence:
    dockerfiles: tuple[str, ...]
    compose_files: tuple[str, ...]
    manifests: dict[str, tuple[str, ...]]  # Kubernetes kind -> files
    helm_charts: tuple[str, ...]
    rollouts: dict[str, tuple[str, ...]]  # ROLLOUT_MARKERS name -> files
    metrics: dict[str, tuple[str, ...]]
    prediction_logs: dict[str, tuple[str, ...]]
    model_references: tuple[str, ...]  # files that deploy a registry model (models:/, @alias)

    @property
    def manifest_files(self) -> list[str]:
        return sorted({f for files in self.manifests.values() for f in files})


def _is_dockerfile(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("Dockerfile") or name.endswith(".Dockerfile")


def read_deployment(scan: RepoScan) -> DeploymentEvidence:
    manifests: dict[str, list[str]] = {}
    rollouts: dict[str, list[str]] = {}
    metrics: dict[str, list[str]] = {}
    logs: dict[str, list[str]] = {}
    references: list[str] = []
    for path, text in sorted(scan.texts.items()):
        if _is_dockerfile(path) and _MODEL_REF.search(text):
            references.append(path)
        if not path.endswith((".yml", ".yaml")) or not _API.search(text):
            continue
        for kind in sorted(set(_KIND.findall(text))):
            manifests.setdefault(kind, []).append(path)
        for table, markers in ((rollouts, ROLLOUT_MARKERS), (metrics, METRICS_MARKERS)):
            for name, pattern in markers.items():
                if pattern.search(text):
                    table.setdefault(name, []).append(path)
        for name, pattern in PREDICTION_LOG_MARKERS.items():
            if pattern.search(text):
                logs.setdefault(name, []).append(path)
        if _MODEL_REF.search(text):
            references.append(path)
    return DeploymentEvidence(
        dockerfiles=tuple(p for p in scan.files if _is_dockerfile(p)),
        compose_files=tuple(
            p for p in scan.files if re.fullmatch(r"(?:.*/)?(?:docker-)?compose[\w.-]*\.ya?ml", p)
        ),
        manifests={k: tuple(v) for k, v in sorted(manifests.items())},
        helm_charts=tuple(
            p.rsplit("/", 1)[0] if "/" in p else "." for p in scan.named("Chart.yaml")
        ),
        rollouts={k: tuple(v) for k, v in rollouts.items()},
        metrics={k: tuple(v) for k, v in metrics.items()},
        prediction_logs={k: tuple(v) for k, v in logs.items()},
        model_references=tuple(sorted(set(references))),
    )
