"""The interpreter operations a rule can implement, by Karmada's name and by the kpl members that make them.

Kept apart from :mod:`kpl.engine.interpreter` so that ``kpl check`` can name and suggest operations without
loading the evaluator."""

from __future__ import annotations

__all__ = ["COMPONENT_FIELDS", "MEMBER_OPERATIONS", "OPERATIONS"]

# Karmada operation name -> (kpl members, result key)
OPERATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "InterpretReplica": (("replicas", "requirements"), "replica"),
    "InterpretComponent": (("components",), "components"),
    "ReviseReplica": (("revise",), "revised"),
    "InterpretHealth": (("health",), "healthy"),
    "InterpretDependency": (("dependencies",), "dependencies"),
    "InterpretStatus": (("status",), "status"),
    "AggregateStatus": (("aggregate",), "aggregatedStatus"),
    "Retain": (("retain",), "retained"),
}
MEMBER_OPERATIONS = {member: op for op, (members, _) in OPERATIONS.items() for member in members}
COMPONENT_FIELDS = ("replicas", "requirements", "requests", "node_claim", "priority_class_name", "when")
