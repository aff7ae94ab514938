"""Shape checks for the objects of a fleet snapshot, before the engine reads them.

A snapshot comes from a live fleet or a pull request, so a field may hold anything. Every field the
planner, scheduler and quota code read is checked here against the type Karmada's API gives it (a string,
an int32, a list of objects, a quantity...), so a wrong type is a located diagnostic and never reaches the
engine. Unknown fields are allowed, as the API server's pruning would drop them. Workloads are only checked
for their metadata: their ``spec`` is read by interpreter rules, which report problems themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kpl.engine.quantity import Quantity, QuantityError, quantity_texts_valid

__all__ = ["ShapeProblem", "shape_problems"]

_INT32 = {"type": "integer", "minimum": -(1 << 31), "maximum": (1 << 31) - 1}
_INT64 = {"type": "integer", "minimum": -(1 << 63), "maximum": (1 << 63) - 1}
_STR = {"type": "string"}
_STRINGS = {"type": "array", "items": _STR}
_STRING_MAP = {"type": "object", "additionalProperties": _STR}
_QUANTITY = {"type": ["string", "number"], "format": "quantity"}
_RESOURCES = {"type": "object", "additionalProperties": _QUANTITY}


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def _array(items: Any) -> dict[str, Any]:
    return {"type": "array", "items": items}


_EXPRESSION = _obj(key=_STR, operator=_STR, values=_STRINGS)
_LABEL_SELECTOR = _obj(matchLabels=_STRING_MAP, matchExpressions=_array(_EXPRESSION))
_METADATA = _obj(name=_STR, namespace=_STR, uid=_STR, labels=_STRING_MAP, annotations=_STRING_MAP,
                 generation=_INT64, resourceVersion=_STR, deletionTimestamp={"type": ["string", "null"]},
                 creationTimestamp={"type": ["string", "null"]})
_AFFINITY = _obj(clusterNames=_STRINGS, exclude=_STRINGS, labelSelector=_LABEL_SELECTOR,
                 fieldSelector=_obj(matchExpressions=_array(_EXPRESSION)), affinityName=_STR)
_PLACEMENT = _obj(
    clusterAffinity=_AFFINITY,
    clusterAffinities=_array(_AFFINITY),
    clusterTolerations=_array(_obj(key=_STR, operator=_STR, value=_STR, effect=_STR,
                                   tolerationSeconds=_INT64)),
    spreadConstraints=_array(_obj(spreadByField=_STR, spreadByLabel=_STR, maxGroups=_INT32,
                                  minGroups=_INT32)),
    replicaScheduling=_obj(
        replicaSchedulingType=_STR, replicaDivisionPreference=_STR,
        weightPreference=_obj(staticWeightList=_array(_obj(targetCluster=_AFFINITY, weight=_INT64)),
                              dynamicWeight=_STR),
    ),
)
_SELECTOR = _obj(apiVersion=_STR, kind=_STR, namespace=_STR, name=_STR, labelSelector=_LABEL_SELECTOR)
_REQUIREMENTS = _obj(resourceRequest=_RESOURCES, namespace=_STR, priorityClassName=_STR,
                     nodeClaim=_obj(nodeSelector=_STRING_MAP, tolerations=_array({"type": "object"})))
_COMPONENT = _obj(name=_STR, replicas=_INT32, replicaRequirements=_REQUIREMENTS)
_TARGETS = _array(_obj(name=_STR, replicas=_INT32))

_KINDS: dict[str, dict[str, Any]] = {
    "Cluster": _obj(
        spec=_obj(provider=_STR, region=_STR, zone=_STR, zones=_STRINGS,
                  taints=_array(_obj(key=_STR, value=_STR, effect=_STR)),
                  resourceModels=_array(_obj(grade=_INT32, ranges=_array(_obj(name=_STR, min=_QUANTITY,
                                                                                max=_QUANTITY))))),
        status=_obj(
            apiEnablements=_array(_obj(groupVersion=_STR, resources=_array(_obj(name=_STR, kind=_STR)))),
            conditions=_array(_obj(type=_STR, status=_STR, reason=_STR, message=_STR)),
            resourceSummary=_obj(allocatable=_RESOURCES, allocated=_RESOURCES, allocating=_RESOURCES,
                                 allocatableModelings=_array(_obj(grade=_INT32, count=_INT32))),
        ),
    ),
    "ResourceBinding": _obj(spec=_obj(
        resource=_obj(apiVersion=_STR, kind=_STR, namespace=_STR, name=_STR, uid=_STR),
        replicas=_INT32, replicaRequirements=_REQUIREMENTS, components=_array(_COMPONENT),
        clusters=_TARGETS, placement=_PLACEMENT, requiredBy=_array({"type": "object"}),
        rescheduleTriggeredAt={"type": ["string", "null"]},
    ), status=_obj(aggregatedStatus=_array({"type": "object"}), conditions=_array({"type": "object"}))),
    "PropagationPolicy": _obj(spec=_obj(
        resourceSelectors=_array(_SELECTOR), priority=_INT32, preemption=_STR, placement=_PLACEMENT,
        propagateDeps={"type": "boolean"}, schedulerName=_STR,
    )),
    "FederatedResourceQuota": _obj(
        spec=_obj(overall=_RESOURCES, staticAssignments=_array(_obj(clusterName=_STR, hard=_RESOURCES))),
        status=_obj(overall=_RESOURCES, overallUsed=_RESOURCES,
                    aggregatedStatus=_array(_obj(clusterName=_STR, hard=_RESOURCES, used=_RESOURCES))),
    ),
}
_KINDS["ClusterResourceBinding"] = _KINDS["ResourceBinding"]
_KINDS["ClusterPropagationPolicy"] = _KINDS["PropagationPolicy"]



@dataclass(frozen=True, slots=True)
class ShapeProblem:
    """One field of an object with the wrong shape: its path from the object's root and what is wrong."""

    path: tuple[str | int, ...]
    message: str

    @property
    def dotted(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out or "(object)"


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "null": (type(None),),
    "array": (list,), "object": (dict,),
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _has_type(value: object, wanted: str) -> bool:
    if isinstance(value, bool) and wanted != "boolean":
        return False
    return isinstance(value, _JSON_TYPES[wanted])


def _scalar_problem(value: object, schema: Mapping[str, Any]) -> str | None:
    if "minimum" in schema and not schema["minimum"] <= value <= schema["maximum"]:
        return f"{value} is out of range ({schema['minimum']} to {schema['maximum']})"
    if schema.get("format") == "quantity":
        try:
            Quantity.from_json(value)  # type: ignore[arg-type]
        except QuantityError as error:
            return str(error)
    return None


def _walk(value: Any, schema: Mapping[str, Any], path: tuple[str | int, ...]) -> Iterator[ShapeProblem]:
    wanted = schema.get("type", "object")
    names = wanted if isinstance(wanted, list) else [wanted]
    if not any(_has_type(value, name) for name in names):
        yield ShapeProblem(path, f"expected {' or '.join(names)}, got {_json_type(value)}")
        return
    if isinstance(value, dict):
        properties, rest = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            inner = properties.get(key, rest)
            if inner is not None:
                yield from _walk(item, inner, (*path, key))
    elif isinstance(value, list):
        if "items" in schema:
            for index, item in enumerate(value):
                yield from _walk(item, schema["items"], (*path, index))
    else:
        message = _scalar_problem(value, schema)
        if message:
            yield ShapeProblem(path, message)


_Check = Callable[[Any], bool]
"""A compiled schema: whether a value has no shape problem at all."""


_STRINGS_ONLY = frozenset((str,))


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _all_strings(values: Iterable[Any]) -> bool:
    """Whether every value is a string: by exact type in one C-level pass, else one value at a time."""
    items = list(values)
    return _STRINGS_ONLY.issuperset(map(type, items)) or all(isinstance(item, str) for item in items)


def _quantity_ok(value: Any) -> bool:
    wanted = _has_type(value, "string") or _has_type(value, "number")
    return wanted and _scalar_problem(value, _QUANTITY) is None


def _quantities_ok(values: Iterable[Any]) -> bool:
    """Whether every value is a quantity; strings (nearly always) go through the parse cache in one pass."""
    items = list(values)
    if _STRINGS_ONLY.issuperset(map(type, items)):
        return quantity_texts_valid(items)
    return all(map(_quantity_ok, items))


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and _all_strings(value.values())


def _quantity_map(value: Any) -> bool:
    return isinstance(value, dict) and _quantities_ok(value.values())


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and _all_strings(value)


def _compile(schema: Mapping[str, Any]) -> _Check:
    """A fast yes/no check equivalent to :func:`_walk` finding nothing (built once per schema).

    Each kind of schema node gets its own small function, and an object's string fields (most of them)
    are checked in the object's loop without a call; string maps, string lists and quantity maps are
    checked by exact type in C-level passes, value by value only when a type is not exactly the expected
    one."""
    if schema is _STR:
        return _is_string
    if schema is _STRING_MAP:
        return _string_map
    if schema is _RESOURCES:
        return _quantity_map
    if schema is _STRINGS:
        return _string_list
    if schema is _INT32 or schema is _INT64:
        return _integer_check(schema["minimum"], schema["maximum"])
    wanted = schema.get("type", "object")
    names = tuple(wanted) if isinstance(wanted, list) else (wanted,)
    if names == ("string",) and "minimum" not in schema and schema.get("format") != "quantity":
        return _is_string
    if names == ("object",):
        return _object_check(schema)
    if names == ("array",):
        return _array_check(schema)
    return _scalar_check(schema, names)


def _integer_check(low: int, high: int) -> _Check:
    def check(value: Any) -> bool:
        return isinstance(value, int) and value.__class__ is not bool and low <= value <= high

    return check


def _object_check(schema: Mapping[str, Any]) -> _Check:
    properties = {key: _compile(inner) for key, inner in schema.get("properties", {}).items()}
    rest = _compile(schema["additionalProperties"]) if schema.get("additionalProperties") is not None else None
    is_string = _is_string

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for key, item in value.items():
            inner = properties.get(key, rest)
            if inner is None:
                continue
            if inner is is_string:
                if not isinstance(item, str):
                    return False
            elif not inner(item):
                return False
        return True

    return check


def _array_check(schema: Mapping[str, Any]) -> _Check:
    items = _compile(schema["items"]) if "items" in schema else None

    def check(value: Any) -> bool:
        return isinstance(value, list) and (items is None or all(map(items, value)))

    return check


def _scalar_check(schema: Mapping[str, Any], names: tuple[str, ...]) -> _Check:
    types = tuple(kind for name in names for kind in _JSON_TYPES[name])
    allow_bool = "boolean" in names
    scalar = "minimum" in schema or schema.get("format") == "quantity"
    containers = any(name in ("object", "array") for name in names)
    if containers:  # no schema of the API mixes containers with scalars; kept general all the same
        nested, items = _object_check(schema), _array_check(schema)

    def check(value: Any) -> bool:
        if not isinstance(value, types) or (value.__class__ is bool and not allow_bool):
            return False
        if containers and isinstance(value, dict):
            return nested(value)
        if containers and isinstance(value, list):
            return items(value)
        return not scalar or _scalar_problem(value, schema) is None

    return check


def _root(kind: str) -> dict[str, Any]:
    found = _KINDS.get(kind, _obj())
    return {"type": "object", "properties": {"metadata": _METADATA, **found["properties"]}}


_ROOTS: dict[str, dict[str, Any]] = {kind: _root(kind) for kind in _KINDS}
_OTHER_ROOT = _root("")
_CHECKS: dict[str, _Check] = {kind: _compile(schema) for kind, schema in _ROOTS.items()}
_OTHER_CHECK = _compile(_OTHER_ROOT)


def shape_problems(obj: Mapping[str, Any]) -> Iterator[ShapeProblem]:
    """Every field of ``obj`` whose shape the engine cannot read, in document order.

    A compiled check per kind answers the common case (no problem) without building paths; only an object
    that fails it is walked again to locate and describe its problems.
    """
    kind = str(obj.get("kind"))
    if _CHECKS.get(kind, _OTHER_CHECK)(obj):
        return
    yield from _walk(obj, _ROOTS.get(kind, _OTHER_ROOT), ())
