"""Taints and tolerations: which cluster taint a placement's ``clusterTolerations`` leave untolerated.

Matching follows Kubernetes' toleration rules with the numeric comparison operators disabled, as
Karmada's scheduler calls them: ``Lt``/``Gt`` tolerations never match, nor does any unknown operator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpl.engine.scheduler.affinity import Taint

__all__ = [
    "SCHEDULING_EFFECTS",
    "Toleration",
    "first_untolerated_taint",
    "parse_tolerations",
    "tolerates",
]

SCHEDULING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
"""Taint effects the scheduler's filter checks; ``PreferNoSchedule`` is ignored."""


@dataclass(frozen=True, slots=True)
class Toleration:
    """A placement ``clusterTolerations[]`` entry (``tolerationSeconds`` plays no part in filtering)."""

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Toleration:
        return cls(
            key=raw.get("key") or "",
            operator=raw.get("operator") or "",
            value=raw.get("value") or "",
            effect=raw.get("effect") or "",
        )

    def tolerates(self, taint: Taint) -> bool:
        """Whether this toleration tolerates ``taint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == taint.value
        return self.operator == "Exists"


def parse_tolerations(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Toleration, ...]:
    """The tolerations of a placement (``None`` means none)."""
    return tuple(Toleration.from_mapping(entry) for entry in raw or ())


def tolerates(tolerations: Sequence[Toleration], taint: Taint) -> bool:
    """Whether any toleration tolerates ``taint``."""
    return any(toleration.tolerates(taint) for toleration in tolerations)


def first_untolerated_taint(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> Taint | None:
    """The first NoSchedule/NoExecute taint, in the cluster's order, that no toleration tolerates."""
    for taint in taints:
        if taint.effect in SCHEDULING_EFFECTS and not tolerates(tolerations, taint):
            return taint
    return None
