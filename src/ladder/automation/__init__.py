"""Automation: ``ladder.toml`` policies, triggers, the autopilot loop and its event log."""

from ladder.automation.autopilot import (
    Autopilot,
    TickReport,
    VariantStats,
    fire_trigger,
    variant_stats,
)
from ladder.automation.config import LadderConfig, load_config
from ladder.automation.events import Event, follow_events, list_events, record_event
from ladder.automation.explain import Explanation, explain

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
