"""The built-in interpreter rules, one ``.kpl`` file per kind: ``<group>/<version>/<Kind>.kpl``.

The core group uses ``core`` as its folder name (``core/v1/Pod.kpl``).
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["builtin_kinds", "rule_files", "rules_root"]


def rules_root() -> Path:
    """The folder that holds the built-in rule files (installed with the package)."""
    return Path(__file__).parent


def rule_files() -> list[Path]:
    """Every built-in rule file, in a stable order."""
    return sorted(rules_root().rglob("*.kpl"))


@functools.lru_cache(maxsize=1)
def builtin_kinds() -> dict[tuple[str, str], Path]:
    """``(apiVersion, kind)`` of every built-in rule, read from the file layout (no parsing)."""
    kinds: dict[tuple[str, str], Path] = {}
    root = rules_root()
    for path in rule_files():
        group, version = path.relative_to(root).parts[:2]
        api_version = version if group == "core" else f"{group}/{version}"
        kinds[(api_version, path.stem)] = path
    return kinds
