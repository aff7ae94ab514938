"""The kpl abstract syntax tree: frozen, slotted dataclasses with tuple children.

Every node carries a ``span`` (offsets into its ``Source``) that equality and hashing ignore, so two
programs that differ only in layout compare equal. Names follow the language and Karmada's API words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class Literal:
    """An int, float, string, bool or null literal."""

    value: int | float | str | bool | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Quantity:
    """A Kubernetes quantity literal such as ``500m`` or ``2Gi``, kept as written."""

    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Root:
    """``.``: the operation's object."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Current:
    """``@``: the element a filter looks at."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Var:
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GetField:
    target: Expr
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GetIndex:
    target: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GetAll:
    """``x[*]``: every element of a list (or every value of an object)."""

    target: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GetFiltered:
    """``x[? cond]``: the elements for which ``cond`` (with ``@`` bound to the element) holds."""

    target: Expr
    condition: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-"
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic, comparison, membership, ``and``, ``or`` and ``??``."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Conditional:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: Expr
    body: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Spread:
    """``...x`` inside a list or object literal."""

    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr | Spread, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Pair:
    """``key: value``; ``key`` is a string, or an expression for ``(expr): value``."""

    key: str | Expr
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MapExpr:
    entries: tuple[Pair | Spread, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Comprehension:
    """``[element for a, b in iterable if condition]`` (also the argument of ``sum(... for ...)``)."""

    element: Expr
    targets: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Update:
    """One ``.a.b: value`` of a ``with`` block; a null value removes the field."""

    path: tuple[str, ...]
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class With:
    target: Expr
    updates: tuple[Update, ...]
    span: Span = _span()


Expr = (
    Literal | Quantity | Root | Current | Var | GetField | GetIndex | GetAll | GetFiltered | Unary | Not
    | Binary | Conditional | Let | Call | ListExpr | MapExpr | Comprehension | With
)

# ------------------------------------------------------------------------------------ interpreter rules


@dataclass(frozen=True, slots=True)
class LetMember:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class FnMember:
    name: str
    params: tuple[str, ...]
    body: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Operation:
    """``replicas = expr``: one interpreter operation result (see ``kpl.engine.interpreter``)."""

    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ComponentField:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Component:
    """``component name { replicas = ..., requirements = ... }`` (InterpretComponent)."""

    name: str
    fields: tuple[ComponentField, ...]
    span: Span = _span()


InterpreterMember = LetMember | FnMember | Operation | Component


@dataclass(frozen=True, slots=True)
class Interpreter:
    """``interpreter <apiVersion> <Kind> { ... }``: a ResourceInterpreterCustomization."""

    api_version: str
    kind: str
    members: tuple[InterpreterMember, ...]
    span: Span = _span()
    name_span: Span = _span()


# ------------------------------------------------------------------------------------ policies


@dataclass(frozen=True, slots=True)
class ResourceSelector:
    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    label_selector: Expr | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Priority:
    value: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Preemption:
    mode: str  # "Always" | "Never"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ClusterSelection:
    """``clusters a, b`` (clusterNames) or ``clusters where expr`` (label and field selectors)."""

    names: tuple[str, ...]
    where: Expr | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Exclude:
    names: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str  # "Equal" | "Exists"
    value: str
    effect: str
    toleration_seconds: int | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    spread_by_field: str | None
    spread_by_label: str | None
    min_groups: int | None
    max_groups: int | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class StaticWeight:
    cluster: str | None
    where: Expr | None
    weight: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ReplicaScheduling:
    """``replicas duplicated | aggregated | divided [static {...}] | divided dynamic``."""

    mode: str  # "duplicated" | "aggregated" | "static" | "dynamic"
    static_weights: tuple[StaticWeight, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Overflow:
    name: str
    items: tuple[ClusterSelection | Exclude, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Affinity:
    """One ordered ``clusterAffinities`` term."""

    name: str
    items: tuple[ClusterSelection | Exclude, ...]
    overflow: tuple[Overflow, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PurgeMode:
    mode: str  # "Directly" | "Gracefully" | "Never"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GracePeriod:
    seconds: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DecisionConditions:
    toleration_seconds: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class StatePreservationRule:
    alias_label_name: str
    json_path: str
    span: Span = _span()


FailoverItem = PurgeMode | GracePeriod | DecisionConditions | StatePreservationRule


@dataclass(frozen=True, slots=True)
class Failover:
    """``failover cluster {...}`` or ``failover application {...}``."""

    kind: str  # "cluster" | "application"
    items: tuple[FailoverItem, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PropagateDeps:
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SchedulerName:
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ConflictResolution:
    mode: str  # "Abort" | "Overwrite"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Suspension:
    what: str  # "dispatching" | "scheduling"
    span: Span = _span()


PolicyItem = (
    ResourceSelector | Priority | Preemption | ClusterSelection | Exclude | Toleration | SpreadConstraint
    | ReplicaScheduling | Affinity | Failover | PropagateDeps | SchedulerName | ConflictResolution | Suspension
)


@dataclass(frozen=True, slots=True)
class Policy:
    """``policy`` (PropagationPolicy) or ``cluster policy`` (ClusterPropagationPolicy)."""

    name: str
    namespace: str | None
    cluster_scoped: bool
    items: tuple[PolicyItem, ...]
    span: Span = _span()
    name_span: Span = _span()


# ------------------------------------------------------------------------------------ quotas


@dataclass(frozen=True, slots=True)
class ResourceLimit:
    resource: str
    value: str
    span: Span = _span()
    value_span: Span = _span()


@dataclass(frozen=True, slots=True)
class StaticAssignment:
    cluster: str
    limits: tuple[ResourceLimit, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Quota:
    """``quota name in namespace ns { overall {...} assign cluster {...} }``: a FederatedResourceQuota."""

    name: str
    namespace: str
    overall: tuple[ResourceLimit, ...]
    assignments: tuple[StaticAssignment, ...]
    span: Span = _span()
    name_span: Span = _span()


Declaration = Interpreter | Policy | Quota


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
