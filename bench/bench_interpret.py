"""Benchmark: interpreting workloads with the built-in rules (replicas, requirements and components).

Generates 10,000 Deployments and 1,000 FlinkDeployments (deterministic per seed) and times, five times each,
InterpretReplica over every Deployment and InterpretReplica + InterpretComponent over every FlinkDeployment,
through the same rule library `kpl plan` uses. Prints the median, objects per second and the core count.

    python bench/bench_interpret.py [--deployments N] [--flinks N] [--repeat N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import time
from typing import Any

from kpl.engine.library import builtin_library


def deployment(rng: random.Random, index: int) -> dict[str, Any]:
    containers = [
        {
            "name": f"c{c}",
            "image": "registry.example/app:1",
            "resources": {
                "requests": {"cpu": rng.choice(["100m", "250m", "500m", "1"]),
                             "memory": rng.choice(["128Mi", "256Mi", "1Gi"])},
                "limits": {"cpu": "2", "memory": "2Gi"},
            },
        }
        for c in range(rng.randint(1, 3))
    ]
    spec: dict[str, Any] = {"containers": containers}
    if rng.random() < 0.3:
        spec["nodeSelector"] = {"disktype": "ssd"}
    if rng.random() < 0.2:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"web-{index}", "namespace": f"team-{index % 20}"},
        "spec": {"replicas": rng.randint(0, 50), "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}},
    }


def flink(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
        "metadata": {"name": f"job-{index}", "namespace": "streaming"},
        "spec": {
            "flinkConfiguration": {"taskmanager.numberOfTaskSlots": str(rng.choice([1, 2, 4]))},
            "jobManager": {"replicas": 1, "resource": {"cpu": rng.choice([0.5, 1, 2]), "memory": "1024m"}},
            "taskManager": {"resource": {"cpu": rng.choice([1, 2, 4]), "memory": rng.choice(["2048m", "4Gi"])}},
            "job": {"parallelism": rng.randint(1, 16)},
        },
    }


def run_once(deployments: list[dict[str, Any]], flinks: list[dict[str, Any]]) -> tuple[float, float, str]:
    library = builtin_library()
    deploy_rule = library.get("apps/v1", "Deployment")
    flink_rule = library.get("flink.apache.org/v1beta1", "FlinkDeployment")
    assert deploy_rule is not None and flink_rule is not None
    digest = hashlib.sha256()
    start, cpu_start = time.perf_counter(), time.process_time()
    for obj in deployments:
        digest.update(json.dumps(deploy_rule.run("InterpretReplica", desired=obj), sort_keys=True).encode())
    for obj in flinks:
        digest.update(json.dumps(flink_rule.run("InterpretReplica", desired=obj), sort_keys=True).encode())
        digest.update(json.dumps(flink_rule.run("InterpretComponent", desired=obj), sort_keys=True).encode())
    return time.perf_counter() - start, time.process_time() - cpu_start, digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--flinks", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    deployments = [deployment(rng, i) for i in range(args.deployments)]
    flinks = [flink(rng, i) for i in range(args.flinks)]
    warm_start = time.perf_counter()
    builtin_library().get("apps/v1", "Deployment")
    builtin_library().get("flink.apache.org/v1beta1", "FlinkDeployment")
    compile_seconds = time.perf_counter() - warm_start
    times, cpu_times, digests = zip(*(run_once(deployments, flinks) for _ in range(args.repeat)), strict=True)
    median, cpu_median = statistics.median(times), statistics.median(cpu_times)
    objects = len(deployments) + len(flinks)
    result = {
        "cores": os.cpu_count(), "objects": objects, "deployments": len(deployments), "flinks": len(flinks),
        "rule_compile_seconds": round(compile_seconds, 3), "median_seconds": round(median, 3),
        "objects_per_second": round(objects / median), "median_cpu_seconds": round(cpu_median, 3),
        "objects_per_cpu_second": round(objects / cpu_median), "runs": [round(t, 3) for t in times],
        "output_hash": digests[0], "stable": len(set(digests)) == 1,
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
