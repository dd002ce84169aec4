"""``ladder quickstart``: the whole five-level story in one command (see ``story``)."""

from ladder.quickstart.loans import FEATURES, LABEL, loan_applications
from ladder.quickstart.story import StoryResult, run_story

__all__ = ["FEATURES", "LABEL", "StoryResult", "loan_applications", "run_story"]
