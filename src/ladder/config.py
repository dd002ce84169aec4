"""Where things live: discovery of ``ladder.toml`` / ``.ladder/`` and the ``LADDER_*`` variables.

Resolution order for each setting: environment variable, then ``ladder.toml``,
then the embedded default under ``<root>/.ladder/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladder.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILE = "ladder.toml"
STATE_DIR = ".ladder"


@dataclass(frozen=True)
class Settings:
    """The resolved locations of one Ladder project."""

    root: Path
    project: str
    store_uri: str
    artifact_uri: str

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR


def find_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` holding ``ladder.toml`` or ``.ladder/``.

    Falls back to ``start`` itself (the current directory) so that a plain script
    gets a store beside it with zero setup.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / STATE_DIR).is_dir():
            return folder
    return here


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error names the file and line."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def _section_str(data: dict[str, Any], section: str, key: str, path: Path) -> str | None:
    block = data.get(section, {})
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: [{section}] must be a table, got {type(block).__name__}")
    value = block.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: {section}.{key} must be a string, got {type(value).__name__}")
    return value


def load_settings(start: Path | None = None) -> Settings:
    """Resolve the settings for the project containing ``start`` (default: the cwd)."""
    root_env = os.environ.get("LADDER_HOME")
    root = Path(root_env).resolve() if root_env else find_root(start)
    return settings_at(root, os.environ)


def settings_at(root: Path, environment: Mapping[str, str] | None = None) -> Settings:
    """The settings of the project at ``root``: each from ``environment`` (the ``LADDER_*``
    variables; none for another project than the current one), else its ``ladder.toml``,
    else the embedded default."""
    variables = environment or {}
    data: dict[str, Any] = {}
    config_path = root / CONFIG_FILE
    if config_path.is_file():
        data = read_toml(config_path)
    project = (
        variables.get("LADDER_PROJECT")
        or _section_str(data, "project", "name", config_path)
        or "default"
    )
    store_uri = (
        variables.get("LADDER_STORE_URI")
        or _section_str(data, "store", "uri", config_path)
        or f"sqlite:///{root / STATE_DIR / 'ladder.db'}"
    )
    artifact_uri = (
        variables.get("LADDER_ARTIFACT_URI")
        or _section_str(data, "store", "artifacts", config_path)
        or str(root / STATE_DIR / "artifacts")
    )
    return Settings(root=root, project=project, store_uri=store_uri, artifact_uri=artifact_uri)
