"""Grammar fuzzing: generated valid programs parse cleanly and survive formatting; any text, any bytes and
any mutation of a valid file give diagnostics, never an exception.

``HYPOTHESIS_PROFILE=fuzz`` (see ``conftest.py``) raises the number of examples for a long run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpl.dsl.diagnostics import Diagnostic, diagnostic_to_json, render_diagnostic
from kpl.dsl.formatter import format_module
from kpl.dsl.parser import parse, parse_expression
from kpl.engine.check import check_project
from kpl.engine.project import load_project

REPO = Path(__file__).resolve().parents[1]
ALL_TEXTS = [p.read_text(encoding="utf-8") for p in sorted([*(REPO / "rules").rglob("*.kpl"),
                                                           *(REPO / "examples").rglob("*.kpl")])]
VALID_TEXTS = sorted((t for t in ALL_TEXTS if len(t) < 2_000), key=len)  # small files keep each example fast
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
FUZZ = settings(max_examples=max(200, settings.default.max_examples), deadline=None, suppress_health_check=_HEALTH)
HEAVY = settings(max_examples=max(60, settings.default.max_examples), deadline=None, suppress_health_check=_HEALTH)

# ------------------------------------------------------------------------------------ generator

VARIABLES = ["a", "b", "x", "items", "desired", "observed", "n_2", "_tmp"]
FIELDS = [*VARIABLES, "spec", "replicas", "min", "select", "status", "cluster", "policy", '"odd key"', '"a.b/c"']
FUNCTIONS = ["min", "max", "len", "ceil", "int", "exists", "f"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or", "??"]
NAMES = ["member1", "member-2", "web", "eu-west", "a.b.c", '"quoted name"', "cluster", "replicas", "Team_3"]
API_VERSIONS = ["v1", "apps/v1", "example.io/v1beta1", "batch.volcano.sh/v1alpha1"]
KINDS = ["Pod", "Deployment", "Widget", "FlinkDeployment"]

strings = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
)
leaves = st.one_of(
    st.integers(0, 10**6).map(str),
    st.tuples(st.integers(0, 999), st.integers(1, 99)).map(lambda t: f"{t[0]}.{t[1]}"),
    strings,
    st.sampled_from(["true", "false", "null", "500m", "2Gi", "1e3", "1.5Ki", "12Zi", ".", "@"]),
    st.sampled_from(VARIABLES),
    st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4).map(lambda fs: "".join("." + f for f in fs)),
)


def _p(text: str) -> str:
    return f"({text})"


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.tuples(inner, inner)
    return st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"{_p(t[0])} {t[1]} {_p(t[2])}"),
        inner.map(lambda e: f"-{_p(e)}"),
        inner.map(lambda e: f"not {_p(e)}"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(FIELDS), inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
        st.tuples(inner, inner, inner).map(lambda t: f"if {t[0]} then {t[1]} else {t[2]}"),
        pairs.map(lambda t: f"let n = {t[0]}; {t[1]}"),
        st.tuples(inner, inner, st.booleans()).map(
            lambda t: f"[{t[0]} for x in {_p(t[1])}" + (f" if {_p(t[0])}]" if t[2] else "]")),
        pairs.map(lambda t: f"sum({t[0]} for k, v in {_p(t[1])})"),
        st.tuples(inner, st.sampled_from(FIELDS)).map(lambda t: f"{_p(t[0])}.{t[1]}"),
        pairs.map(lambda t: f"{_p(t[0])}[{t[1]}]"),
        inner.map(lambda e: f"{_p(e)}[*]"),
        pairs.map(lambda t: f"{_p(t[0])}[? {t[1]}]"),
        pairs.map(lambda t: f"{_p(t[0])} with {{ .spec.replicas: {t[1]}, [\"a/b\"]: null }}"),
        st.lists(inner, min_size=1, max_size=2).map(lambda xs: "[" + ", ".join("..." + _p(x) for x in xs) + "]"),
    )


expressions = st.recursive(leaves, _compound, max_leaves=8)
names = st.sampled_from(NAMES)


def _block(head: str, lines: list[str]) -> str:
    body = "".join(f"  {line}\n" for line in lines)
    return f"{head} {{\n{body}}}"


def _interpreter_members() -> st.SearchStrategy[str]:
    component = st.tuples(names, st.lists(st.tuples(st.sampled_from(["replicas", "requests", "when"]),
                                                    expressions), max_size=3)).map(
        lambda t: _block(f"component {t[0]}", [f"{k} = {v}" for k, v in t[1]]).replace("\n", "\n  "))
    return st.one_of(
        st.tuples(st.sampled_from(VARIABLES), expressions).map(lambda t: f"let {t[0]} = {t[1]}"),
        st.tuples(st.sampled_from(["g", "h2"]), st.lists(st.sampled_from(VARIABLES), max_size=3, unique=True),
                  expressions).map(lambda t: f"fn {t[0]}({', '.join(t[1])}) = {t[2]}"),
        st.tuples(st.sampled_from(["replicas", "health", "status", "retain", "aggregate"]), expressions).map(
            lambda t: f"{t[0]} = {t[1]}"),
        component,
    )


interpreters = st.tuples(st.sampled_from(API_VERSIONS), st.sampled_from(KINDS),
                         st.lists(_interpreter_members(), max_size=4)).map(
    lambda t: _block(f"interpreter {t[0]} {t[1]}", t[2]))

durations = st.tuples(st.integers(0, 10**4), st.sampled_from(["ms", "s", "m", "h"])).map(lambda t: f"{t[0]}{t[1]}")
name_lists = st.lists(names, min_size=1, max_size=3).map(", ".join)
selections = st.one_of(name_lists.map(lambda n: f"clusters {n}"), expressions.map(lambda e: f"clusters where {e}"),
                       name_lists.map(lambda n: f"exclude {n}"))
weights = st.lists(st.one_of(st.tuples(names, st.integers(0, 9)).map(lambda t: f"{t[0]}: {t[1]}"),
                             st.tuples(expressions, st.integers(1, 9)).map(lambda t: f"clusters where {t[0]}: {t[1]}")),
                   max_size=3)
failover_members = st.one_of(
    st.sampled_from(["directly", "gracefully", "never"]).map(lambda m: f"purge {m}"),
    durations.map(lambda d: f"grace {d}"),
    durations.map(lambda d: f"decision after {d}"),
    st.tuples(names, strings).map(lambda t: f"preserve {t[0]} = {t[1]}"),
)
policy_items = st.one_of(
    st.tuples(st.sampled_from(API_VERSIONS), st.sampled_from(KINDS), st.none() | names, st.none() | names,
              st.none() | expressions).map(
        lambda t: f"select {t[0]} {t[1]}" + (f" named {t[2]}" if t[2] else "")
        + (f" in namespace {t[3]}" if t[3] else "") + (f" where {t[4]}" if t[4] else "")),
    st.integers(-100, 100).map(lambda n: f"priority {n}"),
    st.sampled_from(["always", "never"]).map(lambda m: f"preemption {m}"),
    selections,
    st.tuples(names, names, st.sampled_from(["NoSchedule", "NoExecute"]), st.none() | durations).map(
        lambda t: f"tolerate {t[0]} = {t[1]} : {t[2]}" + (f" for {t[3]}" if t[3] else "")),
    names.map(lambda n: f"tolerate {n} exists"),
    st.just("tolerate all : NoExecute"),
    st.tuples(st.sampled_from(["cluster", "region", "zone", "provider", "label topology/zone"]),
              st.none() | st.integers(0, 5), st.none() | st.integers(0, 5)).map(
        lambda t: f"spread by {t[0]}" + (f" min {t[1]}" if t[1] is not None else "")
        + (f" max {t[2]}" if t[2] is not None else "")),
    st.sampled_from(["duplicated", "aggregated", "divided", "divided dynamic"]).map(lambda m: f"replicas {m}"),
    weights.map(lambda ws: "replicas divided static { " + ", ".join(ws) + " }"),
    st.tuples(names, st.lists(selections, max_size=2), st.lists(st.tuples(names, st.lists(selections, max_size=2)),
                                                               max_size=1)).map(
        lambda t: _block(f"affinity {t[0]}", [*t[1], *(_block(f"overflow {o}", s).replace("\n", "\n  ")
                                                     for o, s in t[2])]).replace("\n", "\n  ")),
    st.tuples(st.sampled_from(["cluster", "application"]), st.lists(failover_members, max_size=3)).map(
        lambda t: _block(f"failover {t[0]}", t[1]).replace("\n", "\n  ")),
    st.sampled_from(["propagate deps", "scheduler default-scheduler", "conflict abort", "suspend scheduling"]),
)
policies = st.tuples(st.booleans(), names, st.none() | names, st.lists(policy_items, max_size=6)).map(
    lambda t: _block(("cluster policy " if t[0] else "policy ") + t[1]
                     + (f" in namespace {t[2]}" if t[2] else ""), t[3]))
limits = st.lists(st.tuples(st.sampled_from(["cpu", "memory", "pods", '"nvidia.com/gpu"']),
                            st.sampled_from(["1", "500m", "2Gi", "1.5", "1e3", '"4"'])), max_size=3).map(
    lambda kv: ", ".join(f"{k} = {v}" for k, v in kv))
quotas = st.tuples(names, names, limits, st.lists(st.tuples(names, limits), max_size=2)).map(
    lambda t: _block(f"quota {t[0]} in namespace {t[1]}",
                     [f"overall {{ {t[2]} }}", *(f"assign {c} {{ {lim} }}" for c, lim in t[3])]))
comments = st.sampled_from(["", "# a note\n", "# ünïcode ✓\n"])
programs = st.lists(st.tuples(comments, st.one_of(interpreters, policies, quotas)), max_size=3).map(
    lambda ds: "\n".join(c + d for c, d in ds) + "\n")


# ------------------------------------------------------------------------------------ properties


@HEAVY
@given(programs)
def test_generated_programs_parse_and_round_trip(text: str) -> None:
    result = parse(text)
    assert result.diagnostics == [], (text, [render_diagnostic(d) for d in result.diagnostics])
    formatted = format_module(result.module)
    again = parse(formatted)
    assert again.diagnostics == [], (formatted, [render_diagnostic(d) for d in again.diagnostics])
    assert again.module == result.module, formatted
    assert format_module(again.module) == formatted
    for _, comment in result.module.comments:
        assert comment in formatted


@FUZZ
@given(expressions)
def test_generated_expressions_parse(text: str) -> None:
    found, diagnostics = parse_expression(text)
    assert diagnostics == [] and found is not None, text


def assert_well_formed(diagnostic: Diagnostic) -> None:
    render_diagnostic(diagnostic)
    diagnostic_to_json(diagnostic)
    if diagnostic.source is not None and diagnostic.span is not None:
        assert 0 <= diagnostic.span.start <= diagnostic.span.end <= len(diagnostic.source.text) + 1
        _, line, column = diagnostic.location()
        assert line >= 1 and column >= 1


_FOLDER = tempfile.TemporaryDirectory(prefix="kpl-fuzz-")  # one folder for every example, removed at exit


def exercise(data: bytes) -> None:
    """Every entry point on one input: diagnostics, never an exception."""
    path = Path(_FOLDER.name) / "input.kpl"
    path.write_bytes(data)
    project = load_project([path])
    context = check_project(project)
    for diagnostic in [*project.diagnostics, *context.diagnostics]:
        assert_well_formed(diagnostic)
    if project.modules and not project.diagnostics:
        module = project.modules[0]
        assert parse(format_module(module)).module == module


@FUZZ
@given(st.text(max_size=400))
def test_random_text_gives_diagnostics_not_exceptions(text: str) -> None:
    exercise(text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_give_diagnostics_not_exceptions(data: bytes) -> None:
    exercise(data)


KPL_CHARACTERS = st.sampled_from([*"{}()[]=:;,.?@\"'#-+*/%<>!\n \t0123456789aeimnsx_",
    "policy", "interpreter", "quota", "select", "where", "in", "not", "for", "let", "fn", "if", "then", "else",
    "with", "...", "??", "2Gi", "500m", "300s", "\u00e9", "\u0000",
])


def _mutation(text: str) -> st.SearchStrategy[Callable[[str], str]]:
    position = st.integers(0, max(len(text), 1))

    def delete(at: int, size: int) -> Callable[[str], str]:
        return lambda s: s[:at] + s[at + size:]

    def insert(at: int, piece: str) -> Callable[[str], str]:
        return lambda s: s[:at] + piece + s[at:]

    def swap(i: int, j: int) -> Callable[[str], str]:
        def apply(s: str) -> str:
            if not s:
                return s
            a, b = sorted((i % len(s), j % len(s)))
            return s[:a] + s[b] + s[a + 1 : b] + s[a] + s[b + 1 :] if a != b else s
        return apply

    return st.one_of(
        st.builds(delete, position, st.integers(1, 12)),
        st.builds(insert, position, KPL_CHARACTERS),
        st.builds(swap, position, position),
    )


@HEAVY
@given(st.data())
def test_mutated_valid_files_give_diagnostics_not_exceptions(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(VALID_TEXTS))
    for mutate in data.draw(st.lists(_mutation(text), min_size=1, max_size=6)):
        text = mutate(text)
    exercise(text.encode("utf-8", errors="surrogatepass"))


@HEAVY
@given(programs, st.data())
def test_mutated_generated_programs_give_diagnostics_not_exceptions(text: str, data: st.DataObject) -> None:
    for mutate in data.draw(st.lists(_mutation(text), min_size=1, max_size=4)):
        text = mutate(text)
    exercise(text.encode("utf-8", errors="surrogatepass"))
