"""Pausing Python's cyclic garbage collector while a dataset's per-file objects are built.

A folder of 10,000 files makes some 40,000 small tuples (listing, stat cache,
manifest). Each 700 new objects trigger a collection, and collections of the
older generations walk every object of the process: with pandas and
scikit-learn imported, an unchanged re-add measured 0.16 s with the collector
running and 0.066 s paused. None of these objects form cycles, so nothing is
left for the collector; it runs again, as usual, once the block ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (kept disabled if it already was)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
