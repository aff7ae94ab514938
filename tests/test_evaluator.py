"""The expression language: semantics of every operator and form, and totality."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.dsl.parser import parse_expression
from kpl.engine.evaluator import Env, compile_expr
from kpl.engine.quantity import Quantity
from kpl.engine.values import EvalError, to_output

OBJ = {
    "spec": {
        "replicas": 3,
        "containers": [
            {"name": "main", "resources": {"requests": {"cpu": "500m"}}},
            {"name": "side", "resources": {"requests": {"cpu": "250m"}}},
        ],
        "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"},
        "empty": None,
    },
    "metadata": {"name": "x", "labels": {"app": "web"}},
}


def run(text: str, root: Any = OBJ, **names: Any) -> Any:
    expr, problems = parse_expression(text)
    assert not problems, problems
    assert expr is not None
    return compile_expr(expr)(Env(root, dict(names)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (".spec.replicas", 3),
        (".spec.missing", None),
        (".spec.missing.deeper", None),
        (".spec.empty ?? 7", 7),
        (".spec.replicas ?? 7", 3),
        (".spec.containers[0].name", "main"),
        (".spec.containers[-1].name", "side"),
        (".spec.containers[5]", None),
        (".spec.containers[*].name", ["main", "side"]),
        ('.spec.containers[? @.name == "side"][0].name', "side"),
        ('.spec.flinkConfiguration["taskmanager.numberOfTaskSlots"]', "2"),
        ('.metadata.labels["app"]', "web"),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("-3 + 1", -2),
        ('"a" + "b"', "ab"),
        ("[1] + [2]", [1, 2]),
        ("1 < 2 and 2 <= 2", True),
        ("not (1 == 1)", False),
        ("1 == 1.0", True),
        ("true == 1", False),
        ('"RUNNING" in ["RUNNING", "FINISHED"]', True),
        ('"x" not in ["a"]', True),
        ('"ell" in "hello"', True),
        ("null < 1", False),
        ("if .spec.replicas > 2 then \"big\" else \"small\"", "big"),
        ("let x = 2; x * x", 4),
        ("[c.name for c in .spec.containers if c.name != \"main\"]", ["side"]),
        ("[k for k, v in .metadata.labels]", ["app"]),
        ("sum(x for x in [1, 2, 3])", 6),
        ("ceil(.spec.replicas / 2)", 2),
        ('int(.spec.flinkConfiguration["taskmanager.numberOfTaskSlots"])', 2),
        ('number("x")', None),
        ("len(.spec.containers)", 2),
        ("max(1, 5, 3)", 5),
        ("min([4, 2])", 2),
        ('{ a: 1, b: null, "c-d": 2 }', {"a": 1, "c-d": 2}),
        ("{ ...{ a: 1 }, b: 2 }", {"a": 1, "b": 2}),
        ("[1, ...[2, 3]]", [1, 2, 3]),
        ('{ ("k" + "1"): 1 }', {"k1": 1}),
        ("{ a: { b: 1 } } with { .a.c: 2, .d: 3 }", {"a": {"b": 1, "c": 2}, "d": 3}),
        ("{ a: 1, b: 2 } with { .a: null }", {"b": 2}),
        ("exists(.spec.replicas) and not exists(.spec.nothing)", True),
    ],
)
def test_forms(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_names_are_bound() -> None:
    assert run("desired_replicas + 1", desired_replicas=4) == 5


def test_quantities_are_exact_and_print_like_kubernetes() -> None:
    assert str(run("1 + 2Gi - 2Gi + 500m")) == "1500m"
    assert run("quantity(\"1024m\") == 1.024") is True
    assert run("sum(quantity(c.resources.requests.cpu) for c in .spec.containers)") == Quantity.from_json("750m")
    assert to_output({"cpu": run("quantity(\"1.024\")")}) == {"cpu": "1.024"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 / 0", "division by zero"),
        ('1 + "a"', "cannot apply `+` to int and string"),
        ("1 and true", "expected a bool, got int"),
        ('.metadata.name.first', "cannot read field `first` of a string"),
        ("nope(1)", "unknown function `nope`"),
        ("len(1, 2)", "takes 1 arguments"),
        ("undefined_name", "unknown name `undefined_name`"),
        ('1 < "a"', "cannot compare int with string"),
    ],
)
def test_errors_are_values_with_spans(text: str, message: str) -> None:
    with pytest.raises(EvalError) as caught:
        run(text)
    assert message in caught.value.message
    assert caught.value.span is not None


def test_to_output_follows_karmadas_lua_bridge() -> None:
    value = {"a": 2.0, "b": {}, "c": [], "d": {"e": {}}, "f": None, "g": 0.5}
    assert to_output(value) == {"a": 2, "b": {}, "c": [], "d": {"e": {}}, "g": 0.5}
    # One pass, as Karmada: a field is dropped when it was empty, not when it became empty.
    assert to_output(value, drop_empty=True) == {"a": 2, "d": {}, "g": 0.5}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
EXPRESSIONS = [
    ".spec.replicas ?? 1", ".spec.containers[*].name", "[c for c in .spec.containers if c.ready]",
    "sum(x.n ?? 0 for x in .items)", "len(.spec) + 1", ".a.b.c", "if .x then 1 else 2", ". with { .a.b: 1 }",
    "keys(.metadata)", "max(.a, .b)", "int(.spec.replicas)", ".status[? @.type == \"Ready\"]",
]


@settings(max_examples=150, deadline=None)
@given(root=json_values, index=st.integers(0, len(EXPRESSIONS) - 1))
def test_evaluation_is_total(root: Any, index: int) -> None:
    """Any JSON object, any expression: a value or an EvalError, never another exception."""
    with contextlib.suppress(EvalError):
        run(EXPRESSIONS[index], root=root)
