"""Built-in rules for the native Kubernetes kinds, judged against Karmada's native (Go) interpreter.

Expected answers are transcribed from the cases of Karmada's ``pkg/resourceinterpreter/default/native``
unit tests (as data) and from its code where the tests are silent. The interpreter vector ops of the shared
conformance data (``native_get_replicas``, ``native_replica_kinds``, ``thirdparty_get_components``,
``thirdparty_get_replicas``) must all pass; they run the same built-in rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.ops_interpreter import native_replica_kinds
from kpl.engine.conformance.registry import lookup
from kpl.engine.interpreter import InterpretError
from kpl.engine.library import builtin_library

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
VECTORS = KARMADA / "vectors" / "interpreter.yaml"
MY_OPS = (
    "native_get_replicas",
    "native_replica_kinds",
    "thirdparty_get_components",
    "thirdparty_get_replicas",
)

KINDS = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "Pod": "v1",
    "Service": "v1",
    "ServiceAccount": "v1",
    "PersistentVolumeClaim": "v1",
    "PersistentVolume": "v1",
    "Secret": "v1",
    "Ingress": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "ServiceImport": "multicluster.x-k8s.io/v1alpha1",
}


def obj(kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": KINDS[kind], "kind": kind, **fields}


def run(operation: str, target: dict[str, Any], **kwargs: Any) -> Any:
    rule = builtin_library().get(target["apiVersion"], target["kind"])
    assert rule is not None, f"no rule for {target['kind']}"
    if operation in ("InterpretHealth", "InterpretStatus"):
        kwargs.setdefault("observed", target)
    else:
        kwargs.setdefault("desired", target)
    result = rule.run(operation, **kwargs)
    return next(iter(result.values())) if operation != "InterpretReplica" else result


# ------------------------------------------------------------------------------------ vectors


def _vector_cases() -> list[dict[str, Any]]:
    if not VECTORS.is_file():
        return []
    document = yaml.safe_load(VECTORS.read_text(encoding="utf-8"))
    return [case for case in document["cases"] if case["op"] in MY_OPS]


VECTOR_CASES = _vector_cases()


@pytest.mark.skipif(not VECTOR_CASES, reason="Karmada conformance data is not present beside the repository")
@pytest.mark.parametrize("case", VECTOR_CASES, ids=[c["name"] for c in VECTOR_CASES])
def test_interpreter_vector_passes(case: dict[str, Any]) -> None:
    handler = lookup(case["op"])
    assert handler is not None
    assert handler(case.get("input") or {}, case.get("expected")) is None


def test_every_op_is_registered() -> None:
    assert all(lookup(op) is not None for op in MY_OPS)


def test_vector_op_reports_a_wrong_answer() -> None:
    handler = lookup("native_get_replicas")
    assert handler is not None
    deployment = obj("Deployment", spec={"replicas": 2})
    assert handler({"object": deployment}, {"replicas": 2}) is None
    assert handler({"object": deployment}, {"replicas": 3}) is not None
    assert handler({"object": obj("DaemonSet")}, {"replicas": 0}) is not None


# ------------------------------------------------------------------------------------ which operations


OPERATIONS = {
    "Deployment": {
        "InterpretReplica",
        "ReviseReplica",
        "Retain",
        "AggregateStatus",
        "InterpretDependency",
        "InterpretStatus",
        "InterpretHealth",
    },
    "ReplicaSet": {
        "InterpretReplica",
        "ReviseReplica",
        "AggregateStatus",
        "InterpretDependency",
        "InterpretStatus",
        "InterpretHealth",
    },
    "StatefulSet": {
        "InterpretReplica",
        "ReviseReplica",
        "AggregateStatus",
        "InterpretDependency",
        "InterpretStatus",
        "InterpretHealth",
    },
    "DaemonSet": {"AggregateStatus", "InterpretDependency", "InterpretStatus", "InterpretHealth"},
    "Job": {
        "InterpretReplica",
        "ReviseReplica",
        "Retain",
        "AggregateStatus",
        "InterpretDependency",
        "InterpretStatus",
    },
    "CronJob": {"AggregateStatus", "InterpretDependency", "InterpretStatus"},
    "Pod": {
        "InterpretReplica",
        "Retain",
        "AggregateStatus",
        "InterpretDependency",
        "InterpretStatus",
        "InterpretHealth",
    },
    "Service": {"Retain", "AggregateStatus", "InterpretStatus", "InterpretHealth"},
    "ServiceAccount": {"Retain", "InterpretStatus"},
    "PersistentVolumeClaim": {"Retain", "AggregateStatus", "InterpretStatus", "InterpretHealth"},
    "PersistentVolume": {"Retain", "AggregateStatus", "InterpretStatus"},
    "Secret": {"Retain", "InterpretStatus"},
    "Ingress": {"AggregateStatus", "InterpretDependency", "InterpretStatus", "InterpretHealth"},
    "PodDisruptionBudget": {"AggregateStatus", "InterpretStatus", "InterpretHealth"},
    "HorizontalPodAutoscaler": {"AggregateStatus", "InterpretStatus"},
    "ServiceImport": {"InterpretDependency", "InterpretStatus"},
}


@pytest.mark.parametrize("kind", sorted(OPERATIONS))
def test_each_kind_implements_exactly_the_native_operations(kind: str) -> None:
    rule = builtin_library().get(KINDS[kind], kind)
    assert rule is not None
    assert set(rule.operations()) == OPERATIONS[kind]


def test_native_replica_kinds_are_the_five() -> None:
    assert native_replica_kinds() == [
        "apps/v1/Deployment",
        "apps/v1/ReplicaSet",
        "apps/v1/StatefulSet",
        "batch/v1/Job",
        "v1/Pod",
    ]


# ------------------------------------------------------------------------------------ replicas


CLAIM_SPEC = {
    "nodeSelector": {"foo": "foo1"},
    "tolerations": [{"key": "foo", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "foo", "operator": "Exists"}]}]
            }
        }
    },
}
CLAIM = {
    "nodeSelector": {"foo": "foo1"},
    "tolerations": [{"key": "foo", "operator": "Exists", "effect": "NoSchedule"}],
    "hardNodeAffinity": {"nodeSelectorTerms": [{"matchFields": [{"key": "foo", "operator": "Exists"}]}]},
}


@pytest.mark.parametrize(
    ("target", "replicas"),
    [
        (obj("ReplicaSet", spec={"replicas": 3, "template": {"spec": CLAIM_SPEC}}), 3),
        (obj("Deployment", spec={"replicas": 2, "template": {"spec": CLAIM_SPEC}}), 2),
        (obj("StatefulSet", spec={"replicas": 2, "template": {"spec": CLAIM_SPEC}}), 2),
        (obj("Job", spec={"parallelism": 3, "completions": 2, "template": {"spec": CLAIM_SPEC}}), 2),
        (obj("Pod", spec=CLAIM_SPEC), 1),
    ],
    ids=["replicaset", "deployment", "statefulset", "job-capped-by-completions", "pod"],
)
def test_replicas_and_node_claim(target: dict[str, Any], replicas: int) -> None:
    assert run("InterpretReplica", target) == {"replica": replicas, "requires": {"nodeClaim": CLAIM}}


@pytest.mark.parametrize(
    ("spec", "replicas"),
    [
        ({}, 0),
        ({"parallelism": 4}, 4),
        ({"parallelism": 4, "completions": 6}, 4),
        ({"parallelism": 4, "completions": 0}, 0),
        ({"completions": 3}, 0),
    ],
)
def test_job_replicas(spec: dict[str, Any], replicas: int) -> None:
    assert run("InterpretReplica", obj("Job", spec=spec))["replica"] == replicas


@settings(deadline=None, max_examples=30)
@given(st.one_of(st.none(), st.integers(0, 1000)), st.one_of(st.none(), st.integers(0, 1000)))
def test_job_replicas_never_exceed_parallelism_or_completions(
    parallelism: int | None, completions: int | None
) -> None:
    spec = {k: v for k, v in (("parallelism", parallelism), ("completions", completions)) if v is not None}
    got = run("InterpretReplica", obj("Job", spec=spec))["replica"]
    assert got == min(parallelism or 0, completions if completions is not None else parallelism or 0)


def test_nil_replicas_count_zero_and_no_requirements() -> None:
    assert run("InterpretReplica", obj("Deployment", spec={"template": {"spec": {}}})) == {"replica": 0}


def test_requests_sum_per_container() -> None:
    template = {
        "spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}},
                {"resources": {"limits": {"cpu": "50m", "memory": "64Mi"}}},
            ]
        }
    }
    answer = run("InterpretReplica", obj("Deployment", spec={"replicas": 1, "template": template}))
    assert answer["requires"] == {"resourceRequest": {"cpu": "550m", "memory": "320Mi"}}


def test_resource_quota_estimate_gate_adds_priority_class_and_namespace() -> None:
    template = {
        "spec": {"priorityClassName": "high", "containers": [{"resources": {"requests": {"cpu": "1"}}}]}
    }
    target = obj("Deployment", metadata={"name": "web", "namespace": "shop"}, spec={"template": template})
    assert run("InterpretReplica", target)["requires"] == {"resourceRequest": {"cpu": "1"}}
    gated = run("InterpretReplica", target, gates={"ResourceQuotaEstimate": True})["requires"]
    assert gated == {"resourceRequest": {"cpu": "1"}, "priorityClassName": "high", "namespace": "shop"}


def test_unknown_gate_is_an_error() -> None:
    with pytest.raises(InterpretError):
        run("InterpretReplica", obj("Deployment", spec={}), gates={"NoSuchGate": True})


# ------------------------------------------------------------------------------------ revise


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Deployment", "replicas"),
        ("ReplicaSet", "replicas"),
        ("StatefulSet", "replicas"),
        ("Job", "parallelism"),
    ],
)
def test_revise_sets_the_replica_field(kind: str, field: str) -> None:
    target = obj(kind, metadata={"name": "fake"}, spec={field: 1})
    assert run("ReviseReplica", target, desired_replicas=3) == obj(
        kind, metadata={"name": "fake"}, spec={field: 3}
    )
    assert run("ReviseReplica", obj(kind, spec={}), desired_replicas=3) == obj(kind, spec={})
    with pytest.raises(InterpretError, match="expected int64"):
        run("ReviseReplica", obj(kind, spec={field: "1"}), desired_replicas=3)


# ------------------------------------------------------------------------------------ retain

RETAIN_LABEL = {"resourcetemplate.karmada.io/retain-replicas": "true"}


def test_retain_deployment_replicas() -> None:
    held = obj("Deployment", metadata={"name": "nginx", "labels": RETAIN_LABEL}, spec={"replicas": 2})
    observed = obj("Deployment", metadata={"name": "nginx"}, spec={"replicas": 4})
    assert run("Retain", held, observed=observed)["spec"]["replicas"] == 4
    free = obj("Deployment", metadata={"name": "nginx"}, spec={"replicas": 2})
    assert run("Retain", free, observed=observed)["spec"]["replicas"] == 2
    with pytest.raises(InterpretError, match=r"failed to get spec\.replicas"):
        run("Retain", held, observed=obj("Deployment", metadata={"name": "nginx"}, spec={}))


@pytest.mark.parametrize(
    ("secret_type", "retained"),
    [
        ("kubernetes.io/service-account-token", True),
        ("kubernetes.io/tls", False),
        ("kubernetes.io/basic-auth", False),
        ("kubernetes.io/dockercfg", False),
    ],
)
def test_retain_secret_token_data(secret_type: str, retained: bool) -> None:
    desired = obj("Secret", type=secret_type, data={"token": "old"})
    observed = obj("Secret", type=secret_type, data={"token": "generated", "ca.crt": "x"})
    got = run("Retain", desired, observed=observed)
    assert got["data"] == (observed["data"] if retained else desired["data"])
    assert run("Retain", desired, observed=obj("Secret"))["data"] == desired["data"]


def test_retain_persistent_volume_claim_ref_and_claim_volume_name() -> None:
    claim_ref = {"kind": "PersistentVolumeClaim", "name": "data", "namespace": "default", "uid": "u1"}
    pv = run(
        "Retain",
        obj("PersistentVolume", spec={"capacity": {"storage": "1Gi"}}),
        observed=obj("PersistentVolume", spec={"claimRef": claim_ref}),
    )
    assert pv["spec"] == {"capacity": {"storage": "1Gi"}, "claimRef": claim_ref}
    assert run(
        "Retain",
        obj("PersistentVolume", spec={"claimRef": claim_ref}),
        observed=obj("PersistentVolume", spec={}),
    )["spec"] == {"claimRef": claim_ref}
    pvc = run(
        "Retain",
        obj("PersistentVolumeClaim", spec={"storageClassName": "std"}),
        observed=obj("PersistentVolumeClaim", spec={"volumeName": "pv-1"}),
    )
    assert pvc["spec"] == {"storageClassName": "std", "volumeName": "pv-1"}
    kept = run(
        "Retain",
        obj("PersistentVolumeClaim", spec={"volumeName": "mine"}),
        observed=obj("PersistentVolumeClaim", spec={"volumeName": ""}),
    )
    assert kept["spec"]["volumeName"] == "mine"


@pytest.mark.parametrize(
    ("observed_spec", "selector", "labels"),
    [
        (
            {
                "selector": {"matchLabels": {"controller-uid": "abc"}},
                "template": {"metadata": {"labels": {"controller-uid": "abc", "job-name": "pi"}}},
            },
            {"controller-uid": "abc"},
            {"controller-uid": "abc", "job-name": "pi"},
        ),
        ({"template": {"metadata": {"labels": {"job-name": "pi"}}}}, {"app": "mine"}, {"job-name": "pi"}),
        (
            {"selector": {"matchLabels": {"controller-uid": "abc"}}},
            {"controller-uid": "abc"},
            {"app": "mine"},
        ),
    ],
    ids=["both", "no-match-labels", "no-template-labels"],
)
def test_retain_job_selector(
    observed_spec: dict[str, Any], selector: dict[str, str], labels: dict[str, str]
) -> None:
    desired = obj(
        "Job",
        spec={
            "selector": {"matchLabels": {"app": "mine"}},
            "template": {"metadata": {"labels": {"app": "mine"}}},
        },
    )
    got = run("Retain", desired, observed=obj("Job", spec=observed_spec))
    assert got["spec"]["selector"]["matchLabels"] == selector
    assert got["spec"]["template"]["metadata"]["labels"] == labels


def test_retain_pod_fields() -> None:
    desired = obj(
        "Pod",
        metadata={"name": "p"},
        spec={
            "containers": [{"name": "app", "image": "nginx"}, {"name": "only-here"}],
            "initContainers": [{"name": "init", "image": "busybox"}],
            "nodeName": "wanted",
        },
    )
    mounts = [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    observed = obj(
        "Pod",
        spec={
            "nodeName": "node-1",
            "serviceAccountName": "default",
            "volumes": [{"name": "kube-api-access", "projected": {"sources": []}}],
            "containers": [
                {"name": "app", "volumeMounts": mounts},
                {"name": "elsewhere", "volumeMounts": mounts},
            ],
            "initContainers": [{"name": "init", "volumeMounts": mounts}],
        },
    )
    spec = run("Retain", desired, observed=observed)["spec"]
    assert spec["nodeName"] == "node-1"
    assert spec["serviceAccountName"] == "default"
    assert spec["volumes"] == observed["spec"]["volumes"]
    assert spec["containers"] == [
        {"name": "app", "image": "nginx", "volumeMounts": mounts},
        {"name": "only-here"},
    ]
    assert spec["initContainers"] == [{"name": "init", "image": "busybox", "volumeMounts": mounts}]
    bare = run("Retain", desired, observed=obj("Pod", spec={}))["spec"]
    assert "nodeName" not in bare and "volumes" not in bare


def test_retain_service_allocated_fields() -> None:
    desired = obj("Service", spec={"type": "LoadBalancer", "ports": [{"port": 80}]})
    observed = obj("Service", spec={"clusterIP": "10.0.0.7", "healthCheckNodePort": 31000})
    assert run("Retain", desired, observed=observed)["spec"] == {
        "type": "LoadBalancer",
        "ports": [{"port": 80}],
        "clusterIP": "10.0.0.7",
        "healthCheckNodePort": 31000,
    }
    own = obj("Service", spec={"clusterIP": "10.0.0.9"})
    assert run("Retain", own, observed=obj("Service", spec={"clusterIP": "", "healthCheckNodePort": 0}))[
        "spec"
    ] == {"clusterIP": "10.0.0.9"}


def test_retain_service_account_merges_secrets() -> None:
    desired = obj("ServiceAccount", secrets=[{"name": "a"}], imagePullSecrets=[{"name": "pull"}])
    observed = obj("ServiceAccount", secrets=[{"name": "token-x"}, {"name": "a"}])
    got = run("Retain", desired, observed=observed)
    assert got["secrets"] == [{"name": "a"}, {"name": "token-x"}]
    assert got["imagePullSecrets"] == [{"name": "pull"}]
    assert "secrets" not in run("Retain", obj("ServiceAccount"), observed=obj("ServiceAccount"))
