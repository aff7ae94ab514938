"""The cyclic garbage collector paused around work that builds many objects and no reference cycles."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused_gc"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (it is turned back on after, if it was on).

    Parsing and checking a project, or reading and checking a snapshot document (a tree), allocate hundreds
    of thousands of small objects that all stay alive and hold no reference cycles; every collection the
    allocations trigger walks them all again and frees nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
