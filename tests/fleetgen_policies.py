"""A deterministic Karmada fleet with hundreds of policies, for checking that ``kpl import`` keeps placements.

Everything is drawn from ``random.Random(seed)``: the same seed gives the same objects. The fleet has
clusters across providers, regions and zones (labels, taints, resource summaries, API enablements), workloads
in several namespaces (Deployments, StatefulSets, Jobs and FlinkDeployments, some already claimed by a
policy), and PropagationPolicies and ClusterPropagationPolicies written the way teams write them: selectors
by name, by labels (``matchLabels`` and every ``matchExpressions`` operator) or by kind, priorities and
preemption, cluster affinity by names, exclusions, labels and fields, ordered affinities with overflow,
tolerations, spread constraints by cluster, region, zone, provider and label, every replica scheduling
form, application and cluster failover, ``propagateDeps``, conflict resolution, suspension and scheduler
name. Several policies often select the same workload, so priorities and names decide which one wins.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NAMESPACES", "GeneratedFleet", "generate"]

API = "policy.karmada.io/v1alpha1"
PROVIDERS: dict[str, tuple[str, ...]] = {
    "aws": ("us-east-1", "eu-west-1", "ap-southeast-1"),
    "gcp": ("us-central1", "europe-west4"),
    "azure": ("eastus", "westeurope"),
    "alicloud": ("cn-hangzhou",),
}
NAMESPACES = ("shop", "payments", "analytics", "batch", "streaming", "platform")
ENVS = ("prod", "prod", "staging", "dev")
TIERS = ("gold", "silver", "bronze")
TEAMS = ("red", "blue", "green", "amber")
APPS = ("web", "api", "cart", "search", "ledger", "report", "ingest", "etl", "auth", "cache")
KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("batch/v1", "Job"))
FLINK = ("flink.apache.org/v1beta1", "FlinkDeployment")
SIZES = (("100m", "128Mi"), ("250m", "256Mi"), ("500m", "1Gi"), ("1", "2Gi"), ("2", "4Gi"))


@dataclass(frozen=True, slots=True)
class GeneratedFleet:
    clusters: tuple[dict[str, Any], ...]
    workloads: tuple[dict[str, Any], ...]
    policies: tuple[dict[str, Any], ...]


# ------------------------------------------------------------------------------------ clusters


def _summary(rng: random.Random) -> dict[str, Any]:
    nodes = rng.randint(3, 40)
    cpu, memory_gi = nodes * rng.choice((8, 16, 32)), nodes * rng.choice((32, 64))
    used = rng.uniform(0.1, 0.97)
    return {
        "allocatable": {"cpu": str(cpu), "memory": f"{memory_gi}Gi", "pods": str(nodes * 110)},
        "allocated": {"cpu": f"{int(cpu * 1000 * used)}m", "memory": f"{int(memory_gi * 1024 * used)}Mi",
                      "pods": str(int(nodes * 110 * used))},
    }


def _taints(rng: random.Random) -> list[dict[str, str]]:
    roll = rng.random()
    if roll < 0.08:
        return [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    if roll < 0.12:
        return [{"key": "maintenance", "effect": "NoExecute"}]
    if roll < 0.18:
        return [{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]
    return []


def _api_enablements(rng: random.Random) -> list[dict[str, Any]]:
    apps = [{"name": "deployments", "kind": "Deployment"}]
    if rng.random() > 0.1:
        apps.append({"name": "statefulsets", "kind": "StatefulSet"})
    enabled = [{"groupVersion": "apps/v1", "resources": apps},
               {"groupVersion": "batch/v1", "resources": [{"name": "jobs", "kind": "Job"}]},
               {"groupVersion": "v1", "resources": [{"name": "configmaps", "kind": "ConfigMap"}]}]
    if rng.random() < 0.5:
        enabled.append({"groupVersion": FLINK[0], "resources": [{"name": "flinkdeployments", "kind": FLINK[1]}]})
    return enabled


def _cluster(rng: random.Random, index: int) -> dict[str, Any]:
    provider = rng.choice(sorted(PROVIDERS))
    region = rng.choice(PROVIDERS[provider])
    zones = [f"{region}{letter}" for letter in "abc"[: rng.randint(1, 3)]]
    spec: dict[str, Any] = {"syncMode": rng.choice(("Push", "Pull")), "provider": provider, "region": region,
                            "zones": zones, "taints": _taints(rng)}
    labels = {"env": rng.choice(ENVS), "tier": rng.choice(TIERS), "team": rng.choice(TEAMS),
              "topology.karmada.io/rack": f"rack-{rng.randint(1, 4)}"}
    if rng.random() < 0.15:
        labels["accelerator"] = "gpu"
    if rng.random() < 0.1:
        labels["legacy"] = "true"
    status = {"apiEnablements": _api_enablements(rng), "resourceSummary": _summary(rng),
              "conditions": [{"type": "Ready", "status": "True"},
                             {"type": "CompleteAPIEnablements", "status": "True"}]}
    return {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": f"member-{index:02d}", "labels": labels}, "spec": spec, "status": status}


# ------------------------------------------------------------------------------------ workloads


def _containers(rng: random.Random, app: str) -> list[dict[str, Any]]:
    cpu, memory = SIZES[min(int(rng.expovariate(0.7)), len(SIZES) - 1)]
    return [{"name": app, "image": f"registry.example.com/{app}:1.{rng.randint(0, 9)}",
             "resources": {"requests": {"cpu": cpu, "memory": memory}}}]


def _workload(rng: random.Random, namespace: str, index: int) -> dict[str, Any]:
    api_version, kind = KINDS[0] if rng.random() < 0.6 else rng.choice(KINDS[1:])
    app = rng.choice(APPS)
    labels = {"app": app, "team": rng.choice(TEAMS), "track": rng.choice(("stable", "stable", "canary"))}
    if rng.random() < 0.3:
        labels["tier"] = rng.choice(("frontend", "backend"))
    template: dict[str, Any] = {"metadata": {"labels": {"app": app}}, "spec": {"containers": _containers(rng, app)}}
    spec: dict[str, Any]
    if kind == "Job":
        template["spec"]["restartPolicy"] = "Never"
        spec = {"parallelism": rng.randint(1, 8), "completions": rng.randint(1, 16), "template": template}
    else:
        spec = {"replicas": rng.choice((1, 2, 3, 3, 5, 8, 12, 20)), "selector": {"matchLabels": {"app": app}},
                "template": template}
        if kind == "StatefulSet":
            spec["serviceName"] = app
    metadata: dict[str, Any] = {"name": f"{app}-{index:03d}", "namespace": namespace, "labels": labels,
                                "uid": f"{namespace}-{index:03d}"}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def _flink(namespace: str, name: str, task_managers: int) -> dict[str, Any]:
    return {"apiVersion": FLINK[0], "kind": FLINK[1],
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name, "team": "amber"},
                         "uid": f"{namespace}-{name}"},
            "spec": {"jobManager": {"replicas": 1, "resource": {"cpu": 1, "memory": "1024m"}},
                     "taskManager": {"replicas": task_managers, "resource": {"cpu": 2, "memory": "2048m"}},
                     "job": {"jarURI": "local:///opt/flink/job.jar", "parallelism": 2 * task_managers}}}


def _claim(workload: dict[str, Any], policy: dict[str, Any]) -> None:
    """Mark ``workload`` as already claimed by ``policy``, as Karmada's detector does (annotations naming the
    policy, a label with its permanent ID)."""
    meta = workload["metadata"]
    notes = meta.setdefault("annotations", {})
    owner = policy["metadata"]
    if policy["kind"] == "PropagationPolicy":
        notes["propagationpolicy.karmada.io/namespace"] = owner["namespace"]
        notes["propagationpolicy.karmada.io/name"] = owner["name"]
        meta["labels"]["propagationpolicy.karmada.io/permanent-id"] = f"id-{owner['namespace']}-{owner['name']}"
    else:
        notes["clusterpropagationpolicy.karmada.io/name"] = owner["name"]
        meta["labels"]["clusterpropagationpolicy.karmada.io/permanent-id"] = f"id-{owner['name']}"


def _may_select(policy: dict[str, Any], workload: dict[str, Any]) -> bool:
    """Whether one of the policy's selectors names the workload's kind and, if it names one, the workload."""
    meta = workload["metadata"]
    if policy["metadata"].get("namespace") not in (None, meta["namespace"]):
        return False
    return any(s["kind"] == workload["kind"] and s.get("name") in (None, meta["name"])
               and s.get("namespace") in (None, meta["namespace"]) for s in policy["spec"]["resourceSelectors"])


# ------------------------------------------------------------------------------------ policies


class _PolicyMaker:
    def __init__(self, rng: random.Random, clusters: Sequence[dict[str, Any]],
                 workloads: Sequence[dict[str, Any]]) -> None:
        self.rng = rng
        self.names = [c["metadata"]["name"] for c in clusters]
        self.zones = sorted({z for c in clusters for z in c["spec"]["zones"]})
        self.regions = sorted({c["spec"]["region"] for c in clusters})
        self.workloads = workloads
        self.named: set[int] = set()

    # ---------------------------------------------------------------- selectors
    def label_selector(self, *, for_clusters: bool) -> dict[str, Any]:
        rng = self.rng
        if for_clusters:
            pairs = [("env", ENVS), ("tier", TIERS), ("team", TEAMS), ("topology.karmada.io/rack",
                                                                       ("rack-1", "rack-2", "rack-3"))]
            flags = ("accelerator", "legacy")
        else:
            pairs = [("app", APPS), ("team", TEAMS), ("track", ("stable", "canary")),
                     ("tier", ("frontend", "backend"))]
            flags = ("tier", "track")
        out: dict[str, Any] = {}
        key, values = rng.choice(pairs)
        if rng.random() < 0.6:
            out["matchLabels"] = {key: rng.choice(values)}
        expressions = []
        for _ in range(rng.choice((0, 0, 1, 1, 2) if not out else (0, 0, 0, 1))):
            key, values = rng.choice(pairs)
            operator = rng.choice(("In", "NotIn", "Exists", "DoesNotExist"))
            if operator in ("In", "NotIn"):
                chosen = sorted(set(rng.sample(list(values), k=min(len(values), rng.randint(1, 2)))))
                expressions.append({"key": key, "operator": operator, "values": chosen})
            else:
                expressions.append({"key": rng.choice((key, *flags) if for_clusters else flags), "operator": operator})
        if expressions or not out:
            out["matchExpressions"] = expressions or [{"key": key, "operator": "Exists"}]
        return out

    def field_selector(self) -> dict[str, Any]:
        rng = self.rng
        expressions = []
        for key in rng.sample(["provider", "region", "zone"], k=rng.randint(1, 2)):
            pool = sorted(PROVIDERS) if key == "provider" else self.regions if key == "region" else self.zones
            values = sorted(rng.sample(pool, k=min(len(pool), rng.randint(1, 3))))
            expressions.append({"key": key, "operator": rng.choice(("In", "In", "NotIn")), "values": values})
        return {"matchExpressions": expressions}

    def cluster_term(self) -> dict[str, Any]:
        rng = self.rng
        term: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.3:
            term["clusterNames"] = sorted(rng.sample(self.names, k=rng.randint(2, 10)))
        if 0.25 < roll < 0.65:
            term["labelSelector"] = self.label_selector(for_clusters=True)
        if rng.random() < (0.6 if not term else 0.15):
            term["fieldSelector"] = self.field_selector()
        if not term or rng.random() < 0.2:
            term["exclude"] = sorted(rng.sample(self.names, k=rng.randint(1, 3)))
        return term

    def next_target(self, pool: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Mostly a workload no policy named yet, so that most policies win some workload."""
        fresh = [w for w in pool if id(w) not in self.named]
        target = self.rng.choice(fresh if fresh and self.rng.random() < 0.8 else pool)
        self.named.add(id(target))
        return target

    def resource_selectors(self, namespace: str | None) -> list[dict[str, Any]]:
        rng = self.rng
        pool = [w for w in self.workloads if namespace is None or w["metadata"]["namespace"] == namespace]
        selectors = []
        roll = rng.random()
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            target = self.next_target(pool)
            selector: dict[str, Any] = {"apiVersion": target["apiVersion"], "kind": target["kind"]}
            if namespace is None and rng.random() < 0.7:
                selector["namespace"] = target["metadata"]["namespace"]
            elif namespace is not None and rng.random() < 0.2:
                selector["namespace"] = namespace
            if roll < 0.55:
                selector["name"] = target["metadata"]["name"]
            elif roll < 0.96:
                selector["labelSelector"] = self.label_selector(for_clusters=False)
            selectors.append(selector)
        return selectors

    # ---------------------------------------------------------------- placement
    def affinities(self) -> list[dict[str, Any]]:
        terms = []
        for index in range(self.rng.randint(2, 3)):
            term = {"affinityName": f"group-{index}", **self.cluster_term()}
            if self.rng.random() < 0.15:
                term["overflowAffinities"] = [{"affinityName": f"burst-{index}", **self.cluster_term()}]
            terms.append(term)
        return terms

    def tolerations(self) -> list[dict[str, Any]]:
        choices: list[dict[str, Any]] = [
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
            {"key": "maintenance", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
            {"key": "spot", "operator": "Equal", "value": "true", "effect": "PreferNoSchedule"},
            {"key": "maintenance", "operator": "Exists"},
            {"operator": "Exists"},
        ]
        return self.rng.sample(choices, k=self.rng.randint(1, 2))

    def spread(self) -> list[dict[str, Any]]:
        rng = self.rng
        low = rng.randint(1, 2)
        cluster = {"spreadByField": "cluster", "minGroups": low, "maxGroups": rng.randint(low, 6)}
        roll = rng.random()
        if roll < 0.35:
            return [cluster]
        if roll < 0.45:
            return [{"maxGroups": rng.randint(1, 4)}]
        if roll < 0.85:
            by = rng.choice(("region", "region", "zone", "provider"))
            return [{"spreadByField": by, "minGroups": rng.randint(1, 2), "maxGroups": rng.randint(2, 3)}, cluster]
        return [{"spreadByLabel": "topology.karmada.io/rack", "minGroups": 1, "maxGroups": rng.randint(1, 3)}]

    def replica_scheduling(self) -> dict[str, Any] | None:
        rng = self.rng
        divided = {"replicaSchedulingType": "Divided"}
        roll = rng.random()
        if roll < 0.1:
            return None
        if roll < 0.3:
            return {"replicaSchedulingType": "Duplicated"}
        if roll < 0.4:
            return divided
        if roll < 0.55:
            return {**divided, "replicaDivisionPreference": "Aggregated"}
        if roll < 0.8:
            return {**divided, "replicaDivisionPreference": "Weighted",
                    "weightPreference": {"dynamicWeight": "AvailableReplicas"}}
        weights = []
        for _ in range(rng.randint(1, 4)):
            target = ({"clusterNames": [rng.choice(self.names)]} if rng.random() < 0.6
                      else {"labelSelector": {"matchLabels": {"env": rng.choice(ENVS)}}})
            weights.append({"targetCluster": target, "weight": rng.randint(1, 5)})
        return {**divided, "replicaDivisionPreference": "Weighted", "weightPreference": {"staticWeightList": weights}}

    def placement(self) -> dict[str, Any]:
        rng = self.rng
        placement: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.65:
            placement["clusterAffinity"] = self.cluster_term()
        elif roll < 0.9:
            placement["clusterAffinities"] = self.affinities()
        if rng.random() < 0.3:
            placement["clusterTolerations"] = self.tolerations()
        if rng.random() < 0.35:
            placement["spreadConstraints"] = self.spread()
        scheduling = self.replica_scheduling()
        if scheduling is not None:
            placement["replicaScheduling"] = scheduling
        return placement

    # ---------------------------------------------------------------- the rest of the spec
    def failover(self) -> dict[str, Any]:
        rng = self.rng
        out: dict[str, Any] = {}
        preserve = {"rules": [{"aliasLabelName": "failover.example.io/ready", "jsonPath": "{ .readyReplicas }"}]}
        if rng.random() < 0.8:
            application: dict[str, Any] = {"decisionConditions": {"tolerationSeconds": rng.choice((30, 120, 300))}}
            mode = rng.choice(("Gracefully", "Gracefully", "Directly", "Never", None))
            if mode is not None:
                application["purgeMode"] = mode
            if mode == "Gracefully" and rng.random() < 0.6:
                application["gracePeriodSeconds"] = rng.choice((60, 600, 1800))
            if rng.random() < 0.3:
                application["statePreservation"] = preserve
            out["application"] = application
        if rng.random() < 0.4 or not out:
            cluster: dict[str, Any] = {"purgeMode": rng.choice(("Directly", "Gracefully"))}
            if rng.random() < 0.4:
                cluster["statePreservation"] = preserve
            out["cluster"] = cluster
        return out

    def extras(self, spec: dict[str, Any]) -> None:
        rng = self.rng
        named = any("name" in s for s in spec["resourceSelectors"])
        if rng.random() < (0.6 if named else 0.4):
            spec["priority"] = rng.choice((1, 5, 10, 50, 100) if named else (-10, -5, 0))
        if rng.random() < 0.2:
            spec["preemption"] = rng.choice(("Always", "Never"))
        if rng.random() < 0.2:
            spec["propagateDeps"] = True
        if rng.random() < 0.15:
            spec["conflictResolution"] = rng.choice(("Overwrite", "Abort"))
        if rng.random() < 0.06:
            spec["suspension"] = rng.choice(({"dispatching": True}, {"scheduling": True},
                                             {"dispatching": True, "scheduling": True}))
        if rng.random() < 0.05:
            spec["schedulerName"] = rng.choice(("default-scheduler", "other-scheduler"))
        if rng.random() < 0.2:
            spec["failover"] = self.failover()

    def policy(self, index: int) -> dict[str, Any]:
        cluster_scoped = self.rng.random() < 0.15
        namespace = None if cluster_scoped else self.rng.choice(NAMESPACES)
        name = f"{'cpp' if cluster_scoped else 'pp'}-{index:03d}"
        spec: dict[str, Any] = {"resourceSelectors": self.resource_selectors(namespace)}
        self.extras(spec)
        spec["placement"] = self.placement()
        metadata: dict[str, Any] = {"name": name}
        if namespace is not None:
            metadata["namespace"] = namespace
        kind = "ClusterPropagationPolicy" if cluster_scoped else "PropagationPolicy"
        return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec}


def _flink_policy() -> dict[str, Any]:
    """The streaming team's policy for its Flink jobs: one cluster, failover keeping the job ID."""
    return {"apiVersion": API, "kind": "PropagationPolicy",
            "metadata": {"name": "flink-jobs", "namespace": "streaming"},
            "spec": {"resourceSelectors": [{"apiVersion": FLINK[0], "kind": FLINK[1],
                                            "labelSelector": {"matchLabels": {"team": "amber"}}}],
                     "priority": 20,
                     "placement": {"clusterAffinity": {"labelSelector": {"matchExpressions": [
                         {"key": "env", "operator": "In", "values": ["prod", "staging"]}]}},
                         "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}],
                         "replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
                     "failover": {"cluster": {"purgeMode": "Directly", "statePreservation": {"rules": [
                         {"aliasLabelName": "application.karmada.io/cluster-failover-jobid",
                          "jsonPath": "{ .jobStatus.jobID }"}]}}}}}


def generate(*, seed: int = 6, clusters: int = 50, workloads: int = 250, policies: int = 330) -> GeneratedFleet:
    """The fleet for ``seed``: ``clusters`` clusters, about ``workloads`` workloads and ``policies`` + 1 policies."""
    rng = random.Random(f"kpl-import-fleet-{seed}")
    members = [_cluster(rng, index) for index in range(clusters)]
    found = [_workload(rng, rng.choice(NAMESPACES), index) for index in range(workloads)]
    found += [_flink("streaming", "fraud-detector", 2), _flink("streaming", "clickstream", 4)]
    maker = _PolicyMaker(rng, members, found)
    made = [maker.policy(index) for index in range(policies)]
    made.append(_flink_policy())
    for workload in rng.sample(found, k=len(found) // 5):
        owners = [p for p in made if _may_select(p, workload)]
        if owners:
            _claim(workload, rng.choice(owners))
    return GeneratedFleet(tuple(members), tuple(found), tuple(made))
