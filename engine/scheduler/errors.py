"""Scheduling errors with Karmada's kinds and exact message texts.

``kind`` is the word the binding condition and the vectors use: ``FitError`` (no cluster passed the
filters; condition reason ``NoClusterFit``), ``Unschedulable`` (``UnschedulableError``: not enough
capacity; reason ``Unschedulable``) and ``Error`` for any other failure. Karmada wraps errors on the way
up (``failed to scale up: ...``, ``failed to assign replicas: ...``); :func:`wrap_error` does the same and
keeps the kind, as Go's error unwrapping would still find the original type in the chain.
"""

from __future__ import annotations

__all__ = [
    "ERROR",
    "FIT_ERROR",
    "UNSCHEDULABLE",
    "FitError",
    "SchedulingError",
    "UnschedulableError",
    "wrap_error",
]

FIT_ERROR = "FitError"
UNSCHEDULABLE = "Unschedulable"
ERROR = "Error"


class SchedulingError(Exception):
    """A scheduling step failed; ``message`` is the full text Karmada would report."""

    kind: str = ERROR

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchedulingError) and (self.kind, self.message) == (other.kind, other.message)

    def __hash__(self) -> int:
        return hash((self.kind, self.message))


class FitError(SchedulingError):
    """No cluster passed the filter plugins (condition reason ``NoClusterFit``)."""

    kind = FIT_ERROR


class UnschedulableError(SchedulingError):
    """The candidate clusters do not have enough capacity (condition reason ``Unschedulable``)."""

    kind = UNSCHEDULABLE


def wrap_error(prefix: str, error: SchedulingError) -> SchedulingError:
    """``prefix: message`` with the same class and kind as ``error`` (Go's ``fmt.Errorf("...: %w")``)."""
    wrapped = type(error)(f"{prefix}: {error.message}", kind=error.kind)
    wrapped.__cause__ = error
    return wrapped
