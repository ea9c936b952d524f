"""Helpers for bulk work over tens of thousands of rows."""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk build allocates many small objects
    (rows, tuples, dicts): its repeated full collections would walk every parsed object and cost
    a third or more of the time (bench/run.py). Reference counting still frees memory."""
    was_enabled = gc.isenabled()
    gc.disable()
    gc.unfreeze()  # what an earlier bulk step froze is collectable again (its cycles are not leaked)
    try:
        yield
    finally:
        if was_enabled:
            # The rows just built live on for the rest of the job: move them out of the young
            # generations, instead of the next collection walking every object the step made
            # (30-45 ms for a 50,000-employee plan, bench/run.py).
            gc.freeze()
            gc.enable()
