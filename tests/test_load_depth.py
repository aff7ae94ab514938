"""The snapshot's nesting-depth guard: the level walk over exact dicts and lists agrees with a plain walk on
any value (other mapping types included) and a deep document is a located diagnostic, never a traceback."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.limits import DEFAULT_LIMITS, KplLimits, using_limits
from kpl.engine.snapshot import _depth, load_snapshot


def _plain_depth(value: Any) -> int:
    if isinstance(value, dict) and value:
        return 1 + max(_plain_depth(v) for v in value.values())
    if isinstance(value, list) and value:
        return 1 + max(_plain_depth(v) for v in value)
    return 1


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=2)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=2), inner, max_size=3)
                      | st.dictionaries(st.text(max_size=2), inner, max_size=2).map(OrderedDict), max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.integers(1, 8))
def test_the_guard_answers_as_the_plain_depth(value: Any, limit: int) -> None:
    assert _depth(value, limit) == (_plain_depth(value) <= limit)


def _nested(levels: int, leaf: Any) -> Any:
    value = leaf
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


def test_the_boundary_is_exact_for_empty_and_full_innermost_containers() -> None:
    for leaf, extra in (([], 0), ({}, 0), ([1], 1), ({"a": "b"}, 1), ("x", 0)):
        value = _nested(10, leaf)
        depth = 11 + extra if leaf != "x" else 11
        assert _depth(value, depth) and not _depth(value, depth - 1)


def test_a_deep_json_snapshot_is_one_diagnostic(tmp_path: Path) -> None:
    cluster = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "m1"},
               "spec": {"x": _nested(DEFAULT_LIMITS.nesting_depth, 1)}}
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [cluster]}))
    snapshot, problems = load_snapshot([path])
    assert [p.code for p in problems] == ["snapshot.too_deep"] and not snapshot.clusters
    with using_limits(KplLimits(nesting_depth=DEFAULT_LIMITS.nesting_depth + 10)):
        snapshot, problems = load_snapshot([path])
    assert not problems and len(snapshot.clusters) == 1
