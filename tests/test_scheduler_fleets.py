"""``kpl plan --snapshot`` on generated fleets against the answers karmada-scheduler gave on the same fleets.

The data and how it was recorded: ``tests/data/karmada_scheduler/README.md``.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kpl.engine.plan import Plan, load_plan_inputs
from kpl.engine.report import BindingReport

DATA = Path(__file__).parent / "data" / "karmada_scheduler"
FLEETS = sorted(p.name.removesuffix(".json.gz") for p in DATA.glob("*.json.gz") if ".answers" not in p.name)


def _answers(name: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / f"{name}.answers.jsonl.gz", "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def _plan(name: str, tmp: Path) -> dict[tuple[str, str], BindingReport]:
    fleet = tmp / f"{name}.json"
    with gzip.open(DATA / f"{name}.json.gz", "rb") as src, fleet.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    loaded = load_plan_inputs([], [fleet])
    assert not loaded.diagnostics
    report = Plan.compile(loaded.inputs).evaluate()
    return {(b.namespace, b.name): b for b in report.bindings}


def _outcome(binding: BindingReport) -> dict[str, Any]:
    """What Karmada leaves behind: nothing after a FitError, the old result after other failures or when it
    did not schedule the binding, else the new result."""
    scheduled = binding.trigger is not None
    if not scheduled or (binding.error is not None and binding.error.type != "FitError"):
        found = binding.previous or ()
    elif binding.error is not None:
        found = ()
    else:
        found = binding.clusters or ()
    return {"scheduled": scheduled, "clusters": {t.name: t.replicas for t in found},
            "error": binding.error.type if binding.error is not None else None}


def test_every_fleet_is_present() -> None:
    assert len(FLEETS) == 7


@pytest.mark.parametrize("name", FLEETS)
def test_fleet_matches_karmada_scheduler(name: str, tmp_path: Path) -> None:
    ours = _plan(name, tmp_path)
    answers = _answers(name)
    assert len(ours) == len(answers)
    differences = []
    kinds: Counter[str] = Counter()
    for answer in answers:
        binding = ours[(answer["namespace"], answer["name"])]
        error = answer["error"]
        expected = {"scheduled": answer["scheduled"], "clusters": answer["clusters"],
                    "error": error["type"] if error else None}
        got = _outcome(binding)
        kinds[str(expected["error"])] += 1
        if got != expected:
            differences.append((answer["name"], expected, got))
        elif error and binding.error is not None:
            if error["type"] != "FitError" and binding.error.message != error["message"]:
                differences.append((answer["name"], error["message"], binding.error.message))
            head = error["message"].split(":")[0]
            if error["type"] == "FitError" and not binding.error.message.startswith(head + ":"):
                differences.append((answer["name"], error["message"], binding.error.message))
    assert differences == [], f"{len(differences)} of {len(answers)} bindings differ: {differences[:5]}"
    assert kinds["None"] > 0
