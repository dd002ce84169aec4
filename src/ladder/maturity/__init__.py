"""Evidence-based MLOps maturity assessment: which of the five levels a repository operates at.

::

    from ladder.maturity import assess

    result = assess("path/to/repo")
    result.level, result.level_info.name      # 3, "Reproducible"
    result.failing(4)                          # ["L4.ci_tests", ...]
    [s.step for s in result.next_steps]        # three concrete steps to level 4

The evidence comes from the repository (files, git, CI, other tools' stores) and,
when there is one, the project's Ladder store, read through each slice's public
functions.
"""

from ladder.maturity.assess import (
    SCHEMA,
    SCORING,
    Assessment,
    CheckResult,
    LevelResult,
    NextStep,
    assess,
)
from ladder.maturity.checks import CHECKS, LEVELS, Check, Level, Outcome
from ladder.maturity.evidence import Evidence, Finding, gather_evidence
from ladder.maturity.report import print_report, to_html, to_json, write_html
from ladder.maturity.scan import ScanLimits, scan_repository

__all__ = [
    "CHECKS",
    "LEVELS",
    "SCHEMA",
    "SCORING",
    "Assessment",
    "Check",
    "CheckResult",
    "Evidence",
    "Finding",
    "Level",
    "LevelResult",
    "NextStep",
    "Outcome",
    "ScanLimits",
    "assess",
    "gather_evidence",
    "print_report",
    "scan_repository",
    "to_html",
    "to_json",
    "write_html",
]
