"""The fixed function library of the expression language.

Every function is total over its documented inputs and raises :class:`EvalError` (never another
exception) on anything else. ``FUNCTIONS`` maps a name to ``(min_args, max_args, implementation)``;
``None`` as ``max_args`` means any number. The checker uses the same table for arity and "did you mean".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from kpl.engine.limits import RegexLimitError, compile_regex, run_regex
from kpl.engine.values import EvalError, Value, elements, is_number, to_output, type_name

__all__ = ["FUNCTIONS", "Function", "default_gate", "tonumber"]

Function = tuple[int, int | None, Callable[..., Value]]

MAX_STRING = 1_000_000
MAX_RANGE = 100_000


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise EvalError(message)


def tonumber(value: Value) -> int | float | None:
    """Lua's ``tonumber``: numbers and numeric strings become numbers, anything else null."""
    if is_number(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 0) if re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)", text) else float(text)
        except ValueError:
            return None
    return None


def _as_list(value: Value, function: str) -> list[Value]:
    return elements(value, f"`{function}`")


def _len(value: Value) -> int:
    if value is None:
        return 0
    _need(isinstance(value, (str, list, Mapping)), f"`len` expects a string, list or object, got {type_name(value)}")
    return len(value)


def _numeric(value: Value, function: str) -> int | float:
    _need(is_number(value), f"`{function}` expects a number, got {type_name(value)}")
    return value  # type: ignore[no-any-return]


def _ceil(value: Value) -> int:
    number = _numeric(value, "ceil")
    _need(math.isfinite(number), "`ceil` of a non-finite number")
    return math.ceil(number)


def _floor(value: Value) -> int:
    number = _numeric(value, "floor")
    _need(math.isfinite(number), "`floor` of a non-finite number")
    return math.floor(number)


def _int(value: Value) -> int | None:
    """Truncate toward zero; numeric strings are accepted; null stays null."""
    if value is None:
        return None
    number = tonumber(value) if isinstance(value, str) else value
    _need(is_number(number), f"`int` expects a number or a numeric string, got {type_name(value)}")
    assert number is not None
    _need(math.isfinite(number), "`int` of a non-finite number")
    return int(number)


def _extreme(function: str, pick: Callable[..., Value]) -> Callable[..., Value]:
    def run(*args: Value) -> Value:
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        values = [v for v in values if v is not None]
        if not values:
            return None
        try:
            return pick(values)
        except TypeError:
            kinds = ", ".join(sorted({type_name(v) for v in values}))
            raise EvalError(f"`{function}` cannot compare {kinds}") from None

    return run


def _sum(values: Value) -> Value:
    from kpl.engine.quantity import Quantity

    items = [v for v in _as_list(values, "sum") if v is not None]
    if any(isinstance(v, Quantity) for v in items):
        total = Quantity.from_json(0)
        for item in items:
            total = total + (item if isinstance(item, Quantity) else Quantity.from_json(_numeric(item, "sum")))
        return total
    result: int | float = 0
    for item in items:
        result += _numeric(item, "sum")
    return result


def _str(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, Mapping)):
        return json.dumps(to_output(value), sort_keys=True, separators=(",", ":"))
    return str(value)


def _quantity(value: Value) -> Value:
    from kpl.engine.quantity import Quantity, QuantityError

    if value is None:
        return None
    if isinstance(value, Quantity):
        return value
    try:
        if isinstance(value, str):
            return Quantity.from_json(value)
        _need(is_number(value), f"`quantity` expects a string or a number, got {type_name(value)}")
        return Quantity.from_json(value)
    except QuantityError as error:
        raise EvalError(f"invalid quantity `{value}`: {error}") from None


def _contains(container: Value, item: Value) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        _need(isinstance(item, str), f"`contains` on a string needs a string, got {type_name(item)}")
        return item in container
    if isinstance(container, Mapping):
        return item in container
    return item in _as_list(container, "contains")


def _string(value: Value, function: str) -> str:
    _need(isinstance(value, str), f"`{function}` expects a string, got {type_name(value)}")
    return value  # type: ignore[no-any-return]


def _split(value: Value, separator: Value) -> list[str]:
    text, sep = _string(value, "split"), _string(separator, "split")
    _need(sep != "", "`split` needs a non-empty separator")
    return text.split(sep)


def _join(values: Value, separator: Value) -> str:
    return _string(separator, "join").join(_str(v) for v in _as_list(values, "join"))


def _sort(values: Value) -> list[Value]:
    items = list(_as_list(values, "sort"))
    try:
        return sorted(items)
    except TypeError:
        raise EvalError("`sort` needs values of one comparable type") from None


def _unique(values: Value) -> list[Value]:
    out: list[Value] = []
    for item in _as_list(values, "unique"):
        if item not in out:
            out.append(item)
    return out


def _first(values: Value) -> Value:
    items = _as_list(values, "first")
    return items[0] if items else None


def _last(values: Value) -> Value:
    items = _as_list(values, "last")
    return items[-1] if items else None


def _any(values: Value) -> bool:
    return any(v is True for v in _as_list(values, "any"))


def _all(values: Value) -> bool:
    return all(v is True for v in _as_list(values, "all"))


def _keys(value: Value) -> list[str]:
    if value is None:
        return []
    _need(isinstance(value, Mapping), f"`keys` expects an object, got {type_name(value)}")
    return list(value)


def _values(value: Value) -> list[Value]:
    if value is None:
        return []
    _need(isinstance(value, Mapping), f"`values` expects an object, got {type_name(value)}")
    return list(value.values())


def _items(value: Value) -> list[list[Value]]:
    if value is None:
        return []
    _need(isinstance(value, Mapping), f"`items` expects an object, got {type_name(value)}")
    return [[k, v] for k, v in value.items()]


def _enumerate(values: Value, start: Value = 0) -> list[list[Value]]:
    offset = _numeric(start, "enumerate")
    return [[index + offset, item] for index, item in enumerate(_as_list(values, "enumerate"))]


def _range(count: Value) -> list[int]:
    number = _numeric(count, "range")
    _need(0 <= number <= MAX_RANGE, f"`range` takes 0 to {MAX_RANGE}")
    return list(range(int(number)))


def _merge(*objects: Value) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for item in objects:
        if item is None:
            continue
        _need(isinstance(item, Mapping), f"`merge` expects objects, got {type_name(item)}")
        out.update(item)
    return {k: v for k, v in out.items() if v is not None}


def _get(value: Value, key: Value, default: Value = None) -> Value:
    if isinstance(value, Mapping):
        found = value.get(key)
    elif isinstance(value, list) and is_number(key) and 0 <= int(key) < len(value):
        found = value[int(key)]
    else:
        found = None
    return default if found is None else found


def _omit(value: Value, *keys: Value) -> Value:
    if value is None:
        return None
    _need(isinstance(value, Mapping), f"`omit` expects an object, got {type_name(value)}")
    drop = set(keys)
    return {k: v for k, v in value.items() if k not in drop}


def _pick(value: Value, *keys: Value) -> Value:
    if value is None:
        return None
    _need(isinstance(value, Mapping), f"`pick` expects an object, got {type_name(value)}")
    return {k: value[k] for k in keys if k in value and value[k] is not None}


def _flatten(values: Value) -> list[Value]:
    out: list[Value] = []
    for item in _as_list(values, "flatten"):
        out.extend(item if isinstance(item, list) else [item])
    return out


def _format(template: Value, *args: Value) -> str:
    text = _string(template, "format")
    try:
        result = text % tuple(to_output(a) if isinstance(a, (list, Mapping)) else a for a in args)
    except (TypeError, ValueError) as error:
        raise EvalError(f"`format` failed: {error}") from None
    _need(len(result) <= MAX_STRING, "`format` result is too long")
    return result


def _abs(value: Value) -> int | float:
    return abs(_numeric(value, "abs"))


def _is(kind: Callable[[Value], bool]) -> Callable[[Value], bool]:
    return kind


def _kube(name: str) -> Callable[..., Value]:
    def run(*args: Value) -> Value:
        from kpl.engine import kube

        function = getattr(kube, name)
        try:
            return function(*args)
        except (ValueError, TypeError, KeyError) as error:
            raise EvalError(f"`{name}`: {error}") from None

    return run


def _lower(value: Value) -> str:
    return _string(value, "lower").lower()


def _upper(value: Value) -> str:
    return _string(value, "upper").upper()


def _startswith(value: Value, prefix: Value) -> bool:
    return isinstance(value, str) and value.startswith(_string(prefix, "startswith"))


def _endswith(value: Value, suffix: Value) -> bool:
    return isinstance(value, str) and value.endswith(_string(suffix, "endswith"))


def _trim(value: Value) -> str:
    return _string(value, "trim").strip()


_CONDITION_KEY = ("type", "status", "reason")


def _lua_equal(left: Value, right: Value) -> bool:
    """Lua's ``==`` on decoded JSON values: numbers by value, tables never equal to another table."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, (bool, list, Mapping)) or isinstance(right, (bool, list, Mapping)):
        return left is right
    return type(left) is type(right) and left == right


def _concat_text(value: Value, what: str) -> str:
    _need(isinstance(value, str) or is_number(value), f"`merge_conditions`: {what} is {type_name(value)}, "
          "not a string")
    return _str(value)


def _same_condition(kept: list[dict[str, Value]], condition: Mapping[str, Value]) -> dict[str, Value] | None:
    for candidate in kept:
        if all(_lua_equal(candidate.get(k), condition.get(k)) for k in _CONDITION_KEY):
            return candidate
    return None


def _merge_conditions(items: Value) -> list[Value]:
    """Karmada's folding of member clusters' status conditions (bundled Flux and Kyverno customizations).

    Each member's conditions, in order, get ``<clusterName>=`` in front of their message. A condition with
    the same type, status and reason as one already kept is folded into that one: its message is appended
    after ``", "`` and its other fields are dropped. Members without conditions add nothing.
    """
    merged: list[dict[str, Value]] = []
    for item in _as_list(items, "merge_conditions"):
        _need(isinstance(item, Mapping), f"`merge_conditions` expects status items, got {type_name(item)}")
        status = item.get("status")
        conditions = status.get("conditions") if isinstance(status, Mapping) else None
        for condition in conditions if isinstance(conditions, list) else []:
            _need(isinstance(condition, Mapping), f"a condition is an object, not {type_name(condition)}")
            message = (f"{_concat_text(item.get('clusterName'), 'a clusterName')}="
                       f"{_concat_text(condition.get('message'), 'a condition message')}")
            kept = _same_condition(merged, condition)
            if kept is None:
                merged.append({**condition, "message": message})
            else:
                kept["message"] = f"{kept['message']}, {message}"
    return merged


def _dropped(value: Value, drop: list[Value]) -> bool:
    """Whether a scalar equals one of ``drop`` the way Lua's ``==`` compares (no bool/number mixing)."""
    for item in drop:
        if is_number(value) and is_number(item) and value == item:
            return True
        if isinstance(value, str) and isinstance(item, str) and value == item:
            return True
    return False


def _prune(value: Value, drop: Value = None) -> Value:
    """Remove, at every depth, the fields and elements equal to a value of ``drop`` and the objects and
    lists that are or become empty; null when nothing is left."""
    dropped = _as_list(drop, "prune")
    if isinstance(value, Mapping):
        kept = {k: v for k, v in ((k, _prune(v, dropped)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        items = [v for v in (_prune(v, dropped) for v in value) if v is not None]
        return items or None
    return None if _dropped(value, dropped) else value


def _from_items(pairs: Value) -> dict[str, Value]:
    """The object built from ``[key, value]`` pairs (the inverse of ``items``); a later key wins, null values
    are left out."""
    out: dict[str, Value] = {}
    for pair in _as_list(pairs, "from_items"):
        _need(isinstance(pair, list) and len(pair) == 2, "`from_items` expects [key, value] pairs")
        _need(isinstance(pair[0], str), f"`from_items` needs string keys, got {type_name(pair[0])}")
        out[pair[0]] = pair[1]
    return {k: v for k, v in out.items() if v is not None}


def _resource_fold(start: Value, values: Value) -> Value:
    """``acc = kube.resourceAdd(acc, v)`` for each ``v`` in turn, from ``start``: each step re-reads the text
    of the step before, so the result can be formatted differently from one ``resource_add`` of them all."""
    add = _kube("resource_add")
    total = start
    for value in _as_list(values, "resource_fold"):
        total = add(total, value)
    return total


def _replica_requirements(template: Value, namespace: Value = None, estimate: Value = False) -> Value:
    """Karmada's ``GenerateReplicaRequirements`` over a typed pod template, the view its native interpreters
    take (an explicitly empty ``nodeSelector`` counts as present). With ``estimate`` (the
    ``ResourceQuotaEstimate`` gate) a non-empty ``priorityClassName`` is copied and ``namespace`` filled."""
    from kpl.engine import kube

    _need(isinstance(estimate, bool), f"`replica_requirements` expects a bool, got {type_name(estimate)}")
    _need(namespace is None or isinstance(namespace, str),
          f"`replica_requirements` expects a string namespace, got {type_name(namespace)}")
    try:
        return kube.replica_requirements(template or {}, namespace=namespace,
                                         resource_quota_estimate=estimate)
    except (ValueError, TypeError, KeyError) as error:
        raise EvalError(f"`replica_requirements`: {error}") from None


def default_gate(name: Value) -> bool:
    """``gate("Name")``: whether a Karmada feature gate is on. Interpreter rules see the gates their run was
    given; anywhere else a gate has Karmada's default value. An unknown gate name is an error."""
    from kpl.engine.features import FeatureGateError, FeatureGates

    try:
        return FeatureGates().enabled(_string(name, "gate"))
    except FeatureGateError as error:
        raise EvalError(str(error)) from None


def _now() -> str:
    """The current UTC time as an RFC 3339 timestamp with whole seconds, as Lua's ``os.date`` prints it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _match(value: Value, pattern: Value) -> list[Value] | None:
    """The captured groups of the first match of a regular expression (ASCII classes), or the whole match
    when it has no groups; null when it does not match. Like Lua's ``string.match``."""
    text, regex = _string(value, "match"), _string(pattern, "match")
    compiled = _regex(regex, "match")
    try:
        found = run_regex(text, compiled.search)
    except RegexLimitError as error:
        raise EvalError(f"`match`: {error}") from None
    if found is None:
        return None
    return list(found.groups()) if found.re.groups else [found.group(0)]


def _match_all(value: Value, pattern: Value) -> list[list[Value]]:
    """Every non-overlapping match of a regular expression, left to right, each as the list of its captured
    groups (or of the whole match when there are none): Lua's ``string.gmatch`` collected into a list."""
    text, regex = _string(value, "match_all"), _string(pattern, "match_all")
    compiled = _regex(regex, "match_all")
    try:
        found = run_regex(text, lambda subject: list(compiled.finditer(subject)))
    except RegexLimitError as error:
        raise EvalError(f"`match_all`: {error}") from None
    return [list(m.groups()) if compiled.groups else [m.group(0)] for m in found]


def _regex(pattern: str, function: str) -> re.Pattern[str]:
    """A rule's regular expression (ASCII classes) within the limits of :mod:`kpl.engine.limits`."""
    try:
        return compile_regex(pattern, re.ASCII)
    except re.error as error:
        raise EvalError(f"`{function}`: invalid pattern: {error}") from None
    except RegexLimitError as error:
        raise EvalError(f"`{function}`: {error}") from None


def _fail(message: Value) -> Value:
    """Stop the operation with ``message``: a rule's way to reject input the original script rejects."""
    raise EvalError(_str(message) or "the rule failed")


FUNCTIONS: dict[str, Function] = {
    "abs": (1, 1, _abs),
    "all": (1, 1, _all),
    "any": (1, 1, _any),
    "ceil": (1, 1, _ceil),
    "contains": (2, 2, _contains),
    "endswith": (2, 2, _endswith),
    "enumerate": (1, 2, _enumerate),
    "exists": (1, 1, lambda v: v is not None),
    "fail": (1, 1, _fail),
    "first": (1, 1, _first),
    "flatten": (1, 1, _flatten),
    "float": (1, 1, lambda v: None if v is None else float(_numeric(tonumber(v), "float"))),
    "floor": (1, 1, _floor),
    "format": (1, None, _format),
    "gate": (1, 1, default_gate),
    "from_items": (1, 1, _from_items),
    "get": (2, 3, _get),
    "int": (1, 1, _int),
    "is_bool": (1, 1, _is(lambda v: isinstance(v, bool))),
    "is_list": (1, 1, _is(lambda v: isinstance(v, list))),
    "is_map": (1, 1, _is(lambda v: isinstance(v, Mapping))),
    "is_number": (1, 1, _is(is_number)),
    "is_string": (1, 1, _is(lambda v: isinstance(v, str))),
    "items": (1, 1, _items),
    "join": (2, 2, _join),
    "keys": (1, 1, _keys),
    "last": (1, 1, _last),
    "len": (1, 1, _len),
    "lower": (1, 1, _lower),
    "match": (2, 2, _match),
    "match_all": (2, 2, _match_all),
    "max": (1, None, _extreme("max", max)),
    "merge": (0, None, _merge),
    "merge_conditions": (1, 1, _merge_conditions),
    "min": (1, None, _extreme("min", min)),
    "now": (0, 0, _now),
    "number": (1, 1, tonumber),
    "omit": (1, None, _omit),
    "pick": (1, None, _pick),
    "prune": (1, 2, _prune),
    "quantity": (1, 1, _quantity),
    "range": (1, 1, _range),
    "sort": (1, 1, _sort),
    "split": (2, 2, _split),
    "startswith": (2, 2, _startswith),
    "str": (1, 1, _str),
    "sum": (1, 1, _sum),
    "trim": (1, 1, _trim),
    "type": (1, 1, type_name),
    "unique": (1, 1, _unique),
    "upper": (1, 1, _upper),
    "values": (1, 1, _values),
    # Karmada's `kube` helper library, for rules that replace bundled Lua scripts.
    "pod_requirements": (1, 1, _kube("pod_requirements")),
    "pod_dependencies": (2, 2, _kube("pod_dependencies")),
    "resource_add": (0, None, _kube("resource_add")),
    "resource_fold": (2, 2, _resource_fold),
    "resource_quantity": (1, 1, _kube("get_resource_quantity")),
    "replica_requirements": (1, 3, _replica_requirements),
}
