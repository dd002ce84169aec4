"""CI configurations and what they run: tests, data and model checks, training, deployment.

GitHub Actions, GitLab CI, Azure Pipelines, CircleCI and Bitbucket files are YAML
and are parsed for their commands and schedules; a Jenkinsfile is Groovy and is
read as text. Each command is classified by what it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ladder.maturity.scan import RepoScan

CI_FILES: dict[str, str] = {
    r"\.github/workflows/[^/]+\.ya?ml": "GitHub Actions",
    r"\.gitlab-ci\.ya?ml": "GitLab CI",
    r"(?:[^/]+/)*Jenkinsfile": "Jenkins",
    r"azure-pipelines\.ya?ml": "Azure Pipelines",
    r"\.circleci/config\.ya?ml": "CircleCI",
    r"bitbucket-pipelines\.ya?ml": "Bitbucket Pipelines",
}

# What a command does, by pattern. A command can do several things.
PURPOSES: dict[str, re.Pattern[str]] = {
    "tests": re.compile(
        r"\bpytest\b|\bunittest\b|\btox\b|\bnox\b|\bmake\s+(?:test|check)\b|\bpoetry run pytest\b"
        r"|\bhatch (?:run )?test\b"
    ),
    "data_validation": re.compile(
        r"\bladder\s+(?:data|datasets?)\s+validate\b|\bgreat_expectations\b|\bgx\s+checkpoint\b"
        r"|\bpandera\b|\bdeepchecks\b|\bvalidate[_-]?data\b|\bdata[_-]?valid\w*|\btests?/data\b"
        r"|\bevidently\b"
    ),
    "model_validation": re.compile(
        r"\bladder\s+(?:models?\s+)?gate\b|\bvalidate[_-]?model\b|\bmodel[_-]?valid\w*"
        r"|\bevaluat\w*|\btests?/models?\b|\bdvc\s+metrics\s+diff\b|\bcml\b|\bmlflow\s+evaluate\b"
    ),
    "training": re.compile(
        r"\btrain\w*(?:\.py)?\b|\bdvc\s+repro\b|\bladder\s+pipelines?\s+run\b|\bmlflow\s+run\b"
        r"|\bfit\.py\b"
    ),
    "deployment": re.compile(
        r"\bkubectl\s+(?:apply|rollout|set\s+image)\b|\bhelm\s+(?:upgrade|install)\b"
        r"|\bdocker\s+push\b|\bladder\s+(?:deploy\w*|promote|models?\s+promote|serve)\b"
        r"|\bmlflow\s+(?:models\s+(?:serve|build-docker)|deployments)\b|\bgcloud\s+run\s+deploy\b"
        r"|\baz\s+ml\b|\bsagemaker\b|\bbentoml\s+deploy\b|\bkubectl\s+argo\s+rollouts\b"
        r"|\bskaffold\s+run\b|\bdeploy\w*\.(?:py|sh)\b|\bdocker/build-push-action\b"
    ),
}


@dataclass(frozen=True)
class CiConfig:
    """One CI definition file: its system, commands, schedules, and what the commands do."""

    path: str
    system: str
    commands: tuple[str, ...]
    schedules: tuple[str, ...]  # cron expressions (or "schedule" when only the fact is known)
    purposes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # purpose -> commands
    problem: str | None = None  # why the file could not be parsed (it was read as text)

    def does(self, purpose: str) -> bool:
        return bool(self.purposes.get(purpose))


def read_ci(scan: RepoScan) -> list[CiConfig]:
    """Every CI definition the scan read, classified."""
    configs = []
    for path in sorted(scan.texts):
        system = next((s for pattern, s in CI_FILES.items() if re.fullmatch(pattern, path)), None)
        if system is not None:
            configs.append(_parse(path, system, scan.texts[path]))
    return configs


def _parse(path: str, system: str, text: str) -> CiConfig:
    problem = None
    commands: list[str] = []
    schedules: list[str] = []
    if system == "Jenkins":
        commands = [line.strip() for line in text.splitlines() if line.strip()]
        schedules = re.findall(r"cron\(\s*['\"]([^'\"]+)['\"]", text)
    else:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = f"invalid YAML: {str(exc).splitlines()[0]}"
            document = None
        if document is None and problem is not None:
            commands = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            commands = list(_strings(document, _COMMAND_KEYS))
            schedules = _schedules(document, system)
    purposes = {
        name: tuple(c for c in commands if pattern.search(c)) for name, pattern in PURPOSES.items()
    }
    return CiConfig(
        path=path,
        system=system,
        commands=tuple(commands),
        schedules=tuple(schedules),
        purposes={k: v for k, v in purposes.items() if v},
        problem=problem,
    )


# Keys whose values are shell commands or actions, across the YAML CI systems.
_COMMAND_KEYS = frozenset(
    {"run", "uses", "script", "before_script", "after_script", "command", "bash", "pwsh", "task"}
)


def _strings(node: Any, keys: frozenset[str], inside: bool = False) -> list[str]:
    """Every string under one of ``keys``, in document order (lists flattened)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_strings(value, keys, inside or str(key) in keys))
    elif isinstance(node, list):
        for item in node:
            found.extend(_strings(item, keys, inside))
    elif isinstance(node, str) and inside:
        found.extend(line.strip() for line in node.splitlines() if line.strip())
    return found


def _schedules(document: Any, system: str) -> list[str]:
    if not isinstance(document, dict):
        return []
    if system == "GitHub Actions":
        # YAML 1.1 reads the key ``on`` as the boolean True.
        triggers = document.get("on", document.get(True))
        if isinstance(triggers, dict):
            entries = triggers.get("schedule") or []
            return [str(e.get("cron")) for e in entries if isinstance(e, dict) and e.get("cron")]
        return []
    if system == "GitLab CI":
        text = yaml.safe_dump(document)
        return ["pipeline schedule"] if "schedule" in text else []
    crons = [str(s.get("cron")) for s in document.get("schedules") or [] if isinstance(s, dict)]
    if system == "CircleCI":
        crons += re.findall(r"cron:\s*['\"]?([^'\"\n]+)", yaml.safe_dump(document))
    return [c for c in crons if c and c != "None"]
