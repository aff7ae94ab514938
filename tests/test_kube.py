"""The ``kube`` helper library: pod requirements, dependencies, resource sums, and their conformance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.compare import deep_diff
from kpl.engine.conformance.registry import lookup
from kpl.engine.kube import (
    KubeHelperError,
    get_resource_quantity,
    lua_number_text,
    pod_dependencies,
    pod_requirements,
    pod_template_request,
    replica_requirements,
    resource_add,
)
from kpl.engine.kube_resources import is_scalar_resource_name
from kpl.engine.quantity import parse_quantity

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
HELPER_OPS = ("replica_requirements", "pod_template_request", "quantity_roundtrip")


def _vector_cases() -> list[dict[str, Any]]:
    path = KARMADA / "vectors" / "interpreter.yaml"
    if not path.exists():
        return []
    return [case for case in yaml.safe_load(path.read_text())["cases"] if case["op"] in HELPER_OPS]


VECTOR_CASES = _vector_cases()


@pytest.mark.skipif(not VECTOR_CASES, reason="shared conformance data not present")
def test_every_helper_op_has_cases() -> None:
    assert {case["op"] for case in VECTOR_CASES} == set(HELPER_OPS)


@pytest.mark.parametrize("case", VECTOR_CASES, ids=[case["name"] for case in VECTOR_CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None, case["op"]
    assert op(case["input"], case["expected"]) is None


def test_vector_ops_can_fail() -> None:
    op = lookup("quantity_roundtrip")
    assert op is not None
    assert op({"text": "0.5", "path": "parse_then_serialize"}, {"serialized": "0.5"}) is not None
    requirements = lookup("replica_requirements")
    assert requirements is not None
    assert requirements({"podTemplate": {}}, {"replicaRequirements": {"resourceRequest": {"cpu": "1"}}})


# -- Karmada's interpreter test data for the bundled scripts that call the helpers ------------------------


def _documents(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _spec_template(obj: dict[str, Any]) -> Iterator[Any]:
    yield obj["spec"]["template"]


def _cron_template(obj: dict[str, Any]) -> Iterator[Any]:
    template: Any = {}
    outer = obj["spec"]["template"]
    for key in ("jobTemplate", "broadcastJobTemplate"):
        if outer.get(key) is not None:
            template = outer[key]["spec"]["template"]
    yield template


def _replica_specs(field: str, kinds: tuple[str, ...]) -> Callable[[dict[str, Any]], Iterator[Any]]:
    def templates(obj: dict[str, Any]) -> Iterator[Any]:
        specs = (obj.get("spec") or {}).get(field) or {}
        for kind in kinds:
            if specs.get(kind) is not None and specs[kind].get("template") is not None:
                yield specs[kind]["template"]

    return templates


TF_REPLICA_TYPES = ("PS", "Worker", "Chief", "Master", "Evaluator")

# which pod templates each bundled script hands to kube.getPodDependencies
DEPENDENCY_KINDS: dict[str, Callable[[dict[str, Any]], Iterator[Any]]] = {
    "apps.kruise.io/v1alpha1/CloneSet": _spec_template,
    "apps.kruise.io/v1alpha1/BroadcastJob": _spec_template,
    "apps.kruise.io/v1alpha1/DaemonSet": _spec_template,
    "apps.kruise.io/v1alpha1/UnitedDeployment": _spec_template,
    "apps.kruise.io/v1beta1/StatefulSet": _spec_template,
    "apps.kruise.io/v1alpha1/AdvancedCronJob": _cron_template,
    "kubeflow.org/v1/PyTorchJob": _replica_specs("pytorchReplicaSpecs", ("Master", "Worker")),
    "kubeflow.org/v1/TFJob": _replica_specs("tfReplicaSpecs", TF_REPLICA_TYPES),
}


def _dependency_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for kind in DEPENDENCY_KINDS:
        for doc in _documents(KARMADA / "interpreter" / kind / "interpretdependency-test.yaml"):
            if "dependencies" in (doc.get("output") or {}):
                cases.append((kind, doc))
    return cases


DEPENDENCY_CASES = _dependency_cases()


def _sort_key(ref: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(ref.get(key, "")) for key in ("apiVersion", "kind", "namespace", "name"))


@pytest.mark.skipif(not DEPENDENCY_CASES, reason="shared conformance data not present")
@pytest.mark.parametrize(("kind", "case"), DEPENDENCY_CASES, ids=[c["name"] for _, c in DEPENDENCY_CASES])
def test_interpreter_dependency_case(kind: str, case: dict[str, Any]) -> None:
    obj = case["desiredObj"]
    found: list[dict[str, Any]] = []
    for template in DEPENDENCY_KINDS[kind](obj):
        found.extend(pod_dependencies(template, obj["metadata"].get("namespace")) or [])
    # the interpreter keeps each reference once across a script's whole result, then sorts
    unique = {_sort_key(ref): ref for ref in found}
    expected = case["output"]["dependencies"] or []
    assert sorted(unique.values(), key=_sort_key) == sorted(expected, key=_sort_key)


def _requirement_cases() -> list[dict[str, Any]]:
    path = KARMADA / "interpreter" / "kubeflow.org" / "v1" / "Notebook" / "interpretreplica-test.yaml"
    return [doc for doc in _documents(path) if "requires" in (doc.get("output") or {})]


REQUIREMENT_CASES = _requirement_cases()


@pytest.mark.skipif(not REQUIREMENT_CASES, reason="shared conformance data not present")
@pytest.mark.parametrize("case", REQUIREMENT_CASES, ids=[c["name"] for c in REQUIREMENT_CASES])
def test_interpreter_requirements_case(case: dict[str, Any]) -> None:
    actual = pod_requirements(case["desiredObj"]["spec"]["template"])
    assert deep_diff(actual, case["output"]["requires"]) is None


# -- accuratePodRequirements / GenerateReplicaRequirements -------------------------------------------------


def _template(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"resources": c} for c in containers], **spec}}


def test_requests_sum_and_init_containers_take_the_maximum() -> None:
    template = _template(
        {"requests": {"cpu": "500m", "memory": "256Mi"}},
        {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"nvidia.com/gpu": "1"}},
        initContainers=[
            {"resources": {"requests": {"cpu": "2"}}},
            {"resources": {"limits": {"memory": "100Mi"}}},
        ],
        overhead={"cpu": "10m"},
    )
    assert pod_requirements(template) == {
        "resourceRequest": {"cpu": "2010m", "memory": "320Mi", "nvidia.com/gpu": "1"}
    }


def test_rounding_happens_per_container() -> None:
    template = _template({"requests": {"memory": "0.5"}}, {"requests": {"memory": "0.5"}})
    assert pod_requirements(template) == {"resourceRequest": {"memory": "2"}}


def test_memory_is_rebuilt_as_binary_bytes() -> None:
    assert pod_requirements(_template({"requests": {"memory": "1G"}})) == {
        "resourceRequest": {"memory": "1000000000"}
    }
    assert pod_requirements(_template({"requests": {"memory": "1Gi", "hugepages-2Mi": "4Mi"}})) == {
        "resourceRequest": {"hugepages-2Mi": "4Mi", "memory": "1Gi"}
    }


def test_unknown_and_zero_resources_are_dropped() -> None:
    template = _template({"requests": {"storage": "1Gi", "cpu": "0", "example.com/foo": "3", "pods": "2"}})
    assert pod_requirements(template) == {"resourceRequest": {"example.com/foo": "3", "pods": "2"}}
    assert pod_requirements(_template({"requests": {"storage": "1Gi"}})) is None


def test_node_claim_rules() -> None:
    claim = {
        "nodeSelector": {"zone": "a"},
        "tolerations": [{"key": "k", "operator": "Exists", "value": "", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "x", "operator": "In", "values": ["1"]}]}]
        }, "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}},
    }
    expected = {"nodeClaim": {
        "hardNodeAffinity": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "x", "operator": "In", "values": ["1"]}]}
        ]},
        "nodeSelector": {"zone": "a"},
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
    }}
    assert pod_requirements({"spec": claim}) == expected
    assert replica_requirements({"spec": claim}) == expected
    assert pod_requirements({"spec": {"tolerations": []}}) is None


def test_empty_node_selector_differs_between_typed_and_lua_paths() -> None:
    assert replica_requirements({"spec": {"nodeSelector": {}}}) == {"nodeClaim": {}}
    assert pod_requirements({"spec": {"nodeSelector": {}}}) is None
    node_affinity: dict[str, Any] = {"requiredDuringSchedulingIgnoredDuringExecution": {}}
    required: dict[str, Any] = {"affinity": {"nodeAffinity": node_affinity}}
    expected = {"nodeClaim": {"hardNodeAffinity": {"nodeSelectorTerms": None}}}
    assert replica_requirements({"spec": required}) == expected


def test_priority_class_and_namespace_follow_the_gate() -> None:
    template = _template({"requests": {"cpu": "1"}}, priorityClassName="high")
    assert pod_requirements(template) == {"resourceRequest": {"cpu": "1"}}
    assert pod_requirements(template, resource_quota_estimate=True) == {
        "resourceRequest": {"cpu": "1"}, "priorityClassName": "high"
    }
    assert replica_requirements(template, namespace="ns") == {"resourceRequest": {"cpu": "1"}}
    assert replica_requirements(template, namespace="ns", resource_quota_estimate=True) == {
        "resourceRequest": {"cpu": "1"}, "priorityClassName": "high", "namespace": "ns"
    }
    assert replica_requirements({}, namespace="ns", resource_quota_estimate=True) is None


def test_numbers_decode_as_json_literals() -> None:
    assert pod_requirements(_template({"requests": {"cpu": 1.5, "memory": 1024}})) == {
        "resourceRequest": {"cpu": "1500m", "memory": "1Ki"}
    }


@pytest.mark.parametrize(
    "template",
    [
        {"spec": {"containers": "x"}},
        {"spec": {"containers": [{"resources": {"requests": {"cpu": "abc"}}}]}},
        {"spec": {"nodeSelector": ["a"]}},
        {"spec": {"tolerations": [{"tolerationSeconds": 1.5}]}},
        "text",
        3,
        None,
    ],
)
def test_bad_templates_raise(template: Any) -> None:
    with pytest.raises(KubeHelperError):
        pod_requirements(template)


def test_pod_template_request_counts_integer_units() -> None:
    resources = {"requests": {"cpu": "0.5", "memory": "1.5"}, "limits": {"pods": "2"}}
    spec = {"containers": [{"resources": resources}], "overhead": {"ephemeral-storage": "1Ki"}}
    assert pod_template_request(spec) == {
        "milliCPU": 500, "memory": 2, "ephemeralStorage": 1024, "allowedPodNumber": 2, "scalarResources": {}
    }


requests = st.dictionaries(
    st.sampled_from(["cpu", "memory", "example.com/gpu"]),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"{n}m"),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(requests, max_size=4), st.lists(requests, max_size=3))
def test_totals_are_container_sums_raised_by_init_containers(apps: list[dict[str, str]],
                                                             inits: list[dict[str, str]]) -> None:
    spec = {"containers": [{"resources": {"requests": r}} for r in apps],
            "initContainers": [{"resources": {"requests": r}} for r in inits]}
    totals = pod_template_request(spec)

    def count(name: str, items: list[dict[str, str]]) -> list[int]:
        q = [parse_quantity(r[name]) for r in items if name in r]
        return [x.milli_value() if name == "cpu" else x.value() for x in q]

    assert totals["milliCPU"] == max([sum(count("cpu", apps)), *count("cpu", inits)])
    assert totals["memory"] == max([sum(count("memory", apps)), *count("memory", inits)])
    gpu = count("example.com/gpu", apps) + count("example.com/gpu", inits)
    assert totals["scalarResources"].get("example.com/gpu", 0) == (
        max([sum(count("example.com/gpu", apps)), *count("example.com/gpu", inits)]) if gpu else 0
    )


@pytest.mark.parametrize(
    ("name", "scalar"),
    [("nvidia.com/gpu", True), ("hugepages-2Mi", True), ("attachable-volumes-aws-ebs", True),
     ("kubernetes.io/foo", True), ("example.kubernetes.io/bar", True), ("storage", False),
     ("nvidia.com", False), ("requests.example.com/x", False), ("Example.com/x", False), ("a/b/c", False),
     ("cpu", False)],
)
def test_scalar_resource_names(name: str, scalar: bool) -> None:
    assert is_scalar_resource_name(name) is scalar


# -- getPodDependencies -----------------------------------------------------------------------------------


def test_dependencies_cover_every_reference_kind() -> None:
    spec = {
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "registry"}, {"name": ""}],
        "initContainers": [{"envFrom": [{"configMapRef": {"name": "init-cm"}}]}],
        "containers": [{"env": [{"valueFrom": {"secretKeyRef": {"name": "env-secret"}}},
                                {"valueFrom": {"configMapKeyRef": {"name": "env-cm"}}}],
                        "envFrom": [{"secretRef": {"name": "from-secret"}}]}],
        "ephemeralContainers": [{"envFrom": [{"configMapRef": {"name": "debug-cm"}}]}],
        "volumes": [
            {"configMap": {"name": "vol-cm"}},
            {"secret": {"secretName": "vol-secret"}},
            {"projected": {"sources": [{"secret": {"name": "p-secret"}}, {"configMap": {"name": "p-cm"}}]}},
            {"csi": {"nodePublishSecretRef": {"name": "csi-secret"}}},
            {"azureFile": {"secretName": "azure"}},
            {"cephfs": {"secretRef": {"name": "ceph"}}},
            {"persistentVolumeClaim": {"claimName": "data"}},
            {"persistentVolumeClaim": {"claimName": "data"}},
        ],
    }
    refs = pod_dependencies({"spec": spec}, "ns")
    assert refs is not None
    assert [(r["kind"], r["name"]) for r in refs] == [
        ("ConfigMap", "debug-cm"), ("ConfigMap", "env-cm"), ("ConfigMap", "init-cm"), ("ConfigMap", "p-cm"),
        ("ConfigMap", "vol-cm"),
        ("Secret", "azure"), ("Secret", "ceph"), ("Secret", "csi-secret"), ("Secret", "env-secret"),
        ("Secret", "from-secret"), ("Secret", "p-secret"), ("Secret", "registry"), ("Secret", "vol-secret"),
        ("ServiceAccount", "runner"), ("PersistentVolumeClaim", "data"),
    ]
    assert all(r["apiVersion"] == "v1" and r["namespace"] == "ns" for r in refs)


def test_dependency_edge_cases() -> None:
    assert pod_dependencies({"spec": {"serviceAccountName": "default"}}, "ns") is None
    assert pod_dependencies({}, None) is None
    assert pod_dependencies([], None) is None
    secret = {"spec": {"imagePullSecrets": [{"name": "r"}]}}
    assert pod_dependencies(secret, None) == [{"apiVersion": "v1", "kind": "Secret", "namespace": "default",
                                               "name": "r"}]
    assert pod_dependencies(secret, "")[0] == {"apiVersion": "v1", "kind": "Secret", "name": "r"}  # type: ignore[index]
    assert [r["namespace"] for r in pod_dependencies(secret, 3) or []] == ["3"]
    assert [r["namespace"] for r in pod_dependencies(secret, 1.5) or []] == ["1.5"]
    with pytest.raises(KubeHelperError, match="string expected, got boolean"):
        pod_dependencies(secret, True)
    with pytest.raises(KubeHelperError, match="table expected, got string"):
        pod_dependencies("x", "ns")


def test_only_the_first_secret_volume_source_counts() -> None:
    volume = {"azureFile": {"secretName": "first"}, "secret": {"secretName": "second"}}
    refs = pod_dependencies({"spec": {"volumes": [volume]}}, "ns")
    assert [r["name"] for r in refs or []] == ["first"]


# -- resourceAdd / getResourceQuantity ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "text"),
    [(("100m", "1"), "1100m"), (("1Gi", "512Mi"), "1536Mi"), ((), "0"), ((None, "1Ki"), "1Ki"),
     (("1.024", "2.048"), "3072m"), (("1.024",), "1024m"), (("1", "-1", "1Ki"), "1Ki")],
)
def test_resource_add(args: tuple[Any, ...], text: str) -> None:
    assert resource_add(*args) == text


@pytest.mark.parametrize(("args", "message"), [((1,), "string expected, got number"), (("",), "cannot parse"),
                                               (("1", "mb"), "cannot parse"), (({},), "got table")])
def test_resource_add_errors(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(KubeHelperError, match=message):
        resource_add(*args)


@pytest.mark.parametrize(
    ("value", "number"),
    [("1024m", 1.024), ("2Gi", 2147483648.0), ("500m", 0.5), (None, 0.0), ("1000Mi", 1048576000.0)],
)
def test_get_resource_quantity(value: Any, number: float) -> None:
    assert get_resource_quantity(value) == number


@pytest.mark.parametrize("value", ["-1", 5, "", "1e400"])
def test_get_resource_quantity_errors(value: Any) -> None:
    with pytest.raises(KubeHelperError):
        get_resource_quantity(value)


def test_lua_numbers_print_like_go() -> None:
    texts = [lua_number_text(x) for x in (2.0, 1.024, 1e21, 1048576000.0)]
    assert texts == ["2", "1.024", "1e+21", "1048576000"]
    assert str(parse_quantity(lua_number_text(get_resource_quantity("1000Mi")))) == "1048576k"
