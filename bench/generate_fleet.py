"""A synthetic Karmada fleet for benchmarking ``kpl plan``: Cluster and ResourceBinding objects.

The output is one ``kubectl get -o json`` style List. Everything is drawn from ``random.Random(seed)``,
so the same arguments always give the same bytes.

Clusters get a provider, region and zones (a few lack a region or provider), labels, taints, API
enablements, a resource summary and, for some, resource models; a handful are being deleted.
Bindings draw their placement from a catalogue of policies, as in a real fleet where a few dozen
policies cover thousands of workloads: Duplicated, static and dynamic weights, Aggregated, spread by
region and by cluster, ordered ``clusterAffinities``, tolerations, label and field selectors. Each has
1-50 replicas with cpu/memory requests; some carry a previous ``spec.clusters``, an applied-placement
annotation, an observed affinity term or a graceful eviction task.

Usage: ``python bench/generate_fleet.py --clusters 1000 --bindings 5000 --seed 1 -o fleet.json``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FleetShape", "generate_bindings", "generate_clusters", "generate_fleet", "main", "placements"]

PROVIDERS: dict[str, tuple[str, ...]] = {
    "aws": ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"),
    "gcp": ("us-central1", "europe-west4", "asia-east1"),
    "azure": ("eastus", "westeurope", "japaneast"),
    "alicloud": ("cn-hangzhou", "cn-beijing"),
}
ENVS = ("prod", "prod", "staging", "dev")
TIERS = ("gold", "silver", "bronze")
TEAMS = tuple(f"team-{n:02d}" for n in range(12))
SIZES = (("100m", "128Mi"), ("250m", "256Mi"), ("500m", "512Mi"), ("500m", "1Gi"), ("1", "2Gi"),
         ("2", "4Gi"), ("4", "8Gi"), ("16", "64Gi"))
"""The requests workloads use, as t-shirt sizes (a fleet's templates rarely invent their own)."""
APPLIED = "policy.karmada.io/applied-placement"
_WORKLOAD_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"))


@dataclass(frozen=True, slots=True)
class FleetShape:
    clusters: int
    bindings: int
    seed: int = 1


# ------------------------------------------------------------------------------------ clusters


def _summary(rng: random.Random) -> dict[str, Any]:
    nodes = rng.randint(3, 60)
    cpu, memory_gi = nodes * rng.choice((8, 16, 32)), nodes * rng.choice((32, 64, 128))
    used = rng.uniform(0.1, 0.95)
    return {
        "allocatable": {"cpu": str(cpu), "memory": f"{memory_gi}Gi", "pods": str(nodes * 110)},
        "allocated": {"cpu": f"{int(cpu * 1000 * used)}m", "memory": f"{int(memory_gi * 1024 * used)}Mi",
                      "pods": str(int(nodes * 110 * used))},
        "allocating": {"cpu": f"{rng.randint(0, 2000)}m", "pods": str(rng.randint(0, 20))},
    }


def _models(rng: random.Random, summary: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    grades = [(0, "1", "4Gi", "4", "16Gi"), (1, "4", "16Gi", "16", "64Gi"), (2, "16", "64Gi", "64", "256Gi")]
    models = [{"grade": g, "ranges": [{"name": "cpu", "min": c0, "max": c1}, {"name": "memory", "min": m0,
                                                                            "max": m1}]}
              for g, c0, m0, c1, m1 in grades]
    modelings = [{"grade": g, "count": rng.randint(0, 12)} for g, *_ in grades]
    summary["allocatableModelings"] = modelings
    return models, modelings


def _taints(rng: random.Random) -> list[dict[str, str]]:
    roll = rng.random()
    if roll < 0.06:
        return [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    if roll < 0.09:
        return [{"key": "maintenance", "effect": "NoExecute"}]
    if roll < 0.12:
        return [{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]
    return []


def _api_enablements(rng: random.Random) -> list[dict[str, Any]]:
    apps = [{"name": "deployments", "kind": "Deployment"}]
    if rng.random() > 0.05:
        apps.append({"name": "statefulsets", "kind": "StatefulSet"})
    core = [{"name": "configmaps", "kind": "ConfigMap"}, {"name": "services", "kind": "Service"}]
    return [{"groupVersion": "apps/v1", "resources": apps}, {"groupVersion": "v1", "resources": core}]


def _cluster(rng: random.Random, index: int) -> dict[str, Any]:
    provider = rng.choice(sorted(PROVIDERS))
    region = rng.choice(PROVIDERS[provider])
    zones = [f"{region}{letter}" for letter in "abc"[: rng.randint(1, 3)]]
    spec: dict[str, Any] = {"syncMode": "Push", "provider": provider, "region": region, "zones": zones,
                            "taints": _taints(rng)}
    roll = rng.random()
    if roll < 0.02:
        del spec["region"]
    elif roll < 0.03:
        del spec["provider"]
    labels = {"env": rng.choice(ENVS), "tier": rng.choice(TIERS), "team": rng.choice(TEAMS),
              "cluster.karmada.io/provider": provider}
    if rng.random() < 0.1:
        labels["accelerator"] = "gpu"
    summary = _summary(rng)
    if rng.random() < 0.1:
        spec["resourceModels"], _ = _models(rng, summary)
    meta: dict[str, Any] = {"name": f"member-{index:04d}", "labels": labels}
    if rng.random() < 0.005:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    conditions = [{"type": "Ready", "status": "True"}, {"type": "CompleteAPIEnablements", "status": "True"}]
    status = {"apiEnablements": _api_enablements(rng), "conditions": conditions, "resourceSummary": summary}
    return {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": meta, "spec": spec,
            "status": status}


def generate_clusters(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"clusters-{seed}")
    return [_cluster(rng, index) for index in range(count)]


# ------------------------------------------------------------------------------------ placements


def _label_affinity(key: str, value: str) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {key: value}}}


def _divided(preference: str, weight: dict[str, Any] | None = None) -> dict[str, Any]:
    scheduling: dict[str, Any] = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": preference}
    if weight is not None:
        scheduling["weightPreference"] = weight
    return scheduling


def _static_weights(rng: random.Random, names: Sequence[str]) -> dict[str, Any]:
    chosen = rng.sample(list(names), k=min(len(names), rng.randint(2, 4)))
    return {"staticWeightList": [{"targetCluster": {"clusterNames": [name]}, "weight": rng.randint(1, 5)}
                                 for name in chosen]}


def _placement(rng: random.Random, names: Sequence[str]) -> dict[str, Any]:
    env, tier, team = rng.choice(ENVS), rng.choice(TIERS), rng.choice(TEAMS)
    provider = rng.choice(sorted(PROVIDERS))
    dynamic = _divided("Weighted", {"dynamicWeight": "AvailableReplicas"})
    builders: list[Callable[[], dict[str, Any]]] = [
        lambda: {"clusterAffinity": _label_affinity("env", env)},
        lambda: {"clusterAffinity": _label_affinity("env", env), "replicaScheduling": {
            "replicaSchedulingType": "Duplicated"}},
        lambda: {"clusterAffinity": {"clusterNames": rng.sample(list(names), k=min(len(names), 3))},
                 "replicaScheduling": _divided("Weighted", _static_weights(rng, names))},
        lambda: {"clusterAffinity": _label_affinity("tier", tier), "replicaScheduling": dynamic},
        lambda: {"clusterAffinity": {"labelSelector": {"matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "staging"]}]}},
            "replicaScheduling": _divided("Aggregated")},
        lambda: {"clusterAffinity": _label_affinity("env", env), "replicaScheduling": dynamic,
                 "spreadConstraints": [{"spreadByField": "region", "minGroups": 2, "maxGroups": 3},
                                       {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 6}]},
        lambda: {"clusterAffinity": _label_affinity("team", team), "replicaScheduling": dynamic,
                 "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1,
                                        "maxGroups": rng.randint(2, 5)}]},
        lambda: {"clusterAffinities": [
            {"affinityName": "primary", **_label_affinity("tier", "gold")},
            {"affinityName": "backup", "fieldSelector": {"matchExpressions": [
                {"key": "provider", "operator": "In", "values": [provider]}]}}],
            "replicaScheduling": dynamic},
        lambda: {"clusterAffinity": _label_affinity("accelerator", "gpu"),
                 "clusterTolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                         "effect": "NoSchedule"}],
                 "replicaScheduling": _divided("Aggregated")},
        lambda: {"clusterAffinity": {"fieldSelector": {"matchExpressions": [
            {"key": "provider", "operator": "In", "values": [provider]},
            {"key": "region", "operator": "Exists"}]}},
            "replicaScheduling": _divided("Weighted")},
        lambda: {"replicaScheduling": dynamic, "clusterTolerations": [{"operator": "Exists",
                                                                       "effect": "NoExecute"}]},
        lambda: {"clusterAffinity": _label_affinity("env", "qa")},
        lambda: {"clusterAffinity": _label_affinity("team", team), "replicaScheduling": dynamic,
                 "spreadConstraints": [{"spreadByField": "region", "minGroups": 3, "maxGroups": 3}]},
    ]
    return builders[rng.randrange(len(builders))]()


def placements(count: int, cluster_names: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """A catalogue of ``count`` placements (the policies of the fleet)."""
    rng = random.Random(f"placements-{seed}")
    return [_placement(rng, cluster_names) for _ in range(count)]


# ------------------------------------------------------------------------------------ bindings


def _previous(rng: random.Random, names: Sequence[str], replicas: int) -> list[dict[str, Any]]:
    chosen = sorted(rng.sample(list(names), k=min(len(names), rng.randint(1, 3))))
    split = [replicas // len(chosen)] * len(chosen)
    split[0] += replicas - sum(split)
    return [{"name": name, "replicas": count} for name, count in zip(chosen, split, strict=True)]


def _binding_spec(rng: random.Random, resource: dict[str, Any], placement: dict[str, Any],
                  names: Sequence[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"resource": resource, "placement": placement}
    if resource["kind"] == "ConfigMap":
        return spec
    replicas = rng.choice((1, 2, 3)) if rng.random() < 0.4 else rng.randint(1, 50)
    spec["replicas"] = replicas
    cpu, memory = SIZES[min(int(rng.expovariate(0.5)), len(SIZES) - 1)]
    spec["replicaRequirements"] = {"resourceRequest": {"cpu": cpu, "memory": memory}}
    if rng.random() < 0.3:
        spec["clusters"] = _previous(rng, names, replicas + rng.choice((0, 0, -1, 3)))
        if rng.random() < 0.1:
            spec["gracefulEvictionTasks"] = [{"fromCluster": spec["clusters"][0]["name"],
                                              "reason": "TaintUntolerated", "producer": "taint-manager"}]
    return spec


def _binding(rng: random.Random, index: int, catalogue: Sequence[dict[str, Any]],
             names: Sequence[str]) -> dict[str, Any]:
    roll = rng.random()
    api_version, kind = ("v1", "ConfigMap") if roll < 0.05 else _WORKLOAD_KINDS[roll < 0.15]
    namespace, name = f"ns-{rng.randrange(20):02d}", f"app-{index:05d}"
    uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    resource = {"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name, "uid": uid}
    placement = catalogue[rng.randrange(len(catalogue))]
    spec = _binding_spec(rng, resource, placement, names)
    claim = {"propagationpolicy.karmada.io/namespace": namespace,
             "propagationpolicy.karmada.io/name": f"policy-{catalogue.index(placement)}"}
    meta: dict[str, Any] = {"name": f"{name}-{kind.lower()}", "namespace": namespace, "annotations": claim}
    if "clusters" in spec and rng.random() < 0.5:
        meta["annotations"][APPLIED] = json.dumps(placement, separators=(",", ":"))
    binding: dict[str, Any] = {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
                               "metadata": meta, "spec": spec}
    if "clusterAffinities" in placement and rng.random() < 0.3:
        binding["status"] = {"schedulerObservedAffinityName": "backup"}
    return binding


def generate_bindings(count: int, cluster_names: Sequence[str], seed: int) -> list[dict[str, Any]]:
    catalogue = placements(max(8, min(60, count // 20)), cluster_names, seed)
    rng = random.Random(f"bindings-{seed}")
    return [_binding(rng, index, catalogue, cluster_names) for index in range(count)]


def generate_fleet(shape: FleetShape) -> dict[str, Any]:
    """The whole snapshot: one List of Cluster then ResourceBinding objects."""
    clusters = generate_clusters(shape.clusters, shape.seed)
    names = [c["metadata"]["name"] for c in clusters]
    bindings = generate_bindings(shape.bindings, names, shape.seed)
    return {"apiVersion": "v1", "kind": "List", "items": [*clusters, *bindings]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--bindings", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    text = json.dumps(generate_fleet(FleetShape(args.clusters, args.bindings, args.seed)), indent=1)
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
