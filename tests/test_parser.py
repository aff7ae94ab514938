"""Parser tables: valid snippets and the AST they must produce, operator precedence, and node spans."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kpl.dsl import ast as A
from kpl.dsl.parser import parse, parse_expression
from kpl.dsl.source import Span

REPO = Path(__file__).resolve().parents[1]
VALID_FILES = sorted([*(REPO / "rules").rglob("*.kpl"), *(REPO / "examples").rglob("*.kpl")])


def V(name: str) -> A.Var:
    return A.Var(name)


def L(value: int | float | str | bool | None) -> A.Literal:
    return A.Literal(value)


def B(op: str, left: A.Expr, right: A.Expr) -> A.Binary:
    return A.Binary(op, left, right)


def path(*names: str) -> A.Expr:
    """``.a.b.c`` from the object root."""
    out: A.Expr = A.Root()
    for name in names:
        out = A.GetField(out, name)
    return out


EXPRESSIONS: list[tuple[str, A.Expr]] = [
    # literals
    ("42", L(42)),
    ("1.5", L(1.5)),
    ('"text"', L("text")),
    ("'single'", L("single")),
    ('"esc\\"aped\\n"', L('esc"aped\n')),
    ("true", L(True)),
    ("false", L(False)),
    ("null", L(None)),
    ("500m", A.Quantity("500m")),
    ("2Gi", A.Quantity("2Gi")),
    ("1e3", A.Quantity("1e3")),
    ("12Zi", A.Quantity("12Zi")),
    ("-3", L(-3)),
    # paths
    (".", A.Root()),
    ("@", A.Current()),
    (".spec.replicas", path("spec", "replicas")),
    ('.["a.b"]', A.GetIndex(A.Root(), L("a.b"))),
    ('.metadata.labels["app"]', A.GetIndex(path("metadata", "labels"), L("app"))),
    (".spec.containers[*].name", A.GetField(A.GetAll(path("spec", "containers")), "name")),
    (".items[? @.ready]", A.GetFiltered(path("items"), A.GetField(A.Current(), "ready"))),
    ('.spec."odd key"', path("spec", "odd key")),
    (".spec.replicas.min", path("spec", "replicas", "min")),
    ("x.policy", A.GetField(V("x"), "policy")),
    ("xs[0]", A.GetIndex(V("xs"), L(0))),
    # arithmetic precedence and associativity
    ("1 + 2 * 3", B("+", L(1), B("*", L(2), L(3)))),
    ("(1 + 2) * 3", B("*", B("+", L(1), L(2)), L(3))),
    ("a - b - c", B("-", B("-", V("a"), V("b")), V("c"))),
    ("a // b % c", B("%", B("//", V("a"), V("b")), V("c"))),
    ("a / b * c", B("*", B("/", V("a"), V("b")), V("c"))),
    ("-x", A.Unary("-", V("x"))),
    ("-x * y", B("*", A.Unary("-", V("x")), V("y"))),
    ("-2 * 3", B("*", L(-2), L(3))),
    # comparison, membership, boolean logic
    ("a + 1 > b", B(">", B("+", V("a"), L(1)), V("b"))),
    ("a == b and c != d", B("and", B("==", V("a"), V("b")), B("!=", V("c"), V("d")))),
    ("a or b and c", B("or", V("a"), B("and", V("b"), V("c")))),
    ("(a or b) and c", B("and", B("or", V("a"), V("b")), V("c"))),
    ("not a and b", B("and", A.Not(V("a")), V("b"))),
    ("not a in b", A.Not(B("in", V("a"), V("b")))),
    ("a not in b", B("not in", V("a"), V("b"))),
    ("a not   in b", B("not in", V("a"), V("b"))),
    ('.status.phase in ["A", "B"]', B("in", path("status", "phase"), A.ListExpr((L("A"), L("B"))))),
    ("a <= b", B("<=", V("a"), V("b"))),
    # coalesce is the loosest binary operator
    ("a ?? b or c", B("??", V("a"), B("or", V("b"), V("c")))),
    ("a ?? b ?? c", B("??", B("??", V("a"), V("b")), V("c"))),
    (".spec.replicas ?? 1 + 1", B("??", path("spec", "replicas"), B("+", L(1), L(1)))),
    # conditionals and let
    ("if a then b else c", A.Conditional(V("a"), V("b"), V("c"))),
    ("if a then 1 else if b then 2 else 3", A.Conditional(V("a"), L(1), A.Conditional(V("b"), L(2), L(3)))),
    ("let n = 2; n * n", A.Let("n", L(2), B("*", V("n"), V("n")))),
    # calls and comprehensions
    ("min(1, 2)", A.Call("min", (L(1), L(2)))),
    ("len([])", A.Call("len", (A.ListExpr(()),))),
    ("f()", A.Call("f", ())),
    ("max(1, 2,)", A.Call("max", (L(1), L(2)))),
    ("sum(c.cpu for c in .spec.containers)",
     A.Call("sum", (A.Comprehension(A.GetField(V("c"), "cpu"), ("c",), path("spec", "containers"), None),))),
    ("[x for x in xs]", A.Comprehension(V("x"), ("x",), V("xs"), None)),
    ("[k for k, v in m if v]", A.Comprehension(V("k"), ("k", "v"), V("m"), V("v"))),
    # lists, maps, spreads, with
    ("[1, ...xs]", A.ListExpr((L(1), A.Spread(V("xs"))))),
    ("{}", A.MapExpr(())),
    ('{a: 1, "b c": 2}', A.MapExpr((A.Pair("a", L(1)), A.Pair("b c", L(2))))),
    ("{...m, (k): v}", A.MapExpr((A.Spread(V("m")), A.Pair(V("k"), V("v"))))),
    ("{replicas: 1, min: 2}", A.MapExpr((A.Pair("replicas", L(1)), A.Pair("min", L(2))))),
    (". with { .spec.replicas: 3 }", A.With(A.Root(), (A.Update(("spec", "replicas"), L(3)),))),
    ('x with { ["a/b"]: null }', A.With(V("x"), (A.Update(("a/b",), L(None)),))),
]


@pytest.mark.parametrize(("text", "expected"), EXPRESSIONS, ids=[t for t, _ in EXPRESSIONS])
def test_expression_ast(text: str, expected: A.Expr) -> None:
    found, diagnostics = parse_expression(text)
    assert diagnostics == []
    assert found == expected


INTERPRETER = """interpreter example.io/v1 Widget {
  let base = .spec.replicas ?? 1
  fn double(x) = x * 2
  replicas = double(base)
  component main {
    replicas = 1
    requirements = { cpu: 500m }
  }
}
"""

POLICY = """cluster policy spread-all {
  select apps/v1 Deployment named web in namespace shop where labels.app == "web"
  priority -5
  preemption always
  clusters where region in ["eu", "us"] and labels["tier"] != "legacy"
  exclude member3, "member-4"
  tolerate dedicated = gpu : NoSchedule for 5m
  tolerate key exists
  tolerate all : NoExecute
  tolerate spot = "true"
  spread by cluster min 1 max 2
  spread by label topology/zone min 2
  replicas divided static { member1: 2, clusters where region == "eu": 1 }
  propagate deps
  scheduler default-scheduler
  conflict overwrite
  suspend dispatching
  failover application {
    purge gracefully
    grace 60s
    decision after 2m
    preserve "example.io/id" = "{ .status.id }"
  }
}
"""

AFFINITY = """policy groups in namespace shop {
  select apps/v1 Deployment
  affinity primary {
    clusters member1
    overflow backup {
      clusters where region == "eu"
      exclude member9
    }
  }
  replicas divided
}
"""

QUOTA = """quota team in namespace team-a {
  overall { cpu = 100, memory = 200Gi, "nvidia.com/gpu" = 4 }
  assign member1 { cpu = 1.5 }
}
"""


def test_interpreter_declaration() -> None:
    result = parse(INTERPRETER)
    assert result.diagnostics == []
    assert result.module.declarations == (
        A.Interpreter("example.io/v1", "Widget", (
            A.LetMember("base", B("??", path("spec", "replicas"), L(1))),
            A.FnMember("double", ("x",), B("*", V("x"), L(2))),
            A.Operation("replicas", A.Call("double", (V("base"),))),
            A.Component("main", (
                A.ComponentField("replicas", L(1)),
                A.ComponentField("requirements", A.MapExpr((A.Pair("cpu", A.Quantity("500m")),))),
            )),
        )),
    )


def test_policy_declaration() -> None:
    result = parse(POLICY)
    assert result.diagnostics == []
    (policy,) = result.module.declarations
    assert isinstance(policy, A.Policy)
    assert (policy.name, policy.namespace, policy.cluster_scoped) == ("spread-all", None, True)
    labels_app = B("==", A.GetField(V("labels"), "app"), L("web"))
    where = B("and", B("in", V("region"), A.ListExpr((L("eu"), L("us")))),
              B("!=", A.GetIndex(V("labels"), L("tier")), L("legacy")))
    assert policy.items == (
        A.ResourceSelector("apps/v1", "Deployment", "web", "shop", labels_app),
        A.Priority(-5),
        A.Preemption("always"),
        A.ClusterSelection((), where),
        A.Exclude(("member3", "member-4")),
        A.Toleration("dedicated", "Equal", "gpu", "NoSchedule", 300),
        A.Toleration("key", "Exists", "", "", None),
        A.Toleration("", "Exists", "", "NoExecute", None),
        A.Toleration("spot", "Equal", "true", "", None),
        A.SpreadConstraint("cluster", None, 1, 2),
        A.SpreadConstraint(None, "topology/zone", 2, None),
        A.ReplicaScheduling("static", (
            A.StaticWeight("member1", None, 2),
            A.StaticWeight(None, B("==", V("region"), L("eu")), 1),
        )),
        A.PropagateDeps(),
        A.SchedulerName("default-scheduler"),
        A.ConflictResolution("overwrite"),
        A.Suspension("dispatching"),
        A.Failover("application", (
            A.PurgeMode("Gracefully"), A.GracePeriod(60), A.DecisionConditions(120),
            A.StatePreservationRule("example.io/id", "{ .status.id }"),
        )),
    )


def test_affinity_groups() -> None:
    result = parse(AFFINITY)
    assert result.diagnostics == []
    (policy,) = result.module.declarations
    assert isinstance(policy, A.Policy)
    assert policy.items[1] == A.Affinity(
        "primary", (A.ClusterSelection(("member1",), None),),
        (A.Overflow("backup", (A.ClusterSelection((), B("==", V("region"), L("eu"))), A.Exclude(("member9",)))),),
    )
    assert policy.items[2] == A.ReplicaScheduling("static", ())


def test_quota_declaration() -> None:
    result = parse(QUOTA)
    assert result.diagnostics == []
    assert result.module.declarations == (
        A.Quota("team", "team-a", (
            A.ResourceLimit("cpu", "100"), A.ResourceLimit("memory", "200Gi"), A.ResourceLimit("nvidia.com/gpu", "4"),
        ), (A.StaticAssignment("member1", (A.ResourceLimit("cpu", "1.5"),)),)),
    )


@pytest.mark.parametrize(("text", "mode"), [
    ("replicas duplicated", "duplicated"), ("replicas aggregated", "aggregated"),
    ("replicas divided dynamic", "dynamic"), ("replicas divided", "static"),
])
def test_replica_modes(text: str, mode: str) -> None:
    result = parse(f"policy p {{\n  select v1 Pod\n  {text}\n}}\n")
    assert result.diagnostics == []
    policy = result.module.declarations[0]
    assert isinstance(policy, A.Policy)
    assert policy.items[1] == A.ReplicaScheduling(mode, ())


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0), ("30s", 30), ("5m", 300), ("2h", 7200)])
def test_durations(text: str, seconds: int) -> None:
    result = parse(f"policy p {{\n  select v1 Pod\n  failover application {{\n    grace {text}\n  }}\n}}\n")
    assert result.diagnostics == []
    policy = result.module.declarations[0]
    assert isinstance(policy, A.Policy) and isinstance(policy.items[1], A.Failover)
    assert policy.items[1].items == (A.GracePeriod(seconds),)


def test_comments_are_kept_with_their_spans() -> None:
    text = "# head\npolicy p { # after brace\n  select v1 Pod # tail\n}\n# end\n"
    result = parse(text)
    assert result.diagnostics == []
    assert [c for _, c in result.module.comments] == ["# head", "# after brace", "# tail", "# end"]
    for span, comment in result.module.comments:
        assert text[span.start : span.end] == comment


def test_layout_does_not_matter() -> None:
    compact = 'policy p in namespace n { select apps/v1 Deployment priority 2 replicas duplicated }'
    spread = "policy p\n  in namespace n\n{\n  select apps/v1\n    Deployment\n  priority 2\n  replicas duplicated\n}\n"
    assert parse(compact).module == parse(spread).module


def test_soft_keywords_are_names() -> None:
    text = "interpreter example.io/v1 Policy {\n  let min = 1\n  replicas = .spec.select.priority ?? min\n}\n"
    result = parse(text)
    assert result.diagnostics == []


# ------------------------------------------------------------------------------------ spans


def text_of(source: str, span: Span) -> str:
    return source[span.start : span.end]


def test_expression_spans() -> None:
    text = "interpreter example.io/v1 Widget {\n  replicas = .spec.replicas + max(1, 2)\n}\n"
    result = parse(text)
    (interpreter,) = result.module.declarations
    assert isinstance(interpreter, A.Interpreter)
    operation = interpreter.members[0]
    assert isinstance(operation, A.Operation)
    assert text_of(text, interpreter.span) == text.rstrip("\n")
    assert text_of(text, operation.span) == "replicas = .spec.replicas + max(1, 2)"
    value = operation.value
    assert isinstance(value, A.Binary)
    assert text_of(text, value.span) == ".spec.replicas + max(1, 2)"
    assert text_of(text, value.left.span) == ".spec.replicas"
    assert text_of(text, value.right.span) == "max(1, 2)"
    assert isinstance(value.right, A.Call)
    assert [text_of(text, a.span) for a in value.right.args] == ["1", "2"]


def test_policy_item_spans() -> None:
    result = parse(POLICY)
    (policy,) = result.module.declarations
    assert isinstance(policy, A.Policy)
    lines = POLICY.splitlines()
    for item, line in zip(policy.items[:15], lines[1:16], strict=True):
        assert text_of(POLICY, item.span) == line.strip()


def test_quota_value_spans() -> None:
    result = parse(QUOTA)
    (quota,) = result.module.declarations
    assert isinstance(quota, A.Quota)
    assert [text_of(QUOTA, limit.value_span) for limit in quota.overall] == ["100", "200Gi", "4"]
    assert [text_of(QUOTA, limit.span) for limit in quota.overall][1] == "memory = 200Gi"


def nodes(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (parent, child) pair of AST nodes below ``node``."""
    if not dataclasses.is_dataclass(node):
        return
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if dataclasses.is_dataclass(child) and hasattr(child, "span"):
                yield node, child
                yield from nodes(child)


@pytest.mark.parametrize("path", VALID_FILES, ids=[p.relative_to(REPO).as_posix() for p in VALID_FILES])
def test_child_spans_lie_inside_their_parents(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    result = parse(text, path.name)
    assert result.diagnostics == []
    for declaration in result.module.declarations:
        assert 0 <= declaration.span.start < declaration.span.end <= len(text)
        for parent, child in nodes(declaration):
            assert child.span.end > child.span.start, (type(child).__name__, child)
            assert parent.span.start <= child.span.start and child.span.end <= parent.span.end, (
                type(parent).__name__, type(child).__name__, text_of(text, parent.span), text_of(text, child.span))


def test_a_lone_dot_does_not_swallow_the_next_keyword() -> None:
    """`where .` ends a line: the next line's `select` starts a new item, it is not the field `.select`."""
    result = parse("policy p {\n  select v1 Pod where .\n  select v1 Pod\n}\n")
    assert result.diagnostics == []
    (policy,) = result.module.declarations
    assert isinstance(policy, A.Policy) and len(policy.items) == 2
