"""Score plugins: ClusterLocality (100 where the binding already runs) and ClusterAffinity (always 0).

A cluster's score is the unweighted sum over the plugins, so in practice it is 0 or 100.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import repeat

from kpl.engine.scheduler.affinity import ClusterView

__all__ = [
    "MAX_CLUSTER_SCORE",
    "MIN_CLUSTER_SCORE",
    "affinity_score",
    "cluster_score",
    "locality_score",
    "score_clusters",
]

MAX_CLUSTER_SCORE = 100
MIN_CLUSTER_SCORE = 0


def locality_score(cluster: ClusterView, previous: Collection[str]) -> int:
    """100 when ``cluster`` is in the previous result (``spec.clusters``), else 0."""
    return MAX_CLUSTER_SCORE if previous and cluster.name in previous else MIN_CLUSTER_SCORE


def affinity_score(cluster: ClusterView) -> int:
    """The ClusterAffinity plugin scores every cluster the same."""
    return MIN_CLUSTER_SCORE


def cluster_score(cluster: ClusterView, previous: Collection[str]) -> int:
    """The sum of every score plugin for one cluster."""
    return locality_score(cluster, previous) + affinity_score(cluster)


def score_clusters(
    clusters: Sequence[ClusterView], previous: Collection[str]
) -> list[tuple[ClusterView, int]]:
    """Each feasible cluster with its total score, in the given order."""
    if not previous:
        return list(zip(clusters, repeat(MIN_CLUSTER_SCORE)))  # every plugin scores 0 without a previous result
    names = frozenset(previous)
    return [(cluster, cluster_score(cluster, names)) for cluster in clusters]
