"""Karmada selectors as kpl conditions: the inverse of the selector compilation in :mod:`kpl.engine.policy`.

A label selector becomes an ``and`` of ``labels.KEY == "v"``, ``labels.KEY in [...]``, ``not in`` and
``exists(labels.KEY)``; a cluster field selector adds ``provider``/``region``/``zone`` requirements; cluster
names stay ``clusters a, b`` and ``exclude c`` (or ``name in``/``name not in`` inside a condition). What has no
kpl form raises :class:`SelectorError` with the path of the offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpl.dsl import ast

__all__ = ["SelectorError", "affinity_items", "label_where", "weight_target"]

FIELD_KEYS = ("provider", "region", "zone")


class SelectorError(ValueError):
    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _strings(values: Any) -> ast.ListExpr:
    return ast.ListExpr(tuple(ast.Literal(str(v)) for v in values or ()))


def _label(key: str) -> ast.Expr:
    return ast.GetField(ast.Var("labels"), key)


def _and(terms: list[ast.Expr]) -> ast.Expr | None:
    if not terms:
        return None
    result = terms[0]
    for term in terms[1:]:
        result = ast.Binary("and", result, term)
    return result


def _label_terms(selector: Mapping[str, Any]) -> list[ast.Expr]:
    unknown = [k for k in selector if k not in ("matchLabels", "matchExpressions")]
    if unknown:
        raise SelectorError(f"kpl has no syntax for the selector field `{unknown[0]}`", (unknown[0],))
    terms: list[ast.Expr] = [ast.Binary("==", _label(str(k)), ast.Literal(str(v)))
                             for k, v in (selector.get("matchLabels") or {}).items()]
    for index, requirement in enumerate(selector.get("matchExpressions") or ()):
        key, operator = str(requirement.get("key", "")), requirement.get("operator")
        if operator in ("In", "NotIn"):
            op = "in" if operator == "In" else "not in"
            terms.append(ast.Binary(op, _label(key), _strings(requirement.get("values"))))
        elif operator in ("Exists", "DoesNotExist"):
            exists = ast.Call("exists", (_label(key),))
            terms.append(exists if operator == "Exists" else ast.Not(exists))
        else:
            raise SelectorError(f"kpl has no label operator `{operator}`", ("matchExpressions", index, "operator"))
    return terms


def label_where(selector: Mapping[str, Any]) -> ast.Expr | None:
    """The condition a label selector stands for (None for an empty selector, which selects everything)."""
    return _and(_label_terms(selector))


def _field_terms(selector: Mapping[str, Any]) -> list[ast.Expr]:
    unknown = [k for k in selector if k != "matchExpressions"]
    if unknown:
        raise SelectorError(f"kpl has no syntax for the field selector field `{unknown[0]}`",
                            ("fieldSelector", unknown[0]))
    terms: list[ast.Expr] = []
    for index, requirement in enumerate(selector.get("matchExpressions") or ()):
        key, operator = str(requirement.get("key", "")), requirement.get("operator")
        path = ("fieldSelector", "matchExpressions", index)
        if key not in FIELD_KEYS:
            raise SelectorError(f"kpl selects clusters by provider, region or zone, not `{key}`", (*path, "key"))
        if operator not in ("In", "NotIn"):
            raise SelectorError(f"kpl has no field operator `{operator}`", (*path, "operator"))
        terms.append(ast.Binary("in" if operator == "In" else "not in", ast.Var(key),
                                _strings(requirement.get("values"))))
    return terms


def _conditions(term: Mapping[str, Any]) -> list[ast.Expr]:
    terms: list[ast.Expr] = []
    if term.get("labelSelector") is not None:
        try:
            terms.extend(_label_terms(term["labelSelector"] or {}))
        except SelectorError as error:
            raise SelectorError(error.message, ("labelSelector", *error.path)) from None
    if term.get("fieldSelector") is not None:
        terms.extend(_field_terms(term["fieldSelector"] or {}))
    return terms


def affinity_items(term: Mapping[str, Any]) -> list[ast.ClusterSelection | ast.Exclude]:
    """``clusters ...``/``exclude ...`` items for a ClusterAffinity."""
    items: list[ast.ClusterSelection | ast.Exclude] = []
    names = tuple(str(n) for n in term.get("clusterNames") or ())
    if names:
        items.append(ast.ClusterSelection(names, None))
    where = _and(_conditions(term))
    if where is not None:
        items.append(ast.ClusterSelection((), where))
    exclude = tuple(str(n) for n in term.get("exclude") or ())
    if exclude:
        items.append(ast.Exclude(exclude))
    return items


def weight_target(term: Mapping[str, Any]) -> tuple[str | None, ast.Expr | None]:
    """A static weight's target: one cluster by name, or a condition over names, labels and fields."""
    unknown = [k for k in term if k not in ("clusterNames", "exclude", "labelSelector", "fieldSelector")]
    if unknown:
        raise SelectorError(f"kpl has no syntax for `{unknown[0]}`", (unknown[0],))
    names = [str(n) for n in term.get("clusterNames") or ()]
    conditions = _conditions(term)
    if len(names) == 1 and not conditions and not term.get("exclude"):
        return names[0], None
    terms: list[ast.Expr] = []
    if names:
        terms.append(ast.Binary("in", ast.Var("name"), _strings(names)))
    terms.extend(conditions)
    if term.get("exclude"):
        terms.append(ast.Binary("not in", ast.Var("name"), _strings(term["exclude"])))
    where = _and(terms)
    if where is None:
        raise SelectorError("a static weight needs a target cluster", ())
    return None, where
