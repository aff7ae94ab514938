"""Kubernetes JSONPath templates: parsing, evaluation, Go printing and the translation to jsonpath-ng."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext.parser import parse as parse_ng

from kpl.engine.k8s_jsonpath import (
    FieldNode,
    JsonPathError,
    decode_go_json,
    evaluate,
    format_go_float,
    go_quote,
    marshal_go_json,
    parse_template,
    to_jsonpath_ng,
    translate,
)

LIST = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {"metadata": {"name": "nginx-01", "namespace": "default", "resourceVersion": "1148"},
         "status": {"replicas": 2, "ready": True}},
        {"metadata": {"name": "nginx-02", "namespace": "prod", "resourceVersion": "1149"},
         "status": {"replicas": 3, "ready": False}},
    ],
    "metadata": {"resourceVersion": ""},
    "weird": {"a.b": 1, "it's": "x", "where": "w", "html": "<a&b>", "nothing": None, "big": 1e21},
}


def _doc() -> Any:
    return decode_go_json(json.dumps(LIST))


# -- evaluation -----------------------------------------------------------------------------------------------

EVALUATIONS = [
    ("{ .kind }", "List"),
    ("{.items[*].metadata.name}", "nginx-01 nginx-02"),
    ("{.items[0].metadata.name}", "nginx-01"),
    ("{.items[-1].metadata.name}", "nginx-02"),
    ("{.items[0:1].metadata.name}", "nginx-01"),
    ("{.items[::2].metadata.name}", "nginx-01"),
    ("{.items[0,1].metadata.namespace}", "default prod"),
    ("{['kind']}", "List"),
    ("{.items[*].status.replicas}", "2 3"),
    ("{.items[*].status.ready}", "true false"),
    ('{.items[?(@.metadata.name=="nginx-02")].status.replicas}', "3"),
    ("{.items[?(@.status.replicas>2.5)].metadata.name}", "nginx-02"),
    ("{.items[?(@.status.ready==true)].metadata.name}", "nginx-01"),
    ("{.items[?(@.status.ready)].metadata.name}", "nginx-01 nginx-02"),
    ("{.items[?(@.missing)].metadata.name}", ""),
    ("{..resourceVersion}", "1148 1149 "),
    ("{range .items[*]}[{.metadata.name}] {end}", "[nginx-01] [nginx-02] "),
    ("{range .items[*]}{range .metadata}{.name}{end};{end}", "nginx-01;nginx-02;"),
    ("name={.items[0].metadata.name}!", "name=nginx-01!"),
    ("no braces", "no braces"),
    ("{.metadata}", '{"resourceVersion":""}'),
    ("{.weird.html}", "<a&b>"),
    ("{.weird}", '{"a.b":1,"big":1e+21,"html":"\\u003ca\\u0026b\\u003e","it\'s":"x","nothing":null,"where":"w"}'),
    ("{.weird.nothing}", "null"),
    ("{.weird.big}", "1e+21"),
    ("{.weird.where}", "w"),
    ("{.weird.a\\.b}", "1"),
    ("{.kind.*}", "76 105 115 116"),
    ('{"lit"}', "lit"),
    ("{1}{2.5}{true}", "12.5true"),
]


@pytest.mark.parametrize(("template", "printed"), EVALUATIONS)
def test_evaluation(template: str, printed: str) -> None:
    assert evaluate(template, _doc()) == printed


EVALUATION_ERRORS = [
    ("{.notfound}", "notfound is not found"),
    ("{.items[*].nope}", "nope is not found"),
    ("{.items[5]}", "array index out of bounds: index 5, length 2"),
    ("{.kind[0]}", "string is not array or slice"),
    ("{.items[?(@.status.replicas>2)].kind}", "incompatible types for comparison"),
    ("{.items[?(@.metadata>2.0)].kind}", "invalid type for comparison"),
    ("{.items[?(@.status.ready<true)].kind}", "invalid type for comparison"),
    ("{.metadata[?(@.x)]}", "map[resourceVersion:] is not array or slice and cannot be filtered"),
    ("{end}", "not in range, nothing to end"),
    ("{foo}", "unrecognized identifier foo"),
    ("{.weird['a.b']}", "a is not found"),
    ("{range .items[*]}{.nope}{end}", "nope is not found"),
    ("{range .metadata.none[*]}{.x}{end}", "none is not found"),
    ("{.items[1:0]}", "starting index 1 is greater than ending index 0"),
    ("{.items[0:2:0]}", "step must be > 0"),
]


@pytest.mark.parametrize(("template", "message"), EVALUATION_ERRORS)
def test_evaluation_errors(template: str, message: str) -> None:
    with pytest.raises(JsonPathError) as caught:
        evaluate(template, _doc())
    assert caught.value.message == message
    assert caught.value.column is None


def test_empty_range_still_runs_its_body_once_without_a_value() -> None:
    assert evaluate("{range .items[5:5]}x{end}", _doc()) == ""
    with pytest.raises(JsonPathError, match="name is not found"):
        evaluate("{range .weird.nothing}{.name}{end}", _doc())


def test_null_document_root_prints_no_value() -> None:
    assert evaluate("{@}", None) == "<no value>"


SYNTAX_ERRORS = [
    ("{ %health }", "unrecognized character in action: U+0025 '%'", 3),
    ("{.a", "unclosed action", 4),
    ("x{.a\n}", "unclosed action", 5),
    ("{.a[0}", "unterminated array", 4),
    ("{.a[x]}", "invalid array index x", 4),
    ("{.a[-]}", "array index - is not a number", 4),
    ("{.a[?(@.b==1)}", "unclosed array expect ]", 4),
    ("{.a[?(@.b==1", "unterminated filter", 4),
    ('{"abc}', "unterminated quoted string", 2),
    ('{"\\q"}', 'unquote string "\\q" error invalid syntax', 2),
    ("{....a}", "invalid multiple recursive descent", 4),
    ("{-}", "cannot parse number -", 2),
    ("{1.2.3}", "cannot parse number 1.2.3", 2),
    ("{..*}", "unrecognized character in action: U+002A '*'", 4),
]


@pytest.mark.parametrize(("template", "message", "column"), SYNTAX_ERRORS)
def test_syntax_errors_carry_the_column(template: str, message: str, column: int) -> None:
    with pytest.raises(JsonPathError) as caught:
        parse_template(template)
    assert (caught.value.message, caught.value.column) == (message, column)


def test_dict_key_with_a_dot_is_two_fields_and_escapes_survive() -> None:
    template = parse_template("{['a.b']}{.c\\.d}")
    first, second = template.actions
    assert first.nodes == (FieldNode("a"), FieldNode("b"))
    assert second.nodes == (FieldNode("c.d"),)


# -- Go printing ----------------------------------------------------------------------------------------------

FLOATS = [
    (2.0, "2"), (0.5, "0.5"), (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
    (1e-05, "1e-05"), (0.0001, "0.0001"), (-2.5, "-2.5"), (0.0, "0"), (-0.0, "-0"), (1e21, "1e+21"),
    (123456.7, "123456.7"), (1.5e-300, "1.5e-300"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
]


@pytest.mark.parametrize(("number", "text"), FLOATS)
def test_format_go_float(number: float, text: str) -> None:
    assert format_go_float(number) == text


@settings(deadline=None, max_examples=60)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_go_float_reads_back(number: float) -> None:
    assert float(format_go_float(number)) == number


JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@settings(deadline=None, max_examples=60)
@given(JSON_VALUES)
def test_marshal_go_json_is_json_with_sorted_keys(value: Any) -> None:
    text = marshal_go_json(value)
    assert json.loads(text, parse_int=float) == value
    assert "<" not in text and ">" not in text and "&" not in text


def test_go_quote() -> None:
    assert go_quote('a"b\\c\n\x01\x7fé') == '"a\\"b\\\\c\\n\\x01\\x7fé"'


def test_decode_go_json_reads_every_number_as_float_and_rejects_nan() -> None:
    assert decode_go_json('{"a": 2, "b": [1]}') == {"a": 2.0, "b": [1.0]}
    assert isinstance(decode_go_json("2"), float)
    with pytest.raises(ValueError):
        decode_go_json('{"a": NaN}')
    with pytest.raises(ValueError):
        decode_go_json("1e400")


# -- translation to jsonpath-ng -------------------------------------------------------------------------------

TRANSLATIONS = [
    ("{ .jobStatus.jobID }", "$.jobStatus.jobID"),
    ("{.items[*].metadata.name}", "$.items[*].metadata.name"),
    ("{['kind']}", "$.kind"),
    ("{..resourceVersion}", "$..resourceVersion"),
    ("{.items[0]}", "$.items[0]"),
    ("{.items[-1]}", "$.items[-1]"),
    ("{.items[0:1]}", "$.items[0:1]"),
    ("{.items[::2]}", "$.items[::2]"),
    ("{.items[0,1]}", "$.items[0,1]"),
    ("{.weird.*}", "$.weird[*]"),
    ("{@}", "$"),
    ("{.weird.where}", "$.weird['where']"),
    ("{.weird.it's}", "$.weird['it\\'s']"),
    ("{['kind','apiVersion']}", "$['kind','apiVersion']"),
    ('{.items[?(@.metadata.name=="nginx-02")].status.replicas}',
     '$.items[?(@.metadata.name == "nginx-02")].status.replicas'),
    ("{.items[?(@.status.replicas>2.5)].metadata.name}", "$.items[?(@.status.replicas > 2.5)].metadata.name"),
    ("{.items[?(@.status.ready)].metadata.name}", "$.items[?(@.status.ready)].metadata.name"),
]


@pytest.mark.parametrize(("template", "expression"), TRANSLATIONS)
def test_translation_to_jsonpath_ng(template: str, expression: str) -> None:
    assert to_jsonpath_ng(template) == expression
    parse_ng(expression)  # jsonpath-ng accepts it


AGREEING = [
    "{.items[*].metadata.name}", "{['kind']}", "{..resourceVersion}", "{.items[0]}", "{.items[-1]}",
    "{.items[0:1]}", "{.items[::2]}", "{.items[0,1].metadata.name}", "{.weird.*}", "{@}",
    '{.items[?(@.metadata.name=="nginx-02")].status.replicas}', "{.items[?(@.status.replicas>2.5)].metadata.name}",
    "{.items[?(@.status.ready)].metadata.name}", "{.weird.where}",
]


def _printed(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return marshal_go_json(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return format_go_float(value) if isinstance(value, float) else str(value)


@pytest.mark.parametrize("template", AGREEING)
def test_translation_finds_what_the_template_finds(template: str) -> None:
    """Over the sample, jsonpath-ng on the translation finds the values the template prints."""
    found = [_printed(match.value) for match in parse_ng(to_jsonpath_ng(template)).find(_doc())]
    printed = evaluate(template, _doc())
    assert sorted(part for part in found if part) == sorted(part for part in printed.split(" ") if part)


UNTRANSLATABLE = ["{range .items[*]}{.a}{end}", "{.a}{.b}", "x{.a}", '{"lit"}', "{1}", "{..}", "{.\\*}"]


@pytest.mark.parametrize("template", UNTRANSLATABLE)
def test_templates_without_a_jsonpath_ng_form(template: str) -> None:
    with pytest.raises(JsonPathError, match="no jsonpath-ng form"):
        to_jsonpath_ng(template)


def test_translate_reports_each_action() -> None:
    assert translate("{range .items[*]}{.metadata.name}{end}").expressions == (None, "$.metadata.name", None)
