"""Built-in rules for the native Kubernetes kinds: health, dependencies, reflected and aggregated status.

Expected answers are transcribed from the cases of Karmada's ``pkg/resourceinterpreter/default/native``
unit tests (as data) and from its code where the tests are silent.
"""

from __future__ import annotations

from typing import Any

import pytest

from kpl.engine.interpreter import InterpretError
from kpl.engine.library import builtin_library

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


# ------------------------------------------------------------------------------------ health


def workload(kind: str, generation: int, replicas: int | None, **status: int) -> dict[str, Any]:
    spec = {} if replicas is None else {"replicas": replicas}
    return obj(kind, metadata={"name": "fake", "generation": generation}, spec=spec, status=status)


HEALTH = [
    (
        "deployment-healthy",
        workload("Deployment", 1, 3, availableReplicas=3, updatedReplicas=3, observedGeneration=1),
        True,
    ),
    (
        "deployment-generation",
        workload("Deployment", 1, 3, availableReplicas=3, updatedReplicas=3, observedGeneration=2),
        False,
    ),
    ("deployment-updated", workload("Deployment", 1, 3, updatedReplicas=1, observedGeneration=1), False),
    (
        "deployment-available",
        workload("Deployment", 1, 3, availableReplicas=0, updatedReplicas=3, observedGeneration=1),
        False,
    ),
    (
        "statefulset-healthy",
        workload("StatefulSet", 1, 3, availableReplicas=3, updatedReplicas=3, observedGeneration=1),
        True,
    ),
    (
        "statefulset-generation",
        workload("StatefulSet", 1, 3, availableReplicas=3, updatedReplicas=3, observedGeneration=2),
        False,
    ),
    ("statefulset-updated", workload("StatefulSet", 1, 3, updatedReplicas=1, observedGeneration=1), False),
    (
        "statefulset-available",
        workload("StatefulSet", 1, 3, availableReplicas=0, updatedReplicas=3, observedGeneration=1),
        False,
    ),
    ("replicaset-healthy", workload("ReplicaSet", 1, 2, availableReplicas=2, observedGeneration=1), True),
    ("replicaset-generation", workload("ReplicaSet", 1, 2, availableReplicas=2, observedGeneration=2), False),
    ("replicaset-available", workload("ReplicaSet", 1, 2, availableReplicas=1, observedGeneration=1), False),
    ("replicaset-nil-replicas", workload("ReplicaSet", 1, None, observedGeneration=1), True),
    (
        "daemonset-healthy",
        workload(
            "DaemonSet",
            1,
            None,
            observedGeneration=1,
            desiredNumberScheduled=3,
            updatedNumberScheduled=3,
            numberAvailable=3,
        ),
        True,
    ),
    (
        "daemonset-generation",
        workload(
            "DaemonSet",
            1,
            None,
            observedGeneration=2,
            desiredNumberScheduled=3,
            updatedNumberScheduled=3,
            numberAvailable=3,
        ),
        False,
    ),
    (
        "daemonset-updated",
        workload(
            "DaemonSet",
            1,
            None,
            observedGeneration=1,
            desiredNumberScheduled=3,
            updatedNumberScheduled=1,
            numberAvailable=3,
        ),
        False,
    ),
    (
        "daemonset-available",
        workload(
            "DaemonSet",
            1,
            None,
            observedGeneration=1,
            desiredNumberScheduled=3,
            updatedNumberScheduled=3,
            numberAvailable=1,
        ),
        False,
    ),
    (
        "service-lb-ip",
        obj(
            "Service",
            spec={"type": "LoadBalancer"},
            status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
        ),
        True,
    ),
    ("service-cluster-ip", obj("Service", spec={"type": "ClusterIP"}), True),
    ("service-lb-empty", obj("Service", spec={"type": "LoadBalancer"}, status={"loadBalancer": {}}), False),
    (
        "service-lb-blank-entry",
        obj("Service", spec={"type": "LoadBalancer"}, status={"loadBalancer": {"ingress": [{"ip": ""}]}}),
        False,
    ),
    (
        "ingress-hostname",
        obj("Ingress", status={"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}),
        True,
    ),
    ("ingress-empty", obj("Ingress", status={"loadBalancer": {"ingress": []}}), False),
    ("pvc-bound", obj("PersistentVolumeClaim", status={"phase": "Bound"}), True),
    ("pvc-pending", obj("PersistentVolumeClaim", status={"phase": "Pending"}), False),
    (
        "pod-running-ready",
        obj(
            "Pod",
            status={
                "phase": "Running",
                "conditions": [
                    {"type": "Initialized", "status": "True"},
                    {"type": "Ready", "status": "True"},
                ],
            },
        ),
        True,
    ),
    ("pod-succeeded", obj("Pod", status={"phase": "Succeeded"}), True),
    (
        "pod-not-ready",
        obj("Pod", status={"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}),
        False,
    ),
    (
        "pod-pending",
        obj("Pod", status={"phase": "Pending", "conditions": [{"type": "Ready", "status": "True"}]}),
        False,
    ),
    ("pod-no-status", obj("Pod"), False),
    ("pdb-more", obj("PodDisruptionBudget", status={"currentHealthy": 3, "desiredHealthy": 2}), True),
    ("pdb-equal", obj("PodDisruptionBudget", status={"currentHealthy": 2, "desiredHealthy": 2}), True),
    ("pdb-less", obj("PodDisruptionBudget", status={"currentHealthy": 1, "desiredHealthy": 2}), False),
]


@pytest.mark.parametrize(("target", "healthy"), [(t, h) for _, t, h in HEALTH], ids=[n for n, _, _ in HEALTH])
def test_health(target: dict[str, Any], healthy: bool) -> None:
    assert run("InterpretHealth", target) is healthy


# ------------------------------------------------------------------------------------ dependencies


def test_workload_dependencies_come_from_the_pod_template() -> None:
    template = {
        "spec": {
            "serviceAccountName": "sa",
            "imagePullSecrets": [{"name": "pull"}],
            "volumes": [
                {"name": "c", "configMap": {"name": "cm"}},
                {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
            ],
        }
    }
    want = [
        {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "ns", "name": "cm"},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "ns", "name": "data"},
        {"apiVersion": "v1", "kind": "Secret", "namespace": "ns", "name": "pull"},
        {"apiVersion": "v1", "kind": "ServiceAccount", "namespace": "ns", "name": "sa"},
    ]
    meta = {"name": "w", "namespace": "ns"}
    for kind in ("Deployment", "ReplicaSet", "Job", "DaemonSet", "StatefulSet"):
        assert run("InterpretDependency", obj(kind, metadata=meta, spec={"template": template})) == want, kind
    cron = obj("CronJob", metadata=meta, spec={"jobTemplate": {"spec": {"template": template}}})
    assert run("InterpretDependency", cron) == want
    assert run("InterpretDependency", obj("Pod", metadata=meta, spec=template["spec"])) == want
    assert run("InterpretDependency", obj("Deployment", metadata=meta, spec={"template": {"spec": {}}})) == []


def test_default_service_account_and_missing_namespace() -> None:
    template = {
        "spec": {"serviceAccountName": "default", "volumes": [{"name": "s", "secret": {"secretName": "x"}}]}
    }
    got = run("InterpretDependency", obj("Deployment", metadata={"name": "w"}, spec={"template": template}))
    assert got == [{"apiVersion": "v1", "kind": "Secret", "name": "x"}]


def test_statefulset_claim_templates_are_not_dependencies() -> None:
    target = obj(
        "StatefulSet",
        metadata={"name": "db", "namespace": "ns"},
        spec={
            "template": {
                "spec": {
                    "volumes": [
                        {"name": "a", "persistentVolumeClaim": {"claimName": "data"}},
                        {"name": "b", "persistentVolumeClaim": {"claimName": "shared"}},
                    ]
                }
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
        },
    )
    assert run("InterpretDependency", target) == [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "ns", "name": "shared"}
    ]


def test_ingress_tls_secrets() -> None:
    target = obj(
        "Ingress",
        metadata={"name": "web", "namespace": "test"},
        spec={"tls": [{"hosts": ["a"], "secretName": "cert-b"}, {"secretName": "cert-a"}]},
    )
    assert run("InterpretDependency", target) == [
        {"apiVersion": "v1", "kind": "Secret", "namespace": "test", "name": "cert-a"},
        {"apiVersion": "v1", "kind": "Secret", "namespace": "test", "name": "cert-b"},
    ]
    with pytest.raises(InterpretError, match="name and labelSelector"):
        run("InterpretDependency", obj("Ingress", spec={"tls": [{"hosts": ["a"]}]}))


def test_service_import_depends_on_derived_service_and_slices() -> None:
    target = obj("ServiceImport", metadata={"name": "fake-serviceImport", "namespace": "fake-namespace"})
    assert run("InterpretDependency", target) == [
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "namespace": "fake-namespace",
            "labelSelector": {"matchLabels": {"kubernetes.io/service-name": "derived-fake-serviceImport"}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "namespace": "fake-namespace",
            "name": "derived-fake-serviceImport",
        },
    ]


# ------------------------------------------------------------------------------------ reflected status

GENERATION = "resourcetemplate.karmada.io/generation"


def test_reflect_deployment_status() -> None:
    target = obj(
        "Deployment",
        metadata={"generation": 2, "annotations": {GENERATION: "1"}},
        status={
            "replicas": 3,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "unavailableReplicas": 1,
            "updatedReplicas": 3,
            "observedGeneration": 2,
            "conditions": [{"type": "Available"}],
        },
    )
    assert run("InterpretStatus", target) == {
        "generation": 2,
        "resourceTemplateGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "unavailableReplicas": 1,
        "observedGeneration": 2,
    }
    assert run("InterpretStatus", obj("Deployment", metadata={"generation": 2})) is None
    assert run("InterpretStatus", obj("Deployment", status={})) is None
    with pytest.raises(InterpretError, match="invalid"):
        run("InterpretStatus", obj("Deployment", metadata={"annotations": {GENERATION: "abc"}}, status={}))


def test_reflect_replicaset_and_statefulset_keep_zero_counts() -> None:
    rs = obj("ReplicaSet", metadata={"generation": 1}, status={"readyReplicas": 0, "fullyLabeledReplicas": 2})
    assert run("InterpretStatus", rs) == {"generation": 1, "replicas": 0}
    sts = obj("StatefulSet", status={"readyReplicas": 1, "currentRevision": "r1", "observedGeneration": 4})
    assert run("InterpretStatus", sts) == {"availableReplicas": 0, "readyReplicas": 1, "replicas": 0}


def test_reflect_daemonset_status() -> None:
    target = obj(
        "DaemonSet",
        metadata={"generation": 1, "annotations": {GENERATION: "1"}},
        status={
            "currentNumberScheduled": 1,
            "desiredNumberScheduled": 1,
            "numberAvailable": 1,
            "numberMisscheduled": 0,
            "numberReady": 1,
            "updatedNumberScheduled": 1,
            "numberUnavailable": 0,
            "observedGeneration": 1,
        },
    )
    assert run("InterpretStatus", target) == {
        "generation": 1,
        "resourceTemplateGeneration": 1,
        "currentNumberScheduled": 1,
        "desiredNumberScheduled": 1,
        "numberAvailable": 1,
        "numberMisscheduled": 0,
        "numberReady": 1,
        "updatedNumberScheduled": 1,
        "observedGeneration": 1,
    }


def test_reflect_service_only_for_load_balancers() -> None:
    status = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}, "conditions": [{"type": "x"}]}
    assert run("InterpretStatus", obj("Service", spec={"type": "ClusterIP"}, status=status)) is None
    assert run("InterpretStatus", obj("Service", spec={"type": "LoadBalancer"})) is None
    assert run("InterpretStatus", obj("Service", spec={"type": "LoadBalancer"}, status=status)) == {
        "loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}
    }


def test_reflect_job_pdb_hpa_and_whole_status() -> None:
    job = obj("Job", status={"active": 1, "ready": 1, "startTime": "2024-01-01T00:00:00Z", "failed": 0})
    assert run("InterpretStatus", job) == {"active": 1, "startTime": "2024-01-01T00:00:00Z"}
    assert run("InterpretStatus", obj("Job")) is None
    pdb = obj(
        "PodDisruptionBudget",
        status={
            "currentHealthy": 1,
            "desiredHealthy": 1,
            "disruptionsAllowed": 0,
            "expectedPods": 1,
            "observedGeneration": 3,
        },
    )
    assert run("InterpretStatus", pdb) == {
        "currentHealthy": 1,
        "desiredHealthy": 1,
        "disruptionsAllowed": 0,
        "expectedPods": 1,
    }
    hpa = obj(
        "HorizontalPodAutoscaler", status={"currentReplicas": 2, "desiredReplicas": 3, "lastScaleTime": "t"}
    )
    assert run("InterpretStatus", hpa) == {"currentReplicas": 2, "desiredReplicas": 3}
    assert run("InterpretStatus", obj("HorizontalPodAutoscaler")) is None
    whole = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    assert run("InterpretStatus", obj("PersistentVolumeClaim", status=whole)) == whole
    assert run("InterpretStatus", obj("Ingress")) is None


# ------------------------------------------------------------------------------------ aggregated status


def items(*statuses: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {"clusterName": f"member{n}", "status": s, "applied": True} for n, s in enumerate(statuses, start=1)
    ]


def test_aggregate_deployment_status() -> None:
    member = {
        "replicas": 2,
        "readyReplicas": 1,
        "updatedReplicas": 2,
        "availableReplicas": 1,
        "unavailableReplicas": 1,
        "generation": 1,
        "observedGeneration": 1,
        "resourceTemplateGeneration": 1,
    }
    old = obj("Deployment", metadata={"name": "d", "generation": 1}, status={"replicas": 1})
    new = run("AggregateStatus", old, status_items=items(member, member))
    assert new["status"] == {
        "replicas": 4,
        "readyReplicas": 2,
        "updatedReplicas": 4,
        "availableReplicas": 2,
        "unavailableReplicas": 2,
        "observedGeneration": 1,
    }
    assert run("AggregateStatus", new, status_items=items(member, member)) == new
    behind = {**member, "resourceTemplateGeneration": 0}
    lagging = run("AggregateStatus", old, status_items=items(member, behind))
    assert "observedGeneration" not in lagging["status"]


def test_aggregate_statefulset_and_daemonset_status() -> None:
    member = {
        "replicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "currentReplicas": 1,
        "updatedReplicas": 1,
    }
    sts = run(
        "AggregateStatus", obj("StatefulSet", metadata={"generation": 1}), status_items=items(member, member)
    )
    assert sts["status"] == {
        "replicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "currentReplicas": 2,
        "updatedReplicas": 2,
        "observedGeneration": 1,
    }
    ds_member = {
        "currentNumberScheduled": 1,
        "desiredNumberScheduled": 1,
        "numberAvailable": 1,
        "numberMisscheduled": 0,
        "numberReady": 1,
        "updatedNumberScheduled": 1,
        "generation": 1,
        "observedGeneration": 1,
        "resourceTemplateGeneration": 1,
    }
    ds = run(
        "AggregateStatus",
        obj("DaemonSet", metadata={"generation": 1}),
        status_items=items(ds_member, ds_member),
    )
    assert ds["status"] == {
        "currentNumberScheduled": 2,
        "desiredNumberScheduled": 2,
        "numberAvailable": 2,
        "numberMisscheduled": 0,
        "numberReady": 2,
        "updatedNumberScheduled": 2,
        "observedGeneration": 1,
    }
    assert run("AggregateStatus", ds, status_items=items(ds_member, ds_member)) == ds


def test_aggregate_replicaset_skips_members_without_status() -> None:
    member = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    rs = run(
        "AggregateStatus",
        obj("ReplicaSet", metadata={"generation": 3}, status={"observedGeneration": 2}),
        status_items=items(member, None),
    )
    assert rs["status"] == {
        "replicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "observedGeneration": 2,
    }


def _without_times(status: dict[str, Any]) -> dict[str, Any]:
    conditions = [
        {k: v for k, v in c.items() if k not in ("lastProbeTime", "lastTransitionTime")}
        for c in status.get("conditions", [])
    ]
    return {**status, "conditions": conditions} if conditions else status


def test_aggregate_job_status() -> None:
    start = "2024-05-01T10:00:00Z"
    done = {
        "succeeded": 1,
        "startTime": start,
        "completionTime": start,
        "conditions": [
            {"type": "Complete", "status": "True"},
            {"type": "SuccessCriteriaMet", "status": "True"},
        ],
    }
    failed = {
        "failed": 1,
        "startTime": start,
        "completionTime": start,
        "conditions": [{"type": "Failed", "status": "True"}],
    }
    job = obj("Job", metadata={"name": "pi"})
    complete = run("AggregateStatus", job, status_items=items(done, done))
    assert _without_times(complete["status"]) == {
        "succeeded": 2,
        "startTime": start,
        "completionTime": start,
        "conditions": [
            {"type": "Complete", "status": "True", "reason": "Completed", "message": "Job completed"},
            {
                "type": "SuccessCriteriaMet",
                "status": "True",
                "reason": "CompletionsReached",
                "message": "All member clusters have met success criteria",
            },
        ],
    }
    assert run("AggregateStatus", complete, status_items=items(done, failed)) == complete
    partly = run("AggregateStatus", job, status_items=items(done, failed))
    assert _without_times(partly["status"]) == {
        "succeeded": 1,
        "failed": 1,
        "startTime": start,
        "completionTime": start,
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "JobFailed",
                "message": "Job executed failed in member clusters member2",
            }
        ],
    }


def test_aggregate_job_times_need_every_member() -> None:
    early, late = "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"
    running = run(
        "AggregateStatus",
        obj("Job"),
        status_items=items({"active": 1, "startTime": late}, {"active": 2, "startTime": early}),
    )
    assert running["status"] == {"active": 3, "startTime": early}
    waiting = run("AggregateStatus", obj("Job"), status_items=items({"active": 1, "startTime": late}, None))
    assert waiting["status"] == {"active": 1}
    kept = run(
        "AggregateStatus",
        obj("Job", status={"startTime": late}),
        status_items=items({"startTime": early, "completionTime": early}, {"completionTime": late}),
    )
    assert kept["status"] == {"startTime": late, "completionTime": late}


def test_aggregate_cronjob_status() -> None:
    first = {
        "active": [{"kind": "Job", "name": "a"}],
        "lastScheduleTime": "2024-05-01T10:00:00Z",
        "lastSuccessfulTime": "2024-05-01T09:00:00Z",
    }
    second = {"active": [{"kind": "Job", "name": "b"}], "lastScheduleTime": "2024-05-01T11:00:00Z"}
    got = run(
        "AggregateStatus",
        obj("CronJob", status={"lastScheduleTime": "2024-01-01T00:00:00Z"}),
        status_items=items(first, second, None),
    )
    assert got["status"] == {
        "active": [{"kind": "Job", "name": "a"}, {"kind": "Job", "name": "b"}],
        "lastScheduleTime": "2024-05-01T11:00:00Z",
        "lastSuccessfulTime": "2024-05-01T09:00:00Z",
    }


def test_aggregate_service_load_balancer_ingress() -> None:
    lb = obj("Service", spec={"type": "LoadBalancer"})
    got = run(
        "AggregateStatus",
        lb,
        status_items=items(
            {"loadBalancer": {"ingress": [{"ip": "8.8.8.8", "ports": [{"port": 80, "protocol": "TCP"}]}]}},
            {
                "loadBalancer": {
                    "ingress": [
                        {"hostname": "b.example"},
                        {
                            "ip": "8.8.8.8",
                            "ports": [{"port": 443, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}],
                        },
                    ]
                }
            },
            {
                "loadBalancer": {
                    "ingress": [{"hostname": "a.example", "ipMode": "VIP"}, {"hostname": "a.example"}]
                }
            },
        ),
    )
    assert got["status"] == {
        "loadBalancer": {
            "ingress": [
                {"hostname": "a.example", "ipMode": "VIP"},
                {"hostname": "a.example"},
                {"hostname": "b.example"},
                {
                    "ip": "8.8.8.8",
                    "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}],
                },
            ]
        }
    }
    cluster_ip = obj("Service", spec={"type": "ClusterIP"}, status={"x": 1})
    assert (
        run("AggregateStatus", cluster_ip, status_items=items({"loadBalancer": {"ingress": [{"ip": "1"}]}}))
        == cluster_ip
    )


def test_aggregate_ingress_load_balancer() -> None:
    got = run(
        "AggregateStatus",
        obj("Ingress"),
        status_items=items(
            {"loadBalancer": {"ingress": [{"ip": "8.8.8.8"}]}},
            {"loadBalancer": {"ingress": [{"ip": "8.8.8.8"}]}},
        ),
    )
    assert got["status"] == {"loadBalancer": {"ingress": [{"ip": "8.8.8.8"}]}}


@pytest.mark.parametrize(
    ("statuses", "phase"),
    [
        ([{"phase": "Running"}, {"phase": "Running"}], "Running"),
        ([{"phase": "Running"}, {"phase": "Failed"}], "Failed"),
        ([{"phase": "Succeeded"}, {"phase": "Running"}], "Running"),
        ([{"phase": "Succeeded"}, {"phase": "Succeeded"}], "Succeeded"),
        ([{"phase": "Succeeded"}, None], "Pending"),
        ([{"phase": "Unknown"}], None),
    ],
)
def test_aggregate_pod_phase(statuses: list[dict[str, Any] | None], phase: str | None) -> None:
    got = run("AggregateStatus", obj("Pod"), status_items=items(*statuses))
    assert got.get("status", {}).get("phase") == phase


def test_aggregate_pod_container_states() -> None:
    running = {"running": {"startedAt": "2024-05-01T10:00:00Z"}}
    member = {
        "phase": "Running",
        "podIP": "10.0.0.1",
        "containerStatuses": [{"name": "app", "ready": True, "restartCount": 2, "state": running}],
        "initContainerStatuses": [{"name": "init", "ready": False, "state": {"terminated": {"exitCode": 0}}}],
    }
    got = run("AggregateStatus", obj("Pod"), status_items=items(member, member))
    assert got["status"] == {
        "phase": "Running",
        "containerStatuses": [{"ready": True, "state": running}] * 2,
        "initContainerStatuses": [{"ready": False, "state": {"terminated": {"exitCode": 0}}}] * 2,
    }
    untouched = obj("Pod", status={"phase": "Running"})
    assert run("AggregateStatus", untouched) == untouched


@pytest.mark.parametrize(
    ("statuses", "phase"),
    [
        ([{"phase": "Bound"}, {"phase": "Bound"}], "Bound"),
        ([{"phase": "Bound"}, {"phase": "Pending"}], "Pending"),
        ([{"phase": "Lost"}, {"phase": "Pending"}], "Lost"),
        ([{"phase": "Pending"}, {"phase": "Lost"}], "Lost"),
        ([None], "Bound"),
    ],
)
def test_aggregate_claim_phase(statuses: list[dict[str, Any] | None], phase: str) -> None:
    got = run(
        "AggregateStatus",
        obj("PersistentVolumeClaim", status={"phase": "Pending", "capacity": {}}),
        status_items=items(*statuses),
    )
    assert got["status"] == {"phase": phase}


@pytest.mark.parametrize(
    ("statuses", "phase"),
    [
        ([{"phase": "Bound"}, {"phase": "Available"}], "Available"),
        ([{"phase": "Released"}, {"phase": "Bound"}], "Bound"),
        ([{"phase": "Released"}, None], "Pending"),
        ([{"phase": "Released"}, {"phase": "Failed"}, None], "Failed"),
        ([{"phase": "Released"}], "Released"),
    ],
)
def test_aggregate_volume_phase(statuses: list[dict[str, Any] | None], phase: str) -> None:
    got = run("AggregateStatus", obj("PersistentVolume"), status_items=items(*statuses))
    assert got["status"] == {"phase": phase}


def test_aggregate_pdb_and_hpa() -> None:
    first = {
        "currentHealthy": 1,
        "desiredHealthy": 1,
        "expectedPods": 1,
        "disruptionsAllowed": 0,
        "disruptedPods": {"web-1": "2024-05-01T10:00:00Z"},
    }
    second = {"currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2, "disruptionsAllowed": 1}
    pdb = run(
        "AggregateStatus",
        obj("PodDisruptionBudget", status={"observedGeneration": 1}),
        status_items=items(first, second),
    )
    assert pdb["status"] == {
        "currentHealthy": 3,
        "desiredHealthy": 2,
        "expectedPods": 3,
        "disruptionsAllowed": 1,
        "disruptedPods": {"member1/web-1": "2024-05-01T10:00:00Z"},
    }
    hpa = run(
        "AggregateStatus",
        obj("HorizontalPodAutoscaler"),
        status_items=items({"currentReplicas": 2, "desiredReplicas": 2}, {"desiredReplicas": 1}, None),
    )
    assert hpa["status"] == {"currentReplicas": 2, "desiredReplicas": 3}
