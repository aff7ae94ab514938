"""The placement report: cluster usage sums and the JSON, text and markdown renderers."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

from kpl.engine.bindings import Interpretation
from kpl.engine.quantity import parse_quantity
from kpl.engine.report import (
    FORMAT_VERSION,
    BindingReport,
    PlacementReport,
    PolicyReport,
    ResourceRef,
    cluster_report,
    explanation_json,
    render_json,
    render_markdown,
    render_text,
    report_to_json,
    target_requests,
)
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.pipeline import ClusterExplanation, ScheduleFailure
from kpl.engine.scheduler.types import TargetCluster, TargetComponent

SINGLE: dict[str, Any] = {
    "replicas": 4, "replicaRequirements": {"resourceRequest": {"cpu": "500m", "memory": "1Gi"}},
}
COMPONENTS: dict[str, Any] = {"components": [
    {"name": "jm", "replicas": 1,
     "replicaRequirements": {"resourceRequest": {"cpu": "1", "memory": "1024m"}}},
    {"name": "tm", "replicas": 2, "replicaRequirements": {"resourceRequest": {"cpu": "2"}}},
]}


def _capacity() -> ClusterCapacity:
    summary = {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
               "allocated": {"cpu": "4", "memory": "16Gi", "pods": "10"}, "allocating": {"cpu": "500m"}}
    return ClusterCapacity.from_summary("m1", summary)


def test_single_template_requests_scale_with_replicas() -> None:
    pods, found = target_requests(SINGLE, TargetCluster("m1", 3))
    assert pods == 3 and found == {"cpu": parse_quantity("1500m"), "memory": parse_quantity("3Gi")}


def test_components_count_every_component_or_the_recorded_ones() -> None:
    pods, found = target_requests(COMPONENTS, TargetCluster("m1"))
    assert pods == 3 and str(found["cpu"]) == "5" and found["memory"] == parse_quantity("1024m")
    recorded = TargetCluster("m1", 0, (TargetComponent("jm", 2), TargetComponent("tm", 0)))
    assert target_requests(COMPONENTS, recorded) == (2, {"cpu": parse_quantity("2"),
                                                         "memory": parse_quantity("2048m")})


def test_cluster_report_sums_and_free_capacity() -> None:
    report = cluster_report(_capacity(), [("b/x", SINGLE, TargetCluster("m1", 2)),
                                          ("a/y", SINGLE, TargetCluster("m1", 1))])
    assert report.bindings == ("a/y", "b/x") and report.replicas == 3
    assert report.to_json() == {
        "cluster": "m1", "replicas": 3, "bindings": ["a/y", "b/x"],
        "requests": {"cpu": "1500m", "memory": "3Gi"},
        "free": {"cpu": "11500m", "memory": "48Gi", "pods": "100"},
    }
    assert cluster_report(ClusterCapacity(name="bare"), []).free is None


def _report(**changes: Any) -> PlacementReport:
    explanation = (
        ClusterExplanation("m1", score=100, allocatable_replicas=5, available_replicas=5, selected=True,
                           replicas=2),
        ClusterExplanation("m2", filter_plugin="ClusterAffinity", reason="did | not match"),
    )
    binding = BindingReport(
        "ResourceBinding", "web", "app-deployment", ResourceRef("apps/v1", "Deployment", "web", "app"),
        PolicyReport("PropagationPolicy", "web", "pp", 1, "name", lost=(("PropagationPolicy", "web", "qq",
                                                                          "lower priority (0 < 1)"),)),
        Interpretation("InterpretReplica", "native", 2), 2, (), "PlacementChanged",
        (TargetCluster("m1", 2),), None, None, None, "", explanation,
    )
    fields = {"bindings": (binding,), "clusters": (cluster_report(_capacity(), []),), **changes}
    return PlacementReport("policies", {"MultiplePodTemplatesScheduling": True}, **fields)


def test_json_is_versioned_sorted_and_stable() -> None:
    text = render_json(_report())
    data = json.loads(text)
    assert data["formatVersion"] == FORMAT_VERSION == 2
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text == render_json(_report())
    assert data["summary"] == {"bindings": 1, "failed": 0, "scheduled": 1, "unchanged": 0, "unmatched": 0}
    reference = data["bindings"][0]["explanations"]
    assert reference["changes"] == [{"cluster": "m1", "replicas": 2, "selected": True}]
    table = data["clusterExplanations"]
    shared = [table[n] for n in data["explanationSets"][reference["set"]]["explanations"]]
    assert shared[1]["filter"] == "ClusterAffinity" and not shared[0]["selected"] and shared[0]["replicas"] is None
    assert _explained(data, 0) == [explanation_json(e) for e in _report().bindings[0].explanations]


def _explained(data: dict[str, Any], position: int) -> list[dict[str, Any]]:
    """A binding's full explanation list rebuilt from its set and its changes, as a reader does."""
    reference = data["bindings"][position]["explanations"]
    if reference is None:
        return []
    changes = {e["cluster"]: e for e in reference["changes"]}
    table = data["clusterExplanations"]
    found = [dict(table[n]) for n in data["explanationSets"][reference["set"]]["explanations"]]
    for explanation in found:
        explanation.update(changes.get(explanation["cluster"], {}))
    return found


def test_explanation_sets_keep_every_explanation() -> None:
    base = _report().bindings[0]
    other = replace(base, name="other", explanations=(
        replace(base.explanations[0], selected=False, replicas=None),
        ClusterExplanation("m2", filter_plugin="ClusterAffinity", reason="did | not match")))
    third = replace(base, name="third", explanations=(
        base.explanations[0], ClusterExplanation("m2", score=0, allocatable_replicas=1, available_replicas=1)))
    report = _report(bindings=(base, other, third, replace(base, name="x", explanations=())))
    data = json.loads(render_json(report))
    assert len(data["explanationSets"]) == 2 and len(data["clusterExplanations"]) == 3
    assert [data["bindings"][n]["explanations"]["set"] for n in range(3)] == [0, 0, 1]
    assert data["bindings"][1]["explanations"]["changes"] == [] and data["bindings"][3]["explanations"] is None
    for position, binding in enumerate(report.bindings):
        assert _explained(data, position) == [explanation_json(e) for e in binding.explanations]


def test_failed_binding_flips_ok() -> None:
    report = _report()
    failed = replace(report.bindings[0], clusters=None, error=ScheduleFailure("FitError", "0/2 clusters"))
    broken = _report(bindings=(failed,))
    assert report.ok and not broken.ok
    assert report_to_json(broken)["bindings"][0]["clusters"] is None


def test_text_has_no_escape_codes_without_color() -> None:
    text = render_text(_report())
    assert "\x1b[" not in text
    assert "web/app-deployment" in text and "ClusterAffinity: did | not match" in text
    assert "PropagationPolicy web/qq lost: lower priority (0 < 1)" in text
    assert "\x1b[" in render_text(_report(), color=True)


def test_markdown_tables_escape_pipes() -> None:
    text = render_markdown(_report())
    assert text.startswith("## kpl plan\n")
    assert "ClusterAffinity: did \\| not match" in text
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in rows)
    header = rows[0].count(" | ")
    assert rows[2].count(" | ") == header


def test_text_groups_clusters_by_outcome() -> None:
    base = _report().bindings[0]
    rejected = tuple(ClusterExplanation(f"r{n}", filter_plugin="TaintToleration", reason="untolerated")
                     for n in range(3))
    wide = replace(base, explanations=(*base.explanations, *rejected))
    text = render_text(_report(bindings=(wide,)))
    assert "3 clusters" in text and "TaintToleration: untolerated" in text and "r1" not in text
    assert "ClusterAffinity: did | not match" in text and "m2" in text  # a group of one keeps its cluster
    markdown = render_markdown(_report(bindings=(wide,)))
    assert "| 3 clusters | TaintToleration: untolerated |" in markdown


def test_json_output_does_not_import_the_text_renderer() -> None:
    """``kpl plan -o json`` needs no rich: it is imported only when text is rendered."""
    code = ("import sys, kpl.cli, kpl.plan_command, kpl.plan_output, kpl.engine.plan, kpl.engine.report_json; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))")
    found = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert found.stdout.strip() == "[]"
    assert "rich" in subprocess.run([sys.executable, "-c", code.replace(
        "print(", "from kpl.engine.report import render_text, PlacementReport; render_text(PlacementReport("
        "'bindings', {}, (), ())); print(")], check=True, capture_output=True, text=True).stdout
