"""Generated Lua against kpl's own evaluator, in a real Lua 5.1 runtime (lupa).

The runtime is set up like Karmada's Lua VM: ``setmetatable`` and friends refuse to run, and ``require("kube")``
gives a ``kube`` library implemented by calling :mod:`kpl.engine.kube`. Inputs reach Lua the way Karmada's JSON
decoding hands them over, results come back the way its encoder reads tables, and kpl's own results take the
same round trip before the two are compared. Every built-in rule is run on every case of Karmada's interpreter
test data.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.dsl import ast
from kpl.dsl.parser import parse
from kpl.dsl.source import Source
from kpl.engine import kube
from kpl.engine.interpreter import InterpretError
from kpl.engine.library import builtin_library
from kpl.engine.lua import LUA_OPERATIONS, compile_lua, lua_string
from kpl.engine.lua_regex import RegexError, regex_to_lua

lupa = pytest.importorskip("lupa.lua51")

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
INTERPRETER = KARMADA / "interpreter"
EXCLUDE = "{{EXCLUDE}}"
_REFUSED = ("collectgarbage", "dofile", "getfenv", "getmetatable", "load", "loadfile", "loadstring", "rawequal",
            "rawget", "rawset", "setfenv", "setmetatable", "module", "newproxy")


# ------------------------------------------------------------------------------------ Lua <-> Python


def to_lua(runtime: Any, value: Any) -> Any:
    """A JSON value as Karmada's decoder gives it to Lua (null object fields vanish)."""
    if isinstance(value, Mapping):
        table = runtime.table()
        for key, item in value.items():
            if item is not None:
                table[key] = to_lua(runtime, item)
        return table
    if isinstance(value, list):
        table = runtime.table()
        for index, item in enumerate(value, start=1):
            if item is not None:
                table[index] = to_lua(runtime, item)
        return table
    return value


def from_lua(value: Any) -> Any:
    """A Lua value as JSON: a table with a first element is a list, any other table an object."""
    if lupa.lua_type(value) == "table":
        items = dict(value.items())
        if 1 in items:
            size = max(k for k in items if isinstance(k, int))
            return [from_lua(items.get(i)) for i in range(1, size + 1)]
        return {str(k): from_lua(v) for k, v in items.items()}
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _kube_table(runtime: Any) -> Any:
    def wrap(function: Callable[..., Any], tables: int) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            converted = [from_lua(a) if i < tables else a for i, a in enumerate(args)]
            return to_lua(runtime, function(*converted))

        return call

    library = runtime.table()
    library.accuratePodRequirements = wrap(kube.pod_requirements, 1)
    library.getPodDependencies = wrap(kube.pod_dependencies, 1)
    library.resourceAdd = wrap(kube.resource_add, 0)
    library.getResourceQuantity = wrap(kube.get_resource_quantity, 0)
    return library


def new_runtime() -> Any:
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().kpl_loader = runtime.eval("loadstring")
    runtime.globals().package.preload["kube"] = runtime.eval("function(t) return function() return t end end")(
        _kube_table(runtime))
    for name in _REFUSED:
        runtime.execute(f"function {name}() error('call function {name} is not supported') end")
    return runtime


@functools.cache
def _runtime() -> Any:
    return new_runtime()


@functools.lru_cache(maxsize=512)
def _chunk(script: str) -> Any:
    loaded = _runtime().globals().kpl_loader(script)
    assert not isinstance(loaded, tuple), loaded
    return loaded


def run_script(script: str, function: str, *args: Any) -> tuple[Any, ...]:
    """Run ``script`` (afresh, as Karmada does for every call) and call ``function`` with JSON arguments;
    the results as JSON."""
    runtime = _runtime()
    _chunk(script)()
    results = runtime.globals()[function](*(to_lua(runtime, a) for a in args))
    if not isinstance(results, tuple):
        results = (results,)
    return tuple(from_lua(r) for r in results)


def round_trip(value: Any) -> Any:
    return from_lua(to_lua(_runtime(), value))


# ------------------------------------------------------------------------------------ one operation both ways


def _args(operation: str, doc: Mapping[str, Any]) -> list[Any]:
    desired, observed = doc.get("desiredObj"), doc.get("observedObj")
    single = desired if desired is not None else observed
    if operation == "ReviseReplica":
        return [single, doc.get("inputReplicas")]
    if operation == "AggregateStatus":
        return [desired, doc.get("statusItems")]
    if operation == "Retain":
        return [desired, observed]
    return [single]


def _kpl(rule: Any, operation: str, args: list[Any]) -> dict[str, Any]:
    observed_first = operation in ("InterpretHealth", "InterpretStatus")
    kwargs: dict[str, Any] = {"observed": args[0]} if observed_first else {"desired": args[0]}
    if operation == "ReviseReplica":
        kwargs["desired_replicas"] = args[1]
    elif operation == "AggregateStatus":
        kwargs["status_items"] = args[1]
    elif operation == "Retain":
        kwargs["observed"] = args[1]
    result: dict[str, Any] = rule.run(operation, **kwargs)
    return result


_KEYS = {"InterpretComponent": "components", "ReviseReplica": "revised", "InterpretHealth": "healthy",
         "InterpretDependency": "dependencies", "InterpretStatus": "status", "AggregateStatus": "aggregatedStatus",
         "Retain": "retained"}


def _dedupe(items: Any) -> Any:
    keys = ("apiVersion", "kind", "namespace", "name")
    unique: dict[tuple[str, ...], Any] = {}
    for item in items if isinstance(items, list) else []:
        unique.setdefault(tuple(str(item.get(k, "")) for k in keys), item)
    return [unique[k] for k in sorted(unique)]


def _lua(script: str, operation: str, args: list[Any]) -> dict[str, Any]:
    function = LUA_OPERATIONS[operation][1]
    results = run_script(script, function, *args)
    if operation == "InterpretReplica":
        out = {"replica": results[0]}
        if len(results) > 1 and results[1] is not None:
            out["requires"] = results[1]
        return out
    value = results[0]
    if operation == "InterpretDependency":
        value = round_trip(_dedupe(value))
    return {_KEYS[operation]: value}


def _strip(value: Any, expected: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(expected, Mapping):
        return {k: _strip(v, expected.get(k)) for k, v in value.items() if expected.get(k) != EXCLUDE}
    if isinstance(value, list) and isinstance(expected, list) and len(value) == len(expected):
        return [_strip(v, e) for v, e in zip(value, expected, strict=True)]
    return value


def compare_both(rule: Any, script: str, operation: str, args: list[Any], expected: Any = None) -> str | None:
    """None when kpl and the generated Lua agree (both fail, or both give the same JSON)."""
    try:
        mine: Any = round_trip(_kpl(rule, operation, args))
    except InterpretError as error:
        mine = ("error", error.message)
    try:
        theirs: Any = _lua(script, operation, args)
    except lupa.LuaError as error:
        theirs = ("error", str(error).splitlines()[0])
    if isinstance(mine, tuple) or isinstance(theirs, tuple):
        both_failed = isinstance(mine, tuple) and isinstance(theirs, tuple)
        return None if both_failed else f"kpl: {mine!r}; Lua: {theirs!r}"
    if expected is not None:
        mine, theirs = _strip(mine, expected), _strip(theirs, expected)
    return None if mine == theirs else f"kpl: {mine!r}\nLua: {theirs!r}"


# ------------------------------------------------------------------------------------ every conformance case


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if not INTERPRETER.is_dir():
        return found
    for path in sorted(INTERPRETER.rglob("*-test.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                found.append((f"{path.relative_to(INTERPRETER).as_posix()}::{doc.get('name')}", doc))
    return found


DOCUMENTS = _documents()


@functools.cache
def _scripts(api_version: str, kind: str) -> dict[str, str]:
    library = builtin_library()
    rule = library.get(api_version, kind)
    assert rule is not None, f"no built-in rule for {api_version} {kind}"
    source = Source(library.origin[(api_version, kind)], "")
    return compile_lua(rule.node, source).scripts


def test_the_interpreter_data_is_there() -> None:
    if not KARMADA.is_dir():
        pytest.skip("the shared conformance data is not next to the repository")
    assert len(DOCUMENTS) >= 500


@pytest.mark.parametrize("case", [d[1] for d in DOCUMENTS], ids=[d[0] for d in DOCUMENTS])
def test_generated_lua_answers_like_kpl(case: dict[str, Any]) -> None:
    operation = str(case["operation"])
    obj = case.get("desiredObj") or case.get("observedObj") or {}
    rule = builtin_library().get(str(obj.get("apiVersion")), str(obj.get("kind")))
    assert rule is not None
    script = _scripts(rule.api_version, rule.kind)[LUA_OPERATIONS[operation][0]]
    message = compare_both(rule, script, operation, _args(operation, case), case.get("output"))
    assert message is None, message


def test_every_builtin_operation_is_generated_or_reported() -> None:
    library = builtin_library()
    for api_version, kind in library.kinds():
        rule = library.get(api_version, kind)
        assert rule is not None
        compiled = compile_lua(rule.node, Source(library.origin[(api_version, kind)], ""))
        reported = {d.message.split(" ", 1)[0] for d in compiled.diagnostics}
        for operation in rule.operations():
            field, function, _, _ = LUA_OPERATIONS[operation]
            if operation in reported:
                assert field not in compiled.scripts
                continue
            assert f"function {function}(" in compiled.scripts[field], (kind, operation)
            assert "setmetatable" not in compiled.scripts[field]


def test_third_party_rules_generate_without_diagnostics() -> None:
    library = builtin_library()
    for api_version, kind in library.kinds():
        if "." not in api_version.split("/")[0]:
            continue
        rule = library.get(api_version, kind)
        assert rule is not None
        assert not compile_lua(rule.node, Source("rule.kpl", "")).diagnostics, kind


# ------------------------------------------------------------------------------------ expressions, one by one


def _rule(body: str) -> Any:
    from kpl.engine.interpreter import compile_interpreter

    result = parse(f"interpreter example.io/v1 Thing {{\n{body}\n}}\n", "thing.kpl")
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    node = result.module.declarations[0]
    assert isinstance(node, ast.Interpreter)
    return compile_interpreter(node), compile_lua(node, result.module.source)


def _status(expression: str, obj: Any, *, prefix: str = "") -> str | None:
    rule, compiled = _rule(f"{prefix}\nstatus = {{value: {expression}}}")
    assert not compiled.diagnostics, [d.message for d in compiled.diagnostics]
    return compare_both(rule, compiled.scripts["statusReflection"], "InterpretStatus", [obj])


OBJECT = {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "a", "generation": 3},
          "spec": {"replicas": 2, "items": [{"name": "x", "n": 1}, {"name": "y", "n": 2.5}, {"name": "z"}],
                   "labels": {"a": "1", "b": "2"}, "text": "Hello, World", "flag": False}}

EXPRESSIONS = [
    ".spec.replicas", ".spec.missing.deeper", ".spec.items[0].name", ".spec.items[-1].name", ".spec.items[9]",
    ".spec.items[*].name", ".spec.items[*].n", ".spec.labels[*]", ".spec.items[? @.n > 1].name",
    ".spec.flag ?? true", ".spec.nothing ?? 7", ".spec.replicas + 1", ".spec.replicas / 4", "7 // 2", "-7 % 3",
    "\"a\" + \"b\"", "[1] + [2, 3]", ".spec.replicas == 2.0", ".spec.labels == {a: \"1\", b: \"2\"}",
    "\"b\" in .spec.labels", "\"World\" in .spec.text", "3 in [1, 2, 3]", "null < 3", "\"a\" < \"b\"",
    "if .spec.flag then 1 else 2", "let x = .spec.replicas; x * x", "[i.name for i in .spec.items if i.n != null]",
    "[k for k, v in .spec.labels]", "{a: 1, b: null, ...{c: 3}}", "{(\"k\" + \"1\"): 1, k1: 2}",
    ". with {.spec.replicas: 5, .spec.labels.a: null, .status.new.deep: true}", "len(.spec.text)",
    "sum(i.n ?? 0 for i in .spec.items)", "max(.spec.items[*].n)", "min(3, 1, 2)", "str(2.5)", "str(10)",
    "str({b: [1, true], a: null})", "number(\"0x1f\")", "number(\"010\")", "number(\" 1.5e3 \")", "int(-2.7)",
    "float(\"3\")", "ceil(2.1)", "floor(-2.1)", "abs(-3)", "join(sort([\"b\", \"a\"]), \",\")",
    "split(\"a,b,,c\", \",\")", "unique([1, 1.0, 2, \"2\"])", "flatten([[1], 2, [[3]]])", "keys(.spec.labels)",
    "values(.spec.labels)", "items(.spec.labels)", "from_items([[\"a\", 1], [\"b\", null]])",
    "enumerate([\"a\", \"b\"], 1)", "first([])", "last([1, 2])", "any([false, true])", "all([])",
    "merge({a: 1}, null, {b: 2})", "omit(.spec.labels, \"a\")", "pick(.spec.labels, \"b\", \"c\")",
    "prune({a: {}, b: [0, 1], c: \"x\"}, [0, \"x\"])", "get(.spec.items, 1)", "get(.spec.labels, \"q\", 9)",
    "lower(\"AbC\")", "upper(\"aBc\")", "trim(\"  x \")", "startswith(.spec.text, \"Hell\")",
    "endswith(.spec.text, \"x\")", "contains([1, 2], 2)", "format(\"%s-%d-%.2f-%5s\", \"a\", 3, 1.5, \"b\")",
    "match(\"12.5h\", \"^([0-9.]+)([hms])$\")", "match_all(\"1h30m\", \"([0-9]+)([hms])\")", "range(3)",
    "type(.spec)", "type(.spec.items)", "is_list(.spec.items)", "is_map(.spec.labels)", "exists(.spec.none)",
    "quantity(\"1Gi\") + quantity(\"512Mi\")", "quantity(\"1\") > 500m", "2Gi - quantity(\"1Gi\")",
    "500m * 3", "-quantity(\"2\")", "sum([1Gi, 1Gi])", "str(quantity(\"1000m\"))", "quantity(\"2\") == 2",
    "resource_add(\"1\", \"500m\")", "resource_quantity(\"1500m\")", "fail(\"stop\")", ".spec.text.x",
    "1 / 0", "not .spec.flag", "not 3", ".spec.flag or 1 > 0", "merge_conditions([{clusterName: \"m1\", "
    "status: {conditions: [{type: \"Ready\", status: \"True\", message: \"ok\"}]}}, {clusterName: \"m2\", "
    "status: {conditions: [{type: \"Ready\", status: \"True\", message: \"fine\"}]}}])",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_expression_gives_the_same_in_lua(expression: str) -> None:
    assert _status(expression, OBJECT) is None


def test_lets_and_functions_are_shared_and_lazy() -> None:
    prefix = "let twice = .spec.replicas * 2\nlet broken = fail(\"never used\")\nfn add(a, b) = a + b + twice"
    assert _status("add(1, 2)", OBJECT, prefix=prefix) is None
    assert _status("add(1)", OBJECT, prefix=prefix) is None
    assert _status("nope(1)", OBJECT, prefix=prefix) is None


def test_a_lua_runtime_error_and_a_kpl_error_agree() -> None:
    assert _status("1 + \"a\"", OBJECT) is None
    assert _status("len(3)", OBJECT) is None


def test_functions_without_a_lua_equivalent_are_reported_with_a_location() -> None:
    _, compiled = _rule("replicas = .spec.replicas\nrequirements = replica_requirements(.spec.template)\n"
                        "health = match(.x, \"a|b\") != null")
    assert "replicaResource" not in compiled.scripts
    assert "healthInterpretation" not in compiled.scripts
    messages = sorted(d.message for d in compiled.diagnostics)
    assert "InterpretHealth" in messages[0] and "alternation" in messages[0]
    assert "replica_requirements" in messages[1]
    assert all(d.location()[1] > 1 for d in compiled.diagnostics)


@pytest.mark.parametrize(("regex", "pattern", "groups"), [
    ("([0-9.]+)([hms])", "([0-9.]+)([hms])", 2),
    ("^([0-9]+\\.?[0-9]*)([a-z]*)\\Z", "^([0-9]+%.?[0-9]*)([a-z]*)$", 2),
    ("a.c*?\\d\\w-", "a.c-%d[%w_]%-", 0),
    ("[.][$]a\\.", "[.][$]a%.", 0),
    ("[^]a-z\\]]", "[^%]a-z%]]", 0),
])
def test_regular_expressions_become_lua_patterns(regex: str, pattern: str, groups: int) -> None:
    assert regex_to_lua(regex) == (pattern, groups)


@pytest.mark.parametrize("regex", ["a|b", "(ab)+", "a{2}", "(?:a)", "\\1", "a+?", "\\bx", "(", "a)"])
def test_regular_expressions_lua_cannot_say_are_refused(regex: str) -> None:
    with pytest.raises(RegexError):
        regex_to_lua(regex)


def test_lua_strings_escape_every_byte_lua_would_misread() -> None:
    assert lua_string('a"b\\c\nd\u00e9') == '"a\\"b\\\\c\\010d\\195\\169"'
    runtime = _runtime()
    assert runtime.eval(lua_string('a"b\\c\nd\u00e9')) == 'a"b\\c\nd\u00e9'


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text("ab", max_size=3),
    lambda inner: st.lists(inner.filter(lambda v: v is not None), min_size=1, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "n"]), inner.filter(lambda v: v is not None), min_size=1,
                      max_size=3).map(lambda d: dict(sorted(d.items()))),
    max_leaves=12,
)
# Objects are generated with their keys in sorted order: Lua walks object keys sorted while kpl keeps the
# document's order (a documented difference, docs/export-import.md), and `[*]` over an object shows it.


@settings(max_examples=60, deadline=None)
@given(spec=st.dictionaries(st.sampled_from(["a", "b", "n", "items"]), _json, max_size=4))
def test_paths_and_null_handling_agree_on_any_object(spec: dict[str, Any]) -> None:
    obj = {**OBJECT, "spec": spec}
    expression = ("{a: .spec.a, b: .spec.b[0] ?? .spec.b, n: .spec.n ?? 0, all: .spec.items[*].a, "
                  "typed: type(.spec.a), count: len(.spec.items ?? []), merged: .spec with {.extra.x: .spec.n}}")
    assert _status(expression, obj) is None


def test_lua_orders_object_keys_alphabetically() -> None:
    """Karmada hands objects to Lua without their key order, so the generated Lua sorts keys wherever kpl
    walks an object; kpl keeps the order of the input, the same for sorted input."""
    unsorted = {**OBJECT, "spec": {"labels": {"b": "2", "a": "1"}}}
    message = _status("keys(.spec.labels)", unsorted)
    assert message is not None and "['a', 'b']" in message.split("Lua:")[1]
