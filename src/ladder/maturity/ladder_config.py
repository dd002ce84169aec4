"""What ``ladder.toml`` declares: pipelines, models with gates, deployments with traffic
policies, monitors and triggers.

The automation slice owns the schema of these sections; the assessment only
needs to know what is declared, so it reads them structurally: each entry of a
section is a sub-table (``[models.loans]``) or an item of an array of tables
(``[[models]]``), and gates and traffic policies are found by key and value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladder.config import CONFIG_FILE, read_toml
from ladder.errors import ConfigError

SECTIONS = ("pipelines", "models", "deployments", "monitors", "triggers")


@dataclass(frozen=True)
class LadderConfigEvidence:
    path: str | None  # relative to the assessed folder; None when there is no ladder.toml
    entries: dict[str, tuple[str, ...]] = field(default_factory=dict)  # section -> entry names
    gated_models: tuple[str, ...] = ()
    # every declared deployment: the autopilot rolls a candidate out through a canary (or a
    # shadow) unless [deployments.<name>.canary] says otherwise, and there is no "off" mode
    progressive_deployments: tuple[str, ...] = ()
    problem: str | None = None

    def declared(self, section: str) -> tuple[str, ...]:
        return self.entries.get(section, ())


def read_ladder_config(folder: Path) -> LadderConfigEvidence:
    path = folder / CONFIG_FILE
    if not path.is_file():
        return LadderConfigEvidence(path=None)
    try:
        document = read_toml(path)
    except (ConfigError, OSError) as exc:
        return LadderConfigEvidence(path=CONFIG_FILE, problem=str(exc))
    entries = {s: tuple(_entry_names(document.get(s))) for s in SECTIONS if s in document}
    models = _entries(document.get("models"))
    deployments = _entries(document.get("deployments"))
    return LadderConfigEvidence(
        path=CONFIG_FILE,
        entries=entries,
        gated_models=tuple(n for n, v in models if _mentions_key(v, "gate")),
        progressive_deployments=tuple(n for n, _ in deployments),
        problem=_validation_problem(path),
    )


def _validation_problem(path: Path) -> str | None:
    """What the automation slice's validation says is wrong with the file, if it is installed.

    The sections still count as evidence of intent when they do not validate; the
    problem becomes a finding.
    """
    try:
        from ladder.automation.config import load_config
    except ImportError:
        return None
    try:
        load_config(path)
    except (ConfigError, ValueError) as exc:
        return str(exc)
    return None


def _entries(section: Any) -> list[tuple[str, Any]]:
    if isinstance(section, dict):
        tables = [(str(k), v) for k, v in section.items() if isinstance(v, (dict, list))]
        return tables or ([("(section)", section)] if section else [])
    if isinstance(section, list):
        return [
            (str(item.get("name", index)) if isinstance(item, dict) else str(index), item)
            for index, item in enumerate(section)
        ]
    return []


def _entry_names(section: Any) -> list[str]:
    return [name for name, _ in _entries(section)]


def _mentions_key(node: Any, word: str) -> bool:
    if isinstance(node, dict):
        return any(word in str(k).lower() or _mentions_key(v, word) for k, v in node.items())
    if isinstance(node, list):
        return any(_mentions_key(item, word) for item in node)
    return False
