"""The registry of vector operations.

A vector file (``vectors/*.yaml``) lists cases, each naming an ``op``. Every op is answered by one
function registered here with :func:`vector_op`. The function receives the case's ``input`` and
``expected`` mappings and returns ``None`` when the case passes, or a short message that says what
differed. An exception escaping it counts the case as errored, never as passed.

Op modules are the ``ops_*.py`` modules of this package; :func:`load_ops` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["VectorOp", "known_ops", "load_ops", "lookup", "vector_op"]

VectorOp = Callable[[Mapping[str, Any], Any], "str | None"]

_OPS: dict[str, VectorOp] = {}


def vector_op(name: str) -> Callable[[VectorOp], VectorOp]:
    """Register ``fn`` as the answer to vector op ``name``."""

    def register(fn: VectorOp) -> VectorOp:
        if name in _OPS and _OPS[name] is not fn:
            raise RuntimeError(f"vector op {name!r} registered twice")
        _OPS[name] = fn
        return fn

    return register


def load_ops() -> None:
    """Import every ``ops_*`` module of this package so that its ops register."""
    package = importlib.import_module(__package__ or "kpl.engine.conformance")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("ops_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def lookup(name: str) -> VectorOp | None:
    load_ops()
    return _OPS.get(name)


def known_ops() -> list[str]:
    load_ops()
    return sorted(_OPS)
