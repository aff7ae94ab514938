"""The plan graph as data: nodes with their kind and label, and the edges between them, as JSON or DOT.

The order is deterministic: nodes sorted by id, edges by (from, to), so the same inputs always give the
same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpl.engine.plan import Plan

__all__ = [
    "GRAPH_FORMAT_VERSION", "GraphNode", "graph_edges", "graph_nodes", "graph_to_json", "render_dot",
    "render_graph_json",
]

GRAPH_FORMAT_VERSION = 1
_SHAPES = {
    "cluster": "box3d", "policy": "note", "workload": "component", "match": "diamond", "binding": "box",
    "schedule": "ellipse", "quota": "cylinder", "failover": "octagon", "simulation": "hexagon",
    "report": "doublecircle",
}


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    kind: str
    label: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "label": self.label}


def _label(node: str, kind: str) -> str:
    prefix = f"{kind}:"
    return node[len(prefix):] if node.startswith(prefix) else node


def graph_nodes(plan: Plan) -> list[GraphNode]:
    """Every node of the plan graph, sorted by id."""
    kinds = {str(node): str(plan.graph.nodes[node]["kind"]) for node in plan.graph.nodes}
    return [GraphNode(node, kinds[node], _label(node, kinds[node])) for node in sorted(kinds)]


def graph_edges(plan: Plan) -> list[tuple[str, str]]:
    """Every edge (from the step computed first to the step that reads it), sorted."""
    return sorted((str(a), str(b)) for a, b in plan.graph.edges())


def graph_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "formatVersion": GRAPH_FORMAT_VERSION,
        "nodes": [node.to_json() for node in graph_nodes(plan)],
        "edges": [{"from": a, "to": b} for a, b in graph_edges(plan)],
    }


def render_graph_json(plan: Plan) -> str:
    """The graph as JSON: sorted keys, two-space indent, a final newline."""
    return json.dumps(graph_to_json(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(plan: Plan) -> str:
    """The graph in Graphviz DOT, one line per node (kind in the label and the shape) and per edge."""
    lines = ["digraph plan {", "  rankdir=LR;", "  node [fontname=\"Helvetica\", fontsize=10];"]
    for node in graph_nodes(plan):
        label = f"{node.kind}\n{node.label}" if node.label != node.kind else node.kind
        lines.append(f"  {_quoted(node.id)} [label={_quoted(label)}, shape={_SHAPES.get(node.kind, 'box')}];")
    lines += [f"  {_quoted(a)} -> {_quoted(b)};" for a, b in graph_edges(plan)]
    return "\n".join([*lines, "}"]) + "\n"
