"""The README's example output is what ``kpl plan`` prints for the shipped example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kpl.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _excerpt() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"What `kpl plan` prints for the example.*?```text\n(.*?)```", text, re.S)
    assert found is not None
    return found.group(1).splitlines()


def test_readme_plan_excerpt_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plan", str(ROOT / "examples/fleet/policies"), "--snapshot", str(ROOT / "examples/fleet/snapshot"),
          "--feature-gates", "MultiplePodTemplatesScheduling=true"])
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    excerpt = _excerpt()
    assert len(excerpt) > 20
    start = printed.index(excerpt[0])
    bindings = excerpt[: excerpt.index("") + 1 + excerpt[excerpt.index("") + 1:].index("")]
    assert printed[start: start + len(bindings)] == bindings
    quota = excerpt[len(bindings) + 1:]
    at = printed.index(quota[0])
    assert printed[at: at + len(quota)] == quota
