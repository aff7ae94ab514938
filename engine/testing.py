"""``kpl test``: run a project's own test files against its rules and policies, with rule coverage.

A test file is YAML. Each document is one of:

* a **kpl test suite**, a mapping with ``tests`` and optionally ``rules`` (kpl files or folders),
  ``policies`` (kpl files, PropagationPolicy YAML or folders), ``snapshot`` (fleet snapshot paths),
  ``objects`` (inline Kubernetes objects added to the snapshot) and ``featureGates``; paths are relative
  to the test file. A test is an **interpreter case** (``operation``, ``desiredObj``/``desired``,
  ``observedObj``/``observed``, ``statusItems``, ``inputReplicas``/``desiredReplicas``, expected
  ``output``) or a **placement case** (``binding: namespace/name`` or ``resource``, and ``expect`` with
  ``clusters``, ``replicas``, ``policy``, ``error`` or ``unmatched``);
* a **Karmada interpreter test case**, exactly as in Karmada's third-party test data (``operation``,
  ``desiredObj``/``observedObj``, ``output``), answered with the ``--rules`` given and the built-in rules.

A case that matches nothing (no rule for its kind, no such binding, no expectation) fails; so does a
file without cases. Interpreter outputs are judged as Karmada's harness judges them
(:func:`kpl.engine.conformance.runner.compare_output`).

Coverage counts, per interpreter rule, which of its members (``replicas``, ``health``, each ``component``
block, ...) some case evaluated: every user rule is listed, built-in rules when exercised.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kpl.dsl import ast
from kpl.dsl.diagnostics import render_diagnostic
from kpl.dsl.source import Source
from kpl.engine.conformance.runner import compare_output
from kpl.engine.features import FeatureGateError, FeatureGates
from kpl.engine.interpreter import OPERATIONS, CompiledInterpreter, InterpretError
from kpl.engine.library import Library, builtin_library, library_with
from kpl.engine.project import load_project
from kpl.engine.report import BindingReport, PlacementReport, ResourceRef

__all__ = [
    "CaseOutcome",
    "Coverage",
    "CoverageRecorder",
    "RuleCoverage",
    "SuiteResult",
    "collect_test_files",
    "run_tests",
]

SUFFIXES = (".yaml", ".yml")
FILE_CASE = "(file)"
RuleList = list[tuple[ast.Interpreter, Source]]


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One case's result; ``outcome`` is passed, failed or errored; ``line`` is where the case starts."""

    file: str
    case: str
    operation: str
    outcome: str
    message: str = ""
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "case": self.case, "operation": self.operation, "outcome": self.outcome,
                "message": self.message, "line": self.line}


# ------------------------------------------------------------------------------------ coverage


@dataclass(frozen=True, slots=True)
class RuleCoverage:
    """Which members of one interpreter rule were evaluated; ``user`` False for a built-in rule."""

    api_version: str
    kind: str
    origin: str
    user: bool
    members: tuple[str, ...]
    covered: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 if not self.members else 100.0 * len(self.covered) / len(self.members)

    def to_json(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, "origin": self.origin, "user": self.user,
                "members": list(self.members), "covered": list(self.covered),
                "missed": [m for m in self.members if m not in self.covered],
                "percent": round(self.percent, 1)}


@dataclass(frozen=True, slots=True)
class Coverage:
    rules: tuple[RuleCoverage, ...] = ()

    def user_percent(self) -> float | None:
        """Covered members over all members of the user's rules; None when there are no user rules."""
        user = [r for r in self.rules if r.user]
        total = sum(len(r.members) for r in user)
        if not user:
            return None
        return 100.0 if total == 0 else 100.0 * sum(len(r.covered) for r in user) / total

    def to_json(self) -> dict[str, Any]:
        percent = self.user_percent()
        return {"user": None if percent is None else round(percent, 1),
                "rules": [r.to_json() for r in self.rules]}


def rule_members(rule: CompiledInterpreter) -> tuple[str, ...]:
    """The coverable members of a rule: its operation members and each ``component`` block."""
    return (*rule.members, *(f"component {c.name}" for c in rule.components))


def _evaluated(rule: CompiledInterpreter, operation: str) -> list[str]:
    names = [m for m in OPERATIONS.get(operation, ((), ""))[0] if m in rule.members]
    if operation == "InterpretComponent" and "components" not in rule.members:
        names.extend(f"component {c.name}" for c in rule.components)
    return names


class CoverageRecorder:
    """Collects evaluated members per rule while tests run; :meth:`wrap` makes a library that records."""

    def __init__(self) -> None:
        self._rules: dict[tuple[str, str, str], tuple[bool, tuple[str, ...]]] = {}
        self._covered: dict[tuple[str, str, str], set[str]] = {}

    def register(self, rule: CompiledInterpreter, origin: str, user: bool) -> tuple[str, str, str]:
        key = (origin, rule.api_version, rule.kind)
        if key not in self._rules:
            self._rules[key] = (user, rule_members(rule))
            self._covered[key] = set()
        return key

    def record(self, key: tuple[str, str, str], rule: CompiledInterpreter, operation: str) -> None:
        self._covered[key].update(_evaluated(rule, operation))

    def wrap(self, library: Library) -> Library:
        """The same rules, each recording what it evaluates; user rules are registered up front.

        Built-in rules stay lazy: one is compiled (and wrapped) only when a case asks for its kind.
        """
        for gvk in user_kinds(library):
            self.register(library.rules[gvk], library.origin.get(gvk, ""), True)
        return Library(_TrackedRules(library, self), library.origin, library.diagnostics)

    def coverage(self) -> Coverage:
        found = []
        for key, (user, members) in sorted(self._rules.items()):
            covered = self._covered[key]
            if user or covered:
                origin, api_version, kind = key
                found.append(RuleCoverage(api_version, kind, origin, user, members,
                                          tuple(m for m in members if m in covered)))
        return Coverage(tuple(found))


def user_kinds(library: Library) -> list[tuple[str, str]]:
    """The kinds whose rule is not the built-in one (told apart by origin, so nothing is compiled)."""
    builtin = builtin_library().origin
    return [gvk for gvk, origin in library.origin.items() if builtin.get(gvk) != origin]


class _TrackedRules(Mapping[tuple[str, str], CompiledInterpreter]):
    """A library's rules, each wrapped on first use so that its runs are recorded."""

    def __init__(self, library: Library, recorder: CoverageRecorder) -> None:
        self._library = library
        self._recorder = recorder
        self._user = set(user_kinds(library))
        self._wrapped: dict[tuple[str, str], CompiledInterpreter] = {}

    def __getitem__(self, gvk: tuple[str, str]) -> CompiledInterpreter:
        if gvk not in self._wrapped:
            rule = self._library.rules[gvk]
            key = self._recorder.register(rule, self._library.origin.get(gvk, ""), gvk in self._user)
            self._wrapped[gvk] = _TrackedInterpreter(rule, key, self._recorder)
        return self._wrapped[gvk]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._library.rules)

    def __len__(self) -> int:
        return len(self._library.rules)


class _TrackedInterpreter(CompiledInterpreter):
    """A compiled rule that tells a recorder which members each run evaluates."""

    def __init__(self, rule: CompiledInterpreter, key: tuple[str, str, str],
                 recorder: CoverageRecorder) -> None:
        super().__init__(rule.api_version, rule.kind, rule.node, rule.members, rule.lets, rule.functions,
                         rule.components, rule.source)
        self._key = key
        self._recorder = recorder
        self._rule = rule

    def run(self, operation: str, *, desired: Any = None, observed: Any = None, status_items: Any = None,
            desired_replicas: int | None = None, gates: Mapping[str, bool] | FeatureGates | None = None,
            ) -> dict[str, Any]:
        if self.implements(operation):
            self._recorder.record(self._key, self._rule, operation)
        return super().run(operation, desired=desired, observed=observed, status_items=status_items,
                           desired_replicas=desired_replicas, gates=gates)


# ------------------------------------------------------------------------------------ reading test files


@dataclass(frozen=True, slots=True)
class _Document:
    data: Any
    line: int
    case_lines: tuple[int, ...] = ()


class TestFileError(Exception):
    """A test file cannot be read or is not YAML (a usage error)."""

    __test__ = False


def collect_test_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Test files under ``paths`` (folders walked for ``.yaml``/``.yml``), and the paths that do not exist."""
    found: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(folder) / n for n in sorted(files) if n.endswith(SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(path)
    return list(dict.fromkeys(found)), missing


def _case_lines(node: yaml.Node) -> tuple[int, ...]:
    if not isinstance(node, yaml.MappingNode):
        return ()
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "tests" and isinstance(value, yaml.SequenceNode):
            return tuple(item.start_mark.line + 1 for item in value.value)
    return ()


def read_documents(path: Path) -> list[_Document]:
    """Every YAML document of a file with the line it starts on (and each test's line in a suite)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TestFileError(f"cannot read `{path.as_posix()}`: {error}") from None
    loader = yaml.SafeLoader(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            documents.append(_Document(loader.construct_document(node), line, _case_lines(node)))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path.as_posix()}:{mark.line + 1}:{mark.column + 1}" if mark else path.as_posix()
        raise TestFileError(f"{where}: invalid YAML: {getattr(error, 'problem', None) or error}") from None
    finally:
        loader.dispose()
    return [d for d in documents if d.data is not None]


# ------------------------------------------------------------------------------------ running


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """Everything ``kpl test`` found: case outcomes, rule coverage, and whether a file could not be read."""

    results: tuple[CaseOutcome, ...]
    coverage: Coverage
    io_failed: bool = False

    @property
    def ok(self) -> bool:
        return not self.io_failed and all(r.outcome == "passed" for r in self.results)

    def counts(self) -> dict[str, int]:
        outcomes = [r.outcome for r in self.results]
        return {"total": len(outcomes), **{o: outcomes.count(o) for o in ("passed", "failed", "errored")}}

    def to_json(self) -> dict[str, Any]:
        return {**self.counts(), "cases": [r.to_json() for r in self.results],
                "coverage": self.coverage.to_json()}


@dataclass
class _Context:
    recorder: CoverageRecorder
    base_rules: RuleList
    results: list[CaseOutcome] = field(default_factory=list)
    io_failed: bool = False


def run_tests(paths: Sequence[Path], rule_paths: Sequence[Path] = ()) -> SuiteResult:
    """Run every test file under ``paths`` with the user's rules from ``rule_paths``."""
    ctx = _Context(CoverageRecorder(), [])
    if rule_paths:
        rules, problem, io_failed = _load_rules(rule_paths)
        ctx.io_failed |= io_failed
        if problem is not None:
            ctx.results.append(problem)
        ctx.base_rules = rules
        ctx.recorder.wrap(library_with(rules))
    files, missing = collect_test_files(paths)
    for path in missing:
        ctx.io_failed = True
        ctx.results.append(CaseOutcome(path.as_posix(), FILE_CASE, "", "errored",
                                       "no such file or directory"))
    for path in files:
        _run_file(ctx, path)
    return SuiteResult(tuple(ctx.results), ctx.recorder.coverage(), ctx.io_failed)


def _load_rules(paths: Sequence[Path]) -> tuple[RuleList, CaseOutcome | None, bool]:
    """The interpreter blocks in ``paths``, the first error as a failed case, and whether reading failed."""
    project = load_project(paths)
    errors = [d for d in project.diagnostics if d.is_error]
    rules = [(d, s) for d, s in project.declarations() if isinstance(d, ast.Interpreter)]
    if not errors:
        return rules, None, project.io_failed
    message = render_diagnostic(errors[0])
    if len(errors) > 1:
        message += f"\n(and {len(errors) - 1} more error(s); run `kpl check`)"
    name, line, _ = errors[0].location()
    where = name if errors[0].source is not None else "(rules)"
    problem = CaseOutcome(where, "(rules)", "", "errored", message, line)
    return rules, problem, project.io_failed


def _run_file(ctx: _Context, path: Path) -> None:
    name = path.as_posix()
    try:
        documents = read_documents(path)
    except TestFileError as error:
        ctx.io_failed = True
        ctx.results.append(CaseOutcome(name, FILE_CASE, "", "errored", str(error)))
        return
    before = len(ctx.results)
    for index, document in enumerate(documents, 1):
        if isinstance(document.data, Mapping) and "tests" in document.data:
            _run_suite(ctx, path, document)
        elif isinstance(document.data, Mapping) and "operation" in document.data:
            library = ctx.recorder.wrap(library_with(ctx.base_rules))
            ctx.results.append(_interpret_case(name, document.data, library, FeatureGates(), document.line))
        else:
            ctx.results.append(CaseOutcome(name, f"document {index}", "", "failed",
                                           "matches nothing: a document needs `tests` (a kpl test suite) "
                                           "or `operation` (a Karmada interpreter test case)", document.line))
    if len(ctx.results) == before:
        ctx.results.append(CaseOutcome(name, FILE_CASE, "", "failed", "the file has no test cases"))


def _paths(spec: Mapping[str, Any], key: str, folder: Path) -> list[Path]:
    value = spec.get(key) or []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"`{key}` must be a path or a list of paths")
    return [folder / item for item in items]


SUITE_KEYS = frozenset({"tests", "rules", "policies", "snapshot", "objects", "featureGates", "name",
                        "description"})


def _run_suite(ctx: _Context, path: Path, document: _Document) -> None:
    name, spec = path.as_posix(), document.data
    try:
        problem = _suite_problem(spec)
        gates = FeatureGates.from_mapping(spec.get("featureGates"))
        rule_paths = _paths(spec, "rules", path.parent)
        policies, snapshots = _paths(spec, "policies", path.parent), _paths(spec, "snapshot", path.parent)
    except (ValueError, FeatureGateError) as error:
        problem = str(error)
    if problem:
        ctx.results.append(CaseOutcome(name, FILE_CASE, "", "failed", problem, document.line))
        return
    rules, rule_problem, io_failed = _load_rules(rule_paths) if rule_paths else ([], None, False)
    ctx.io_failed |= io_failed
    if rule_problem is not None:
        ctx.results.append(rule_problem)
        return
    user_rules = [*ctx.base_rules, *rules]
    library = ctx.recorder.wrap(library_with(user_rules))
    placement = _Placement(policies, snapshots, spec.get("objects") or [], gates, user_rules, ctx.recorder)
    lines = document.case_lines
    for index, case in enumerate(spec["tests"]):
        line = lines[index] if index < len(lines) else document.line
        ctx.results.append(_suite_case(name, index, case, library, gates, placement, line))
    ctx.io_failed |= placement.io_failed


def _suite_problem(spec: Mapping[str, Any]) -> str:
    unknown = sorted(str(k) for k in spec if k not in SUITE_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(f'`{k}`' for k in unknown)} in the test suite"
    if not isinstance(spec.get("tests"), list) or not spec["tests"]:
        return "`tests` must be a non-empty list of cases"
    if not isinstance(spec.get("objects") or [], list):
        return "`objects` must be a list of Kubernetes objects"
    return ""


def _suite_case(name: str, index: int, case: Any, library: Library, gates: FeatureGates,
                placement: _Placement, line: int) -> CaseOutcome:
    label = str(case.get("name", f"test {index + 1}")) if isinstance(case, Mapping) else f"test {index + 1}"
    if isinstance(case, Mapping) and "operation" in case:
        return _interpret_case(name, case, library, gates, line)
    if isinstance(case, Mapping) and ("binding" in case or "resource" in case):
        return placement.run(name, label, case, line)
    return CaseOutcome(name, label, "", "failed",
                       "matches nothing: a case needs `operation` (interpreter) or `binding`/`resource` "
                       "(placement)", line)


# ------------------------------------------------------------------------------------ interpreter cases

INTERPRET_KEYS = frozenset({"name", "description", "operation", "desiredObj", "desired", "observedObj",
                            "observed", "statusItems", "inputReplicas", "desiredReplicas", "output",
                            "featureGates"})


def _pick(case: Mapping[str, Any], *keys: str) -> Any:
    return next((case[k] for k in keys if case.get(k) is not None), None)


def _interpret_case(name: str, case: Mapping[str, Any], library: Library, gates: FeatureGates,
                    line: int) -> CaseOutcome:
    label, operation = str(case.get("name", "?")), str(case.get("operation"))

    def result(outcome: str, message: str = "") -> CaseOutcome:
        return CaseOutcome(name, label, operation, outcome, message, line)

    problem = _interpret_problem(case, operation)
    if problem:
        return result("failed", problem)
    desired, observed = _pick(case, "desiredObj", "desired"), _pick(case, "observedObj", "observed")
    obj = desired if isinstance(desired, Mapping) else observed
    rule = library.get(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if rule is None or not rule.implements(operation):
        what = f"{obj.get('apiVersion')} {obj.get('kind')}"
        return result("failed", f"matches nothing: no rule implements {operation} for {what}")
    if operation not in ("AggregateStatus", "Retain") and (desired is None) != (observed is None):
        desired = observed = desired if desired is not None else observed
    try:
        case_gates = _case_gates(gates, case.get("featureGates"))
        produced = rule.run(operation, desired=desired, observed=observed,
                            status_items=case.get("statusItems"),
                            desired_replicas=_pick(case, "inputReplicas", "desiredReplicas"),
                            gates=case_gates)
    except InterpretError as error:
        return result("errored", error.describe())
    except FeatureGateError as error:
        return result("failed", str(error))
    message = compare_output(produced, case.get("output") or {})
    return result("failed" if message else "passed", message or "")


def _case_gates(gates: FeatureGates, value: Any) -> FeatureGates:
    if value is None:
        return gates
    if not isinstance(value, Mapping):
        raise FeatureGateError("`featureGates` must map gate names to true or false")
    return FeatureGates.from_mapping({**dict(gates.overrides), **value})


def _interpret_problem(case: Mapping[str, Any], operation: str) -> str:
    if operation not in OPERATIONS:
        return f"unknown operation `{operation}` (one of {', '.join(OPERATIONS)})"
    unknown = sorted(str(k) for k in case if k not in INTERPRET_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(f'`{k}`' for k in unknown)} in the case"
    desired, observed = _pick(case, "desiredObj", "desired"), _pick(case, "observedObj", "observed")
    if not isinstance(desired, Mapping) and not isinstance(observed, Mapping):
        return "the case needs an object: `desiredObj` or `observedObj`"
    if not isinstance(case.get("output"), Mapping):
        return ("the case expects nothing: give `output` (replica, healthy, status, ...; `{}` checks only "
                "that the operation succeeds)")
    return ""


# ------------------------------------------------------------------------------------ placement cases

PLACEMENT_KEYS = frozenset({"name", "description", "binding", "resource", "expect"})
EXPECT_KEYS = frozenset({"clusters", "replicas", "policy", "error", "unmatched"})
_BUCKETS = {"Cluster": "clusters", "ResourceBinding": "bindings", "ClusterResourceBinding": "bindings",
            "PropagationPolicy": "policies", "ClusterPropagationPolicy": "policies"}


class _Placement:
    """A suite's plan, computed on first use: the snapshot, inline objects, policies and the suite's rules."""

    def __init__(self, policies: list[Path], snapshots: list[Path], objects: list[Any], gates: FeatureGates,
                 rules: RuleList, recorder: CoverageRecorder) -> None:
        self._args = (policies, snapshots, objects, gates, rules, recorder)
        self._report: PlacementReport | None = None
        self._problem = ""
        self.io_failed = False

    def report(self) -> PlacementReport | str:
        if self._report is None and not self._problem:
            try:
                self._report = self._compute()
            except ValueError as error:
                self._problem = str(error)
        return self._report if self._report is not None else self._problem

    def _compute(self) -> PlacementReport:
        from kpl.engine.plan import Plan, load_plan_inputs

        policies, snapshots, objects, gates, rules, recorder = self._args
        if not snapshots and not objects:
            raise ValueError("a placement case needs `snapshot` or `objects` in its suite")
        loaded = load_plan_inputs(policies, snapshots, gates)
        errors = [d for d in loaded.diagnostics if d.is_error]
        self.io_failed = loaded.io_failed
        if errors:
            raise ValueError(f"the suite's inputs have errors:\n{render_diagnostic(errors[0])}")
        inline = _sort_objects(objects)
        inputs = loaded.inputs
        library = recorder.wrap(_layer(library_with(rules), inputs.library))
        inputs = dataclasses.replace(
            inputs, clusters=(*inputs.clusters, *inline["clusters"]),
            workloads=(*inputs.workloads, *inline["workloads"]),
            policies=(*inputs.policies, *inline["policies"]),
            bindings=(*inputs.bindings, *inline["bindings"]),
            library=library, from_policies=inputs.from_policies or bool(inline["policies"]),
        )
        return Plan.compile(inputs).evaluate()

    def run(self, file: str, label: str, case: Mapping[str, Any], line: int) -> CaseOutcome:
        def result(outcome: str, message: str = "") -> CaseOutcome:
            return CaseOutcome(file, label, "Placement", outcome, message, line)

        problem = _placement_problem(case)
        if problem:
            return result("failed", problem)
        report = self.report()
        if isinstance(report, str):
            return result("errored", report)
        message = _judge_placement(report, case)
        return result("failed" if message else "passed", message or "")


def _layer(base: Library, top: Library) -> Library:
    """``base`` with the user rules of ``top`` laid over it (built-in rules are not compiled here)."""
    extra = {gvk: top.rules[gvk] for gvk in user_kinds(top)}
    origin = {**base.origin, **{gvk: top.origin[gvk] for gvk in extra}}
    return Library(_Layered(extra, base.rules), origin, base.diagnostics)


class _Layered(Mapping[tuple[str, str], CompiledInterpreter]):
    """``top`` over ``base``, looked up lazily."""

    def __init__(self, top: Mapping[tuple[str, str], CompiledInterpreter],
                 base: Mapping[tuple[str, str], CompiledInterpreter]) -> None:
        self._top, self._base = top, base

    def __getitem__(self, gvk: tuple[str, str]) -> CompiledInterpreter:
        return self._top[gvk] if gvk in self._top else self._base[gvk]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(sorted(set(self._top) | set(self._base)))

    def __len__(self) -> int:
        return len(set(self._top) | set(self._base))


def _sort_objects(objects: list[Any]) -> dict[str, list[Mapping[str, Any]]]:
    buckets: dict[str, list[Mapping[str, Any]]] = {k: [] for k in ("clusters", "bindings", "policies",
                                                                     "workloads")}
    for index, obj in enumerate(objects, 1):
        meta = obj.get("metadata") if isinstance(obj, Mapping) else None
        named = isinstance(meta, Mapping) and isinstance(meta.get("name"), str)
        if not isinstance(obj, Mapping) or not isinstance(obj.get("kind"), str) or not named:
            raise ValueError(f"object {index} of `objects` needs `kind` and `metadata.name`")
        if obj["kind"] != "FederatedResourceQuota":
            buckets[_BUCKETS.get(obj["kind"], "workloads")].append(obj)
    return buckets


def _placement_problem(case: Mapping[str, Any]) -> str:
    unknown = sorted(str(k) for k in case if k not in PLACEMENT_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(f'`{k}`' for k in unknown)} in the case"
    expect = case.get("expect")
    if not isinstance(expect, Mapping) or not expect:
        return "the case expects nothing: give `expect` with clusters, replicas, policy, error or unmatched"
    unknown = sorted(str(k) for k in expect if k not in EXPECT_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(f'`{k}`' for k in unknown)} in `expect`"
    return ""


def _resource_matches(want: Any, ref: ResourceRef) -> bool:
    if isinstance(want, str):
        return want == str(ref)
    if isinstance(want, Mapping):
        have = ref.to_json()
        return bool(want) and all(str(have.get(k)) == str(v) for k, v in want.items())
    return False


def _find_binding(report: PlacementReport, case: Mapping[str, Any]) -> BindingReport | None:
    for binding in report.bindings:
        if "binding" in case:
            qualified = f"{binding.namespace}/{binding.name}" if binding.namespace else binding.name
            if str(case["binding"]) == qualified:
                return binding
        elif _resource_matches(case["resource"], binding.resource):
            return binding
    return None


def _judge_placement(report: PlacementReport, case: Mapping[str, Any]) -> str | None:
    expect: Mapping[str, Any] = case["expect"]
    binding = _find_binding(report, case)
    if binding is None:
        wanted = case.get("binding", case.get("resource"))
        unmatched = "resource" in case and any(
            _resource_matches(case["resource"], ref) for ref in report.unmatched)
        if unmatched:
            return None if expect.get("unmatched") is True else f"`{wanted}` matched no policy"
        known = ", ".join(f"{b.namespace}/{b.name}" if b.namespace else b.name for b in report.bindings)
        return f"matches nothing: no binding `{wanted}` in the plan (bindings: {known or 'none'})"
    if expect.get("unmatched") is True:
        return f"expected no policy to match, but binding `{binding.namespace}/{binding.name}` was built"
    for check in (_judge_error, _judge_clusters, _judge_replicas, _judge_policy):
        message = check(binding, expect)
        if message:
            return message
    return None


def _judge_error(binding: BindingReport, expect: Mapping[str, Any]) -> str | None:
    want = expect.get("error")
    if want is None:
        if binding.error is not None:
            return f"scheduling failed: {binding.error.type}: {binding.error.message}"
        return None
    if binding.error is None:
        return f"expected error {want}, but the binding was scheduled"
    kind = want.get("type") if isinstance(want, Mapping) else want
    text = want.get("message") if isinstance(want, Mapping) else None
    if kind is not None and str(kind) != binding.error.type:
        return f"error: expected {kind}, got {binding.error.type}: {binding.error.message}"
    if text is not None and str(text) not in binding.error.message:
        return f"error message: expected it to contain {text!r}, got {binding.error.message!r}"
    return None


def _expected_clusters(value: Any) -> dict[str, int | None]:
    if isinstance(value, Mapping):
        return {str(k): None if v is None else int(v) for k, v in value.items()}
    if isinstance(value, list):
        found: dict[str, int | None] = {}
        for item in value:
            if isinstance(item, Mapping):
                replicas = item.get("replicas")
                found[str(item.get("name"))] = None if replicas is None else int(replicas)
            else:
                found[str(item)] = None
        return found
    raise ValueError("`clusters` must map cluster names to replicas, or list cluster names")


def _clusters_text(clusters: Mapping[str, int | None]) -> str:
    return ", ".join(f"{n}: {r}" if r is not None else n for n, r in sorted(clusters.items())) or "none"


def _judge_clusters(binding: BindingReport, expect: Mapping[str, Any]) -> str | None:
    if "clusters" not in expect or binding.error is not None:
        return None
    try:
        want = _expected_clusters(expect["clusters"])
    except (ValueError, TypeError) as error:
        return str(error)
    targets = binding.clusters if binding.clusters is not None else (binding.previous or ())
    got = {t.name: t.replicas for t in targets}
    same = set(want) == set(got) and all(r is None or got[n] == r for n, r in want.items())
    if same:
        return None
    shown = {n: (got[n] if want.get(n) is not None or n not in want else None) for n in got}
    return f"clusters: expected {_clusters_text(want)}; got {_clusters_text(shown)}"


def _judge_replicas(binding: BindingReport, expect: Mapping[str, Any]) -> str | None:
    if "replicas" not in expect or expect["replicas"] == binding.replicas:
        return None
    return f"replicas: expected {expect['replicas']}, got {binding.replicas}"


def _judge_policy(binding: BindingReport, expect: Mapping[str, Any]) -> str | None:
    if "policy" not in expect:
        return None
    want, policy = expect["policy"], binding.policy
    if policy is None:
        return None if want is None else f"policy: expected {want}, but no policy claims the binding"
    if want in (str(policy), policy.name):
        return None
    return f"policy: expected {want}, got {policy}"
