"""The kpl abstract syntax tree: frozen, slotted dataclasses with tuple children.

The node classes are made by :func:`kpl.dsl.nodes.frozen_node`, which behaves as
``@dataclass(frozen=True, slots=True)`` but costs a new process far less to create.

Every node carries a ``span`` (offsets into its ``Source``) that equality and hashing ignore, so two
programs that differ only in layout compare equal. Names follow the language and Karmada's API words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpl.dsl.nodes import finish_nodes, frozen_node
from kpl.dsl.source import NO_SPAN, Source, Span

__all__ = [
    "Affinity", "Binary", "Call", "ClusterSelection", "Component", "ComponentField", "Comprehension",
    "Conditional", "ConflictResolution", "Current", "Declaration", "DecisionConditions", "Exclude",
    "Expr", "Failover", "FailoverItem", "FnMember", "GetAll", "GetField", "GetFiltered", "GetIndex",
    "GracePeriod", "Interpreter", "Let", "LetMember", "ListExpr", "Literal", "MapExpr", "Module",
    "Not", "Operation", "Overflow", "Pair", "Policy", "PolicyItem", "Preemption", "Priority",
    "PropagateDeps", "PurgeMode", "Quantity", "Quota", "ReplicaScheduling", "ResourceLimit",
    "ResourceSelector", "Root", "SchedulerName", "Spread", "SpreadConstraint",
    "StatePreservationRule", "StaticAssignment", "StaticWeight", "Suspension", "Toleration", "Unary",
    "Update", "Var", "With",
]


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, hash=False, repr=False, kw_only=True)


# ------------------------------------------------------------------------------------ expressions


@frozen_node
class Literal:
    """An int, float, string, bool or null literal."""

    value: int | float | str | bool | None
    span: Span = _span()


@frozen_node
class Quantity:
    """A Kubernetes quantity literal such as ``500m`` or ``2Gi``, kept as written."""

    text: str
    span: Span = _span()


@frozen_node
class Root:
    """``.``: the operation's object."""

    span: Span = _span()


@frozen_node
class Current:
    """``@``: the element a filter looks at."""

    span: Span = _span()


@frozen_node
class Var:
    name: str
    span: Span = _span()


@frozen_node
class GetField:
    target: Expr
    name: str
    span: Span = _span()


@frozen_node
class GetIndex:
    target: Expr
    index: Expr
    span: Span = _span()


@frozen_node
class GetAll:
    """``x[*]``: every element of a list (or every value of an object)."""

    target: Expr
    span: Span = _span()


@frozen_node
class GetFiltered:
    """``x[? cond]``: the elements for which ``cond`` (with ``@`` bound to the element) holds."""

    target: Expr
    condition: Expr
    span: Span = _span()


@frozen_node
class Unary:
    op: str  # "-"
    operand: Expr
    span: Span = _span()


@frozen_node
class Not:
    operand: Expr
    span: Span = _span()


@frozen_node
class Binary:
    """Arithmetic, comparison, membership, ``and``, ``or`` and ``??``."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@frozen_node
class Conditional:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


@frozen_node
class Let:
    name: str
    value: Expr
    body: Expr
    span: Span = _span()


@frozen_node
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span = _span()


@frozen_node
class Spread:
    """``...x`` inside a list or object literal."""

    value: Expr
    span: Span = _span()


@frozen_node
class ListExpr:
    items: tuple[Expr | Spread, ...]
    span: Span = _span()


@frozen_node
class Pair:
    """``key: value``; ``key`` is a string, or an expression for ``(expr): value``."""

    key: str | Expr
    value: Expr
    span: Span = _span()


@frozen_node
class MapExpr:
    entries: tuple[Pair | Spread, ...]
    span: Span = _span()


@frozen_node
class Comprehension:
    """``[element for a, b in iterable if condition]`` (also the argument of ``sum(... for ...)``)."""

    element: Expr
    targets: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    span: Span = _span()


@frozen_node
class Update:
    """One ``.a.b: value`` of a ``with`` block; a null value removes the field."""

    path: tuple[str, ...]
    value: Expr
    span: Span = _span()


@frozen_node
class With:
    target: Expr
    updates: tuple[Update, ...]
    span: Span = _span()


Expr = (
    Literal | Quantity | Root | Current | Var | GetField | GetIndex | GetAll | GetFiltered | Unary | Not
    | Binary | Conditional | Let | Call | ListExpr | MapExpr | Comprehension | With
)

# ------------------------------------------------------------------------------------ interpreter rules


@frozen_node
class LetMember:
    name: str
    value: Expr
    span: Span = _span()


@frozen_node
class FnMember:
    name: str
    params: tuple[str, ...]
    body: Expr
    span: Span = _span()


@frozen_node
class Operation:
    """``replicas = expr``: one interpreter operation result (see ``kpl.engine.interpreter``)."""

    name: str
    value: Expr
    span: Span = _span()


@frozen_node
class ComponentField:
    name: str
    value: Expr
    span: Span = _span()


@frozen_node
class Component:
    """``component name { replicas = ..., requirements = ... }`` (InterpretComponent)."""

    name: str
    fields: tuple[ComponentField, ...]
    span: Span = _span()


InterpreterMember = LetMember | FnMember | Operation | Component


@frozen_node
class Interpreter:
    """``interpreter <apiVersion> <Kind> { ... }``: a ResourceInterpreterCustomization."""

    api_version: str
    kind: str
    members: tuple[InterpreterMember, ...]
    span: Span = _span()
    name_span: Span = _span()


# ------------------------------------------------------------------------------------ policies


@frozen_node
class ResourceSelector:
    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    label_selector: Expr | None
    span: Span = _span()


@frozen_node
class Priority:
    value: int
    span: Span = _span()


@frozen_node
class Preemption:
    mode: str  # "Always" | "Never"
    span: Span = _span()


@frozen_node
class ClusterSelection:
    """``clusters a, b`` (clusterNames) or ``clusters where expr`` (label and field selectors)."""

    names: tuple[str, ...]
    where: Expr | None
    span: Span = _span()


@frozen_node
class Exclude:
    names: tuple[str, ...]
    span: Span = _span()


@frozen_node
class Toleration:
    key: str
    operator: str  # "Equal" | "Exists"
    value: str
    effect: str
    toleration_seconds: int | None
    span: Span = _span()


@frozen_node
class SpreadConstraint:
    spread_by_field: str | None
    spread_by_label: str | None
    min_groups: int | None
    max_groups: int | None
    span: Span = _span()


@frozen_node
class StaticWeight:
    cluster: str | None
    where: Expr | None
    weight: int
    span: Span = _span()


@frozen_node
class ReplicaScheduling:
    """``replicas duplicated | aggregated | divided [static {...}] | divided dynamic``."""

    mode: str  # "duplicated" | "aggregated" | "static" | "dynamic"
    static_weights: tuple[StaticWeight, ...]
    span: Span = _span()


@frozen_node
class Overflow:
    name: str
    items: tuple[ClusterSelection | Exclude, ...]
    span: Span = _span()


@frozen_node
class Affinity:
    """One ordered ``clusterAffinities`` term."""

    name: str
    items: tuple[ClusterSelection | Exclude, ...]
    overflow: tuple[Overflow, ...]
    span: Span = _span()


@frozen_node
class PurgeMode:
    mode: str  # "Directly" | "Gracefully" | "Never"
    span: Span = _span()


@frozen_node
class GracePeriod:
    seconds: int
    span: Span = _span()


@frozen_node
class DecisionConditions:
    toleration_seconds: int
    span: Span = _span()


@frozen_node
class StatePreservationRule:
    alias_label_name: str
    json_path: str
    span: Span = _span()


FailoverItem = PurgeMode | GracePeriod | DecisionConditions | StatePreservationRule


@frozen_node
class Failover:
    """``failover cluster {...}`` or ``failover application {...}``."""

    kind: str  # "cluster" | "application"
    items: tuple[FailoverItem, ...]
    span: Span = _span()


@frozen_node
class PropagateDeps:
    span: Span = _span()


@frozen_node
class SchedulerName:
    name: str
    span: Span = _span()


@frozen_node
class ConflictResolution:
    mode: str  # "Abort" | "Overwrite"
    span: Span = _span()


@frozen_node
class Suspension:
    what: str  # "dispatching" | "scheduling"
    span: Span = _span()


PolicyItem = (
    ResourceSelector | Priority | Preemption | ClusterSelection | Exclude | Toleration | SpreadConstraint
    | ReplicaScheduling | Affinity | Failover | PropagateDeps | SchedulerName | ConflictResolution | Suspension
)


@frozen_node
class Policy:
    """``policy`` (PropagationPolicy) or ``cluster policy`` (ClusterPropagationPolicy)."""

    name: str
    namespace: str | None
    cluster_scoped: bool
    items: tuple[PolicyItem, ...]
    span: Span = _span()
    name_span: Span = _span()


# ------------------------------------------------------------------------------------ quotas


@frozen_node
class ResourceLimit:
    resource: str
    value: str
    span: Span = _span()
    value_span: Span = _span()


@frozen_node
class StaticAssignment:
    cluster: str
    limits: tuple[ResourceLimit, ...]
    span: Span = _span()


@frozen_node
class Quota:
    """``quota name in namespace ns { overall {...} assign cluster {...} }``: a FederatedResourceQuota."""

    name: str
    namespace: str
    overall: tuple[ResourceLimit, ...]
    assignments: tuple[StaticAssignment, ...]
    span: Span = _span()
    name_span: Span = _span()


Declaration = Interpreter | Policy | Quota

finish_nodes()


@dataclass(frozen=True)
class Module:
    """One parsed file: its declarations and the comments the formatter keeps."""

    source: Source
    declarations: tuple[Declaration, ...]
    comments: tuple[tuple[Span, str], ...] = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Module) and self.declarations == other.declarations

    def __hash__(self) -> int:
        return hash(self.declarations)
