"""The plan's findings for CI, located where the cause is written.

A binding that cannot be scheduled, a binding write the quota webhook denies and a failover that fails are
findings (diagnostics with ``plan.*`` codes). Each is located at the object a reviewer would change: the
policy's declaration when the policy is written in a ``.kpl`` file (its placement decides), the quota's
declaration for a quota denial, and otherwise the object in the snapshot (or policy) YAML, at the line the
loader recorded for it.

:func:`plan_checks` gives one :class:`PlanCheck` per binding and step (``schedule``, ``failover``), passed or
with its finding, so CI formats can list what passed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.source import Source, Span
from kpl.engine.report import BindingReport, PlacementReport
from kpl.engine.snapshot import SUFFIXES, load_snapshot

if TYPE_CHECKING:
    from kpl.dsl import ast

__all__ = [
    "FINDING_CODES",
    "Locator",
    "PlanCheck",
    "locate_inputs",
    "plan_checks",
    "plan_findings",
]

FINDING_CODES: Mapping[str, str] = {
    "plan.unschedulable": "A binding cannot be scheduled: no cluster fits, or there is not enough capacity.",
    "plan.schedule_error": "Scheduling a binding fails with an error.",
    "plan.interpretation_failed": "The workload's interpretation fails, so no binding can be built.",
    "plan.quota_exceeded": "The quota webhook denies the binding's write; the previous result stays.",
    "plan.failover_failed": "Rescheduling after a cluster failure fails.",
    "plan.eviction_failed": "Evicting a workload from a failed cluster fails and is retried.",
}

Key = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True, slots=True)
class _Place:
    file: str
    line: int
    column: int = 1
    span: Span | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Locator:
    """Where plan inputs are written: YAML objects (file and line) and kpl declarations (source and span)."""

    objects: Mapping[Key, _Place] = field(default_factory=dict)
    declarations: Mapping[Key, _Place] = field(default_factory=dict)

    def find(self, key: Key) -> _Place | None:
        return self.declarations.get(key) or self.objects.get(key)

    def written(self, key: Key) -> bool:
        """Whether ``key`` is declared in a ``.kpl`` file."""
        return key in self.declarations


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _object_places(paths: list[Path]) -> dict[Key, _Place]:
    snapshot, _ = load_snapshot(paths)
    places: dict[Key, _Place] = {}
    buckets = (snapshot.clusters, snapshot.bindings, snapshot.policies, snapshot.quotas, snapshot.workloads)
    for bucket in buckets:
        for obj in bucket:
            origin = snapshot.where(obj)
            if origin is not None:
                meta = _meta(obj)
                kind, namespace = str(obj.get("kind") or ""), str(meta.get("namespace") or "")
                name = str(meta.get("name") or "")
                places.setdefault((kind, namespace, name), _Place(origin[0], origin[1]))
    return places


def _declaration_key(declaration: ast.Declaration) -> Key | None:
    from kpl.dsl import ast

    if isinstance(declaration, ast.Policy):
        if declaration.cluster_scoped:
            return ("ClusterPropagationPolicy", "", declaration.name)
        return ("PropagationPolicy", declaration.namespace or "default", declaration.name)
    if isinstance(declaration, ast.Quota):
        return ("FederatedResourceQuota", declaration.namespace, declaration.name)
    return None


def _heading(name: Span, whole: Span, source: Source) -> Span:
    """The declaration's name when the parser recorded it, else the first line of the declaration."""
    if name.end > name.start:
        return name
    end = source.text.find("\n", whole.start, whole.end)
    return Span(whole.start, whole.end if end < 0 else end)


def _declaration_places(paths: list[Path]) -> dict[Key, _Place]:
    from kpl.engine.project import load_project  # policy files only: a snapshot alone needs no parser

    places: dict[Key, _Place] = {}
    for declaration, source in load_project(paths).declarations():
        key = _declaration_key(declaration)
        if key is not None:
            span = _heading(declaration.name_span, declaration.span, source)
            line, column = source.line_col(span.start)
            places.setdefault(key, _Place(source.name, line, column, span, source))
    return places


def locate_inputs(policy_paths: Iterable[Path], snapshot_paths: Iterable[Path]) -> Locator:
    """Read the inputs again for positions (only CI formats need them; the plan does not keep them)."""
    kpl_paths: list[Path] = []
    yaml_paths: list[Path] = list(snapshot_paths)
    for path in policy_paths:
        if path.is_dir():
            kpl_paths.append(path)
            yaml_paths.append(path)
        else:
            (yaml_paths if path.suffix in SUFFIXES else kpl_paths).append(path)
    return Locator(_object_places(yaml_paths), _declaration_places(kpl_paths) if kpl_paths else {})


# ------------------------------------------------------------------------------------ findings


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """One binding's step: ``finding`` None when it passed; ``file``/``line`` where the binding comes from."""

    subject: str
    step: str
    finding: Diagnostic | None
    file: str
    line: int


def _label(binding: BindingReport) -> str:
    return f"{binding.namespace}/{binding.name}" if binding.namespace else binding.name


def _resource_key(binding: BindingReport) -> Key:
    return (binding.resource.kind, binding.resource.namespace, binding.resource.name)


def _origin(binding: BindingReport, locator: Locator) -> _Place | None:
    """Where the binding's template is written, or the binding itself (when scheduling a snapshot's)."""
    own = (binding.kind, binding.namespace, binding.name)
    return locator.find(_resource_key(binding)) or locator.find(own)


def _policy_place(binding: BindingReport, locator: Locator) -> _Place | None:
    policy = binding.policy
    if policy is None:
        return None
    key = (policy.kind, policy.namespace, policy.name)
    return locator.declarations.get(key)


def _quota_place(report: PlacementReport, label: str, locator: Locator) -> _Place | None:
    for quota in report.quotas:
        if any(decision.binding == label for decision in quota.denied):
            return locator.find(("FederatedResourceQuota", quota.namespace, quota.name))
    return None


def _source(name: str, sources: dict[str, Source]) -> Source:
    if name not in sources:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        sources[name] = Source(name, text)
    return sources[name]


def _diagnostic(code: str, message: str, place: _Place | None, sources: dict[str, Source]) -> Diagnostic:
    if place is None:
        return Diagnostic(code, message, None, None)
    if place.source is not None:
        return Diagnostic(code, message, place.source, place.span)
    source = _source(place.file, sources)
    text = source.text
    start = source.offset(place.line, place.column) if text else 0
    return Diagnostic(code, message, source, Span(start, start + 1) if text else None)


def _schedule_code(binding: BindingReport) -> str:
    assert binding.error is not None
    if binding.trigger == "InterpretationFailed":
        return "plan.interpretation_failed"
    if binding.error.type == "QuotaExceeded":
        return "plan.quota_exceeded"
    unschedulable = binding.error.type in ("FitError", "Unschedulable")
    return "plan.unschedulable" if unschedulable else "plan.schedule_error"


def _cause(report: PlacementReport, binding: BindingReport, code: str, locator: Locator) -> _Place | None:
    """The place to point at: the quota or the kpl policy when they decide, else the template."""
    if code == "plan.quota_exceeded":
        found = _quota_place(report, _label(binding), locator)
    elif code == "plan.interpretation_failed":
        found = None
    else:
        found = _policy_place(binding, locator)
    return found or _origin(binding, locator)


def _subject(binding: BindingReport) -> str:
    return f"{binding.kind} `{_label(binding)}` ({binding.resource})"


def _schedule_finding(report: PlacementReport, binding: BindingReport, locator: Locator,
                      sources: dict[str, Source]) -> Diagnostic | None:
    if binding.error is None:
        return None
    code = _schedule_code(binding)
    message = f"{_subject(binding)}: {binding.error.type}: {binding.error.message}"
    return _diagnostic(code, message, _cause(report, binding, code, locator), sources)


def _failover_findings(report: PlacementReport, locator: Locator,
                       sources: dict[str, Source]) -> dict[str, Diagnostic]:
    by_label = {_label(b): b for b in report.bindings}
    found: dict[str, Diagnostic] = {}
    failed = ", ".join(report.failed_clusters)
    for outcome in report.failovers:
        binding = by_label.get(outcome.binding)
        if outcome.error is not None:
            code = "plan.failover_failed"
            text = f"rescheduling after {failed} failed: {outcome.error.type}: {outcome.error.message}"
        elif outcome.eviction_error:
            code, text = "plan.eviction_failed", f"eviction from {failed} fails: {outcome.eviction_error}"
        else:
            continue
        subject = _subject(binding) if binding is not None else f"`{outcome.binding}`"
        place = None if binding is None else _cause(report, binding, code, locator)
        found[outcome.binding] = _diagnostic(code, f"{subject}: {text}", place, sources)
    return found


def _check(subject: str, step: str, finding: Diagnostic | None, place: _Place | None) -> PlanCheck:
    if finding is not None and finding.source is not None:
        name, line, _ = finding.location()
        return PlanCheck(subject, step, finding, name, line)
    return PlanCheck(subject, step, finding, place.file if place else "", place.line if place else 0)


def plan_checks(report: PlacementReport, locator: Locator) -> list[PlanCheck]:
    """A ``schedule`` check per binding and, with ``--fail``, a ``failover`` check per binding it moves."""
    sources: dict[str, Source] = {}
    checks: list[PlanCheck] = []
    failovers = _failover_findings(report, locator, sources)
    moved = {outcome.binding for outcome in report.failovers}
    for binding in report.bindings:
        label, place = _label(binding), _origin(binding, locator)
        checks.append(_check(label, "schedule", _schedule_finding(report, binding, locator, sources), place))
        if label in moved:
            checks.append(_check(label, "failover", failovers.get(label), place))
    return checks


def plan_findings(report: PlacementReport, locator: Locator) -> list[Diagnostic]:
    """Every finding of the plan, as diagnostics with ``plan.*`` codes (see :data:`FINDING_CODES`)."""
    return [check.finding for check in plan_checks(report, locator) if check.finding is not None]
