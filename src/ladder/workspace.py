"""The open stores of the current project: metadata store + artifact store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ladder.artifacts.store import ArtifactStore, open_artifact_store
from ladder.config import Settings, load_settings
from ladder.db import Store, open_store


@dataclass(frozen=True)
class Workspace:
    settings: Settings
    store: Store
    artifacts: ArtifactStore

    @property
    def project(self) -> str:
        return self.settings.project


def open_workspace(start: Path | None = None) -> Workspace:
    """Open (creating and migrating on first use) the stores of the project around ``start``."""
    return workspace_of(load_settings(start))


def workspace_of(settings: Settings) -> Workspace:
    """The stores ``settings`` name, opened in this process (stores are cached per process)."""
    return Workspace(
        settings=settings,
        store=open_store(settings.store_uri),
        artifacts=open_artifact_store(settings.artifact_uri),
    )
