"""Conformance cases kpl deliberately does not answer like Karmada, each with its reason.

Every entry is also listed in ``docs/conformance.md``; the runner counts these as ``excluded``,
never as passed. A key is ``(file suffix, case name)``; the suffix is matched against the end of the
file's path as the runner shows it.
"""

from __future__ import annotations

__all__ = ["EXCLUDED", "excluded_reason"]

EXCLUDED: dict[tuple[str, str], str] = {}


def excluded_reason(file: str, case: str) -> str | None:
    for (suffix, name), reason in EXCLUDED.items():
        if name == case and file.endswith(suffix):
            return reason
    return None
