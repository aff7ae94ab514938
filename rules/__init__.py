"""The built-in interpreter rules, one ``.kpl`` file per kind: ``<group>/<version>/<Kind>.kpl``.

The core group uses ``core`` as its folder name (``core/v1/Pod.kpl``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["rule_files", "rules_root"]


def rules_root() -> Path:
    """The folder that holds the built-in rule files."""
    return Path(str(resources.files(__name__)))


def rule_files() -> list[Path]:
    """Every built-in rule file, in a stable order."""
    return sorted(rules_root().rglob("*.kpl"))
