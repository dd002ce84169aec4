"""How long dataset work reports its progress (the CLI draws Rich bars from it)."""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    """Receives the stages of an add (scanning, hashing, storing, profiling) and their advance."""

    def stage(self, name: str, total: int | None, unit: str) -> None:
        """A new stage starts; ``total`` is in ``unit`` ("files", "bytes", "rows") when known."""

    def advance(self, amount: int) -> None:
        """``amount`` more units of the current stage are done."""


class SilentProgress:
    """The reporter used when nobody is watching."""

    def stage(self, name: str, total: int | None, unit: str) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None
