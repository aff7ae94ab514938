"""Reading a JSON-like pod template the way Karmada's Go code decodes it into ``corev1.PodTemplateSpec``.

Only the fields Karmada's helpers read are decoded and type-checked: containers' requests and limits, env and
envFrom references, overhead, nodeSelector, tolerations, required node affinity, priorityClassName,
serviceAccountName, imagePullSecrets and volumes. A JSON ``null`` means the field is absent, as in Go. A
value of the wrong JSON type raises :class:`KubeHelperError`, as Go's decoder would fail; unknown fields are
ignored.
Field names match exactly (Go's decoder would also accept other letter cases; that is not reproduced).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kpl.engine.quantity import Quantity, QuantityError, go_float_text

__all__ = [
    "Container",
    "KubeHelperError",
    "PodTemplate",
    "decode_pod_template",
    "lua_round_trip",
    "node_selector_json",
    "toleration_json",
]

_TOLERATION_STRINGS: Final = ("key", "operator", "value", "effect")


class KubeHelperError(ValueError):
    """A ``kube`` helper call that Karmada's Lua VM would end with an error."""


# -- JSON-type checks -------------------------------------------------------------------------------------


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise KubeHelperError(f"`{path}` must be an object, got {_json_type(value)}")
    return value


def _list(value: Any, path: str) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise KubeHelperError(f"`{path}` must be a list, got {_json_type(value)}")
    return value


def _string(value: Any, path: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise KubeHelperError(f"`{path}` must be a string, got {_json_type(value)}")
    return value


def _integer(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KubeHelperError(f"`{path}` must be an integer, got {_json_type(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise KubeHelperError(f"`{path}` must be an integer, got {go_float_text(value)}")
    return int(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _quantity(value: Any, path: str) -> Quantity:
    if isinstance(value, Quantity):
        return value
    if value is None:
        return Quantity.zero()
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise KubeHelperError(f"`{path}` must be a quantity, got {_json_type(value)}")
    try:
        return Quantity.from_json(value)
    except QuantityError as error:
        raise KubeHelperError(f"`{path}`: {error}") from None


def resource_list(value: Any, path: str) -> dict[str, Quantity] | None:
    """A ``ResourceList`` (resource name → quantity), None when absent."""
    if value is None:
        return None
    return {name: _quantity(item, f"{path}.{name}") for name, item in _object(value, path).items()}


# -- decoded shapes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Container:
    requests: dict[str, Quantity] | None
    limits: dict[str, Quantity] | None
    env: tuple[Mapping[str, Any], ...]
    env_from: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class PodTemplate:
    """The parts of a ``PodTemplateSpec`` Karmada's helpers read; JSON shapes are Go's encodings."""

    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...]
    ephemeral_containers: tuple[Container, ...]
    overhead: dict[str, Quantity] | None
    node_selector: dict[str, str] | None
    tolerations: tuple[dict[str, Any], ...]
    hard_node_affinity: dict[str, Any] | None
    priority_class_name: str
    service_account_name: str
    image_pull_secrets: tuple[str, ...]
    volumes: tuple[Mapping[str, Any], ...]


def _container(value: Any, path: str) -> Container:
    container = _object(value, path)
    resources = _object(container.get("resources"), f"{path}.resources")
    env = tuple(_object(item, f"{path}.env[{i}]") for i, item in enumerate(_list(container.get("env"), path)))
    env_from = tuple(
        _object(item, f"{path}.envFrom[{i}]") for i, item in enumerate(_list(container.get("envFrom"), path))
    )
    return Container(
        requests=resource_list(resources.get("requests"), f"{path}.resources.requests"),
        limits=resource_list(resources.get("limits"), f"{path}.resources.limits"),
        env=env,
        env_from=env_from,
    )


def _containers(spec: Mapping[str, Any], key: str) -> tuple[Container, ...]:
    items = _list(spec.get(key), f"spec.{key}")
    return tuple(_container(item, f"spec.{key}[{i}]") for i, item in enumerate(items))


def toleration_json(value: Any, path: str) -> dict[str, Any]:
    """A toleration as Go encodes it: empty strings and a null ``tolerationSeconds`` are omitted."""
    toleration = _object(value, path)
    result: dict[str, Any] = {}
    for key in _TOLERATION_STRINGS:
        text = _string(toleration.get(key), f"{path}.{key}")
        if text:
            result[key] = text
    seconds = _integer(toleration.get("tolerationSeconds"), f"{path}.tolerationSeconds")
    if seconds is not None:
        result["tolerationSeconds"] = seconds
    return result


def _requirement_json(value: Any, path: str) -> dict[str, Any]:
    requirement = _object(value, path)
    result: dict[str, Any] = {
        "key": _string(requirement.get("key"), f"{path}.key"),
        "operator": _string(requirement.get("operator"), f"{path}.operator"),
    }
    values = [_string(item, f"{path}.values") for item in _list(requirement.get("values"), f"{path}.values")]
    if values:
        result["values"] = values
    return result


def _term_json(value: Any, path: str) -> dict[str, Any]:
    term = _object(value, path)
    result: dict[str, Any] = {}
    for key in ("matchExpressions", "matchFields"):
        items = _list(term.get(key), f"{path}.{key}")
        if items:
            result[key] = [_requirement_json(item, f"{path}.{key}[{i}]") for i, item in enumerate(items)]
    return result


def node_selector_json(value: Any, path: str) -> dict[str, Any]:
    """A ``NodeSelector`` as Go encodes it (``nodeSelectorTerms`` is always written, null when absent)."""
    selector = _object(value, path)
    raw = selector.get("nodeSelectorTerms")
    if raw is None:
        return {"nodeSelectorTerms": None}
    terms = _list(raw, f"{path}.nodeSelectorTerms")
    return {"nodeSelectorTerms": [_term_json(term, path) for term in terms]}


def _node_selector_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    labels = _object(value, "spec.nodeSelector")
    return {key: _string(item, f"spec.nodeSelector.{key}") for key, item in labels.items()}


def _hard_node_affinity(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    affinity = _object(spec.get("affinity"), "spec.affinity")
    node_affinity = _object(affinity.get("nodeAffinity"), "spec.affinity.nodeAffinity")
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return None
    return node_selector_json(required, "spec.affinity.nodeAffinity.required")


def _pull_secret_names(spec: Mapping[str, Any]) -> tuple[str, ...]:
    items = _list(spec.get("imagePullSecrets"), "spec.imagePullSecrets")
    path = "spec.imagePullSecrets"
    return tuple(_string(_object(item, path).get("name"), f"{path}.name") for item in items)


def decode_pod_template(template: Any) -> PodTemplate:
    """Decode a ``PodTemplateSpec`` (``{metadata?, spec?}``); raises :class:`KubeHelperError` on bad types."""
    spec = _object(_object(template, "template").get("spec"), "spec")
    _object(_object(template, "template").get("metadata"), "metadata")
    tolerations = _list(spec.get("tolerations"), "spec.tolerations")
    volumes = _list(spec.get("volumes"), "spec.volumes")
    return PodTemplate(
        containers=_containers(spec, "containers"),
        init_containers=_containers(spec, "initContainers"),
        ephemeral_containers=_containers(spec, "ephemeralContainers"),
        overhead=resource_list(spec.get("overhead"), "spec.overhead"),
        node_selector=_node_selector_map(spec.get("nodeSelector")),
        tolerations=tuple(toleration_json(t, f"spec.tolerations[{i}]") for i, t in enumerate(tolerations)),
        hard_node_affinity=_hard_node_affinity(spec),
        priority_class_name=_string(spec.get("priorityClassName"), "spec.priorityClassName"),
        service_account_name=_string(spec.get("serviceAccountName"), "spec.serviceAccountName"),
        image_pull_secrets=_pull_secret_names(spec),
        volumes=tuple(_object(v, f"spec.volumes[{i}]") for i, v in enumerate(volumes)),
    )


# -- the Lua boundary -------------------------------------------------------------------------------------


def _is_empty_table(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple)) and not value


def _lua_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isinf(number) or math.isnan(number):
            raise KubeHelperError(f"the number `{value}` cannot be encoded as JSON")
        return number
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _lua_value(v) for k, v in value.items() if v is not None and not _is_empty_table(v)}
    if isinstance(value, (list, tuple)):
        return [_lua_value(v) for v in value if v is not None and not _is_empty_table(v)]
    raise KubeHelperError(f"a {type(value).__name__} cannot be passed to a kube helper")


def lua_round_trip(value: Any) -> Any:
    """A table as Karmada's Lua VM hands it back to Go: every number a float, null fields gone, and every
    nested empty table deleted (Lua cannot tell ``{}`` from ``[]``, so Karmada drops them)."""
    return _lua_value(value)
