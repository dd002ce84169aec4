"""Automation: ``ladder.toml`` policies, triggers, the autopilot loop and its event log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ladder.exports import lazy_exports

if TYPE_CHECKING:
    from ladder.automation.autopilot import (
        Autopilot,
        TickReport,
        VariantStats,
        fire_trigger,
        variant_stats,
    )
    from ladder.automation.config import LadderConfig, load_config
    from ladder.automation.events import Event, follow_events, list_events, record_event
    from ladder.automation.explanation import Explanation, explain

# Imported on first use: reading ladder.toml (``ladder config check``, ``ladder assess``)
# needs none of the autopilot's machinery.
_LAZY = {
    "Autopilot": "ladder.automation.autopilot",
    "TickReport": "ladder.automation.autopilot",
    "VariantStats": "ladder.automation.autopilot",
    "fire_trigger": "ladder.automation.autopilot",
    "variant_stats": "ladder.automation.autopilot",
    "LadderConfig": "ladder.automation.config",
    "load_config": "ladder.automation.config",
    "Event": "ladder.automation.events",
    "follow_events": "ladder.automation.events",
    "list_events": "ladder.automation.events",
    "record_event": "ladder.automation.events",
    "Explanation": "ladder.automation.explanation",
    "explain": "ladder.automation.explanation",
}


__getattr__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "Autopilot",
    "Event",
    "Explanation",
    "LadderConfig",
    "TickReport",
    "VariantStats",
    "explain",
    "fire_trigger",
    "follow_events",
    "list_events",
    "load_config",
    "record_event",
    "variant_stats",
]
