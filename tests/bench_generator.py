"""The fleet generator of ``bench/`` loaded as a module, for tests that schedule generated fleets."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

__all__ = ["fleet_generator"]

_SOURCE = Path(__file__).resolve().parents[1] / "bench" / "generate_fleet.py"


@cache
def fleet_generator() -> ModuleType:
    """``bench/generate_fleet.py`` (``generate_fleet``, ``FleetShape``), loaded once per process."""
    spec = importlib.util.spec_from_file_location("generate_fleet", _SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_fleet", module)
    spec.loader.exec_module(module)
    return module
