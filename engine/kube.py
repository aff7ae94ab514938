"""Karmada's ``kube`` helper library (what bundled and user Lua scripts call), as pure Python.

Values are JSON-like (dict, list, str, int, float, bool, None). The functions reproduce the answers of
Karmada's Go implementations, including which values come back as strings or numbers, when a result is
``None`` rather than empty, and when the Lua VM would raise (here :class:`KubeHelperError`, a ValueError).

* :func:`pod_requirements` — ``kube.accuratePodRequirements(podTemplate)``
* :func:`pod_dependencies` — ``kube.getPodDependencies(podTemplate, namespace)``
* :func:`resource_add` — ``kube.resourceAdd(...)``
* :func:`get_resource_quantity` — ``kube.getResourceQuantity(q)``

and the Go views native interpreters use: :func:`replica_requirements` (``GenerateReplicaRequirements``) and
:func:`pod_template_request` (``Resource.AddPodTemplateRequest``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from kpl.engine.kube_dependencies import dependency_names
from kpl.engine.kube_podspec import KubeHelperError, PodTemplate, decode_pod_template, lua_round_trip
from kpl.engine.kube_resources import pod_spec_totals
from kpl.engine.quantity import Quantity, QuantityError, go_float_text, parse_quantity

__all__ = [
    "KubeHelperError",
    "get_resource_quantity",
    "lua_number_text",
    "lua_type_name",
    "pod_dependencies",
    "pod_requirements",
    "pod_template_request",
    "replica_requirements",
    "resource_add",
]

_DEPENDENCY_KINDS: Final = ("ConfigMap", "Secret", "ServiceAccount", "PersistentVolumeClaim")
_INT64_LIMIT: Final = 2.0**63


def lua_type_name(value: Any) -> str:
    """The Lua type a JSON-like value has inside Karmada's Lua VM."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (str, Quantity)):
        return "string"
    if isinstance(value, (Mapping, list, tuple)):
        return "table"
    return "userdata"


def lua_number_text(number: float) -> str:
    """The JSON text of a Lua number handed back to Go (Go's float formatting; ``2.0`` is ``2``)."""
    return go_float_text(float(number))


def _lua_number_string(number: float) -> str:
    """A Lua number as the Lua VM turns it into a string: integral values as integers, others like Go's
    ``%v`` (shortest digits, exponent form below 1e-4 and from 1e6, e.g. ``1.5``, ``1.2345675e+06``)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number.is_integer() and -_INT64_LIMIT <= number < _INT64_LIMIT:
        return str(int(number))
    sign, digit_tuple, exponent = Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    point = exponent + len(digit_tuple) - 1
    if -4 <= point < 6:
        return go_float_text(number)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if point < 0 else '+'}{abs(point):02d}"


# -- quantities -------------------------------------------------------------------------------------------


def _quantity_argument(value: Any, position: int, function: str) -> Quantity:
    if value is None:
        return Quantity.zero()
    if isinstance(value, Quantity):
        value = str(value)
    if not isinstance(value, str):
        raise KubeHelperError(
            f"bad argument #{position} to {function} (string expected, got {lua_type_name(value)})"
        )
    try:
        return parse_quantity(value)
    except QuantityError as error:
        raise KubeHelperError(f"cannot parse `{value}`: {error}") from None


def resource_add(*values: Any) -> str:
    """``kube.resourceAdd``: the canonical text of the exact sum (nil counts as zero; no arguments → ``"0"``).

    The sum starts from a format-less zero and takes the format of the addend that first makes it non-zero;
    cached input text is never reused.
    """
    total = Quantity.zero()
    for position, value in enumerate(values, start=1):
        total = total + _quantity_argument(value, position, "resourceAdd")
    return str(total)


def get_resource_quantity(value: Any) -> float:
    """``kube.getResourceQuantity``: the value as a float (``"1024m"`` → 1.024, ``"2Gi"`` → 2147483648.0).

    Computed like Kubernetes' approximate float conversion; negative or infinite results raise.
    """
    number = _quantity_argument(value, 1, "getResourceQuantity").approximate_float()
    if number < 0:
        raise KubeHelperError(f"int approximation unexpectedly returned a negative value for `{value}`")
    if math.isinf(number):
        raise KubeHelperError(f"int approximation unexpectedly returned an infinite value for `{value}`")
    return number


# -- pod templates ----------------------------------------------------------------------------------------


def _struct_table(value: Any, position: int, function: str) -> Any:
    """A Lua table argument decoded into a Go struct: an empty table reads as an empty object."""
    if not isinstance(value, (Mapping, list, tuple)):
        got = lua_type_name(value)
        raise KubeHelperError(f"bad argument #{position} to {function} (table expected, got {got})")
    table = lua_round_trip(value)
    if isinstance(table, list):
        if table:
            raise KubeHelperError(f"{function}: a list cannot be decoded into a pod template")
        return {}
    return table


def _node_claim(pod: PodTemplate) -> dict[str, Any] | None:
    if pod.node_selector is None and pod.hard_node_affinity is None and not pod.tolerations:
        return None
    claim: dict[str, Any] = {}
    if pod.hard_node_affinity is not None:
        claim["hardNodeAffinity"] = pod.hard_node_affinity
    if pod.node_selector:
        claim["nodeSelector"] = dict(pod.node_selector)
    if pod.tolerations:
        claim["tolerations"] = [dict(t) for t in pod.tolerations]
    return claim


def _resources(pod: PodTemplate) -> dict[str, str] | None:
    containers = [(c.requests, c.limits) for c in pod.containers]
    init_containers = [(c.requests, c.limits) for c in pod.init_containers]
    quantities = pod_spec_totals(containers, init_containers, pod.overhead).resource_list()
    if quantities is None:
        return None
    return {name: str(quantity) for name, quantity in sorted(quantities.items())}


def _requirements(pod: PodTemplate, resource_quota_estimate: bool) -> dict[str, Any] | None:
    """``GenerateReplicaRequirements`` as JSON: None when there is neither a node claim nor a request."""
    claim = _node_claim(pod)
    resources = _resources(pod)
    if claim is None and resources is None:
        return None
    result: dict[str, Any] = {}
    if claim is not None:
        result["nodeClaim"] = claim
    if resources is not None:
        result["resourceRequest"] = resources
    if resource_quota_estimate and pod.priority_class_name:
        result["priorityClassName"] = pod.priority_class_name
    return result


def _without_nulls(value: Any) -> Any:
    """JSON decoded into Lua: null fields disappear."""
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value if item is not None]
    return value


def pod_requirements(template: Any, *, resource_quota_estimate: bool = False) -> dict[str, Any] | None:
    """``kube.accuratePodRequirements(podTemplate)``.

    Returns None when the template yields neither a node claim nor resource requests, else
    ``{nodeClaim?{hardNodeAffinity?, nodeSelector?, tolerations?}, resourceRequest?{name: text},
    priorityClassName?}`` with quantities as canonical strings. ``priorityClassName`` is copied only with the
    ``ResourceQuotaEstimate`` feature gate on; ``namespace`` is never set. The table passes through the Lua
    boundary first, so nested empty tables (``nodeSelector = {}``) count as absent.
    """
    table = _struct_table(template, 1, "accuratePodRequirements")
    requirements = _requirements(decode_pod_template(table), resource_quota_estimate)
    return None if requirements is None else dict(_without_nulls(requirements))


def replica_requirements(template: Any, *, namespace: str | None = None,
                         resource_quota_estimate: bool = False) -> dict[str, Any] | None:
    """Karmada's ``ReplicaRequirements`` for a typed pod template (native Deployment, Job, Pod, ...) as JSON.

    Unlike :func:`pod_requirements` an explicitly empty ``nodeSelector: {}`` counts as present (giving an
    empty ``nodeClaim``). With ``resource_quota_estimate`` the detector also fills ``namespace`` (when there
    are requirements at all) and the helper copies a non-empty ``priorityClassName``.
    """
    requirements = _requirements(decode_pod_template(template), resource_quota_estimate)
    if requirements is not None and resource_quota_estimate and namespace:
        requirements["namespace"] = namespace
    return requirements


def pod_template_request(pod_spec: Any) -> dict[str, Any]:
    """The integer totals of a pod spec (``Resource.AddPodTemplateRequest``) with Go's field names:
    ``milliCPU``, ``memory``, ``ephemeralStorage``, ``allowedPodNumber`` and ``scalarResources``."""
    pod = decode_pod_template({"spec": pod_spec})
    containers = [(c.requests, c.limits) for c in pod.containers]
    init_containers = [(c.requests, c.limits) for c in pod.init_containers]
    return pod_spec_totals(containers, init_containers, pod.overhead).to_dict()


def _namespace_argument(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _lua_number_string(float(value))
    got = lua_type_name(value)
    raise KubeHelperError(f"bad argument #2 to getPodDependencies (string expected, got {got})")


def pod_dependencies(template: Any, namespace: Any) -> list[dict[str, str]] | None:
    """``kube.getPodDependencies(podTemplate, namespace)``: the objects a pod template refers to.

    ConfigMaps, then Secrets, then the ServiceAccount, then PersistentVolumeClaims, each as
    ``{apiVersion: "v1", kind, namespace, name}`` in ``namespace`` (nil → ``"default"``; an empty namespace is
    omitted). Names are de-duplicated per kind and, since Karmada leaves the order within a kind unspecified,
    sorted by name here. Returns None when there are no dependencies.
    """
    table = _struct_table(template, 1, "getPodDependencies")
    space = _namespace_argument(namespace)
    names = dependency_names(decode_pod_template(table))
    result: list[dict[str, str]] = []
    for kind in _DEPENDENCY_KINDS:
        for name in sorted(names[kind]):
            entry = {"apiVersion": "v1", "kind": kind, "namespace": space, "name": name}
            if not space:
                del entry["namespace"]
            result.append(entry)
    return result or None
