"""Hostile input: every file of ``tests/hostile/`` through the real command line, plus generated cases.

Each case must end with its documented exit code, name the file (and the position, where the diagnostic
has one), show no traceback, finish within a time bound and, for the bombs, stay under a memory bound.
Property tests feed random documents and bytes to the snapshot loader and random objects to every
built-in rule: diagnostics or an ``InterpretError``, never another exception.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpl.cli import main
from kpl.engine.interpreter import OPERATIONS, InterpretError
from kpl.engine.library import builtin_library
from kpl.engine.limits import (
    DEFAULT_LIMITS,
    LimitsError,
    RegexLimitError,
    compile_regex,
    current_limits,
    limits_from_env,
    parse_limits,
    run_regex,
    using_limits,
)
from kpl.engine.snapshot import load_snapshot, parse_documents
from kpl.rules import rule_files

CORPUS = Path(__file__).resolve().parent / "hostile"
MANIFEST: list[dict[str, Any]] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
TIME_BOUND = 20.0  # seconds; generous for a loaded two-core machine (each case takes well under one)
MEMORY_BOUND = 256 * 1024 * 1024  # bytes of Python allocations at the peak, for the bombs
HEAVY = re.compile(r"bomb|deep|huge|long")


def run(args: list[str], *, measure_memory: bool = False) -> tuple[int, str, float, int]:
    """``kpl ARGS`` in-process: exit code, stdout + stderr, seconds, peak traced bytes (0 unless measured)."""
    out, err = io.StringIO(), io.StringIO()
    if measure_memory:
        tracemalloc.start()
    start = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    finally:
        if measure_memory:
            tracemalloc.stop()
    return code, out.getvalue() + err.getvalue(), elapsed, peak


def _args(entry: dict[str, Any]) -> list[str]:
    path = (CORPUS / entry["file"]).as_posix()
    return [a.replace("{file}", path).replace("{root}", CORPUS.as_posix()) for a in entry["args"]]


def _case_id(entry: dict[str, Any]) -> str:
    extra = "-json" if "json" in entry["args"] and entry["args"][0] == "check" else ""
    return f"{entry['file']}[{entry['args'][0]}{extra}]"


def assert_clean(output: str) -> None:
    assert "Traceback" not in output, output[-2000:]
    assert "internal error" not in output, output[-2000:]


# ------------------------------------------------------------------------------------ the corpus


def test_the_corpus_is_large_and_every_file_has_an_expectation() -> None:
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()}
    corpus = {f for f in files if not f.startswith("support/") and f != "expected.yaml"}
    assert len(corpus) >= 60
    assert corpus == {e["file"] for e in MANIFEST}


@pytest.mark.parametrize("entry", MANIFEST, ids=_case_id)
def test_hostile_file(entry: dict[str, Any]) -> None:
    heavy = bool(HEAVY.search(entry["file"]))
    code, output, elapsed, peak = run(_args(entry), measure_memory=heavy)
    assert_clean(output)
    assert code == entry["exit"], output[-2000:]
    assert elapsed < TIME_BOUND
    assert peak < MEMORY_BOUND
    path = (CORPUS / entry["file"]).as_posix()
    if entry["exit"] == 2:
        assert path in output
    if "code" in entry:
        assert f"[{entry['code']}]" in output or f'"code": "{entry["code"]}"' in output
    if "line" in entry and "json" not in entry["args"]:
        assert f"{path}:{entry['line']}:{entry['column']}: " in output
    if "says" in entry:
        assert entry["says"] in output


@pytest.mark.parametrize("name", ["snapshot/yaml_alias_bomb.yaml", "snapshot/binary_nul.yaml",
                                  "snapshot/yaml_python_object.yaml"])
def test_hostile_file_in_a_fresh_process(name: str) -> None:
    entry = next(e for e in MANIFEST if e["file"] == name)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kpl", *_args(entry)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert time.monotonic() - start < TIME_BOUND * 3  # includes the interpreter's start-up
    assert done.returncode == entry["exit"]
    assert "Traceback" not in done.stderr
    assert (CORPUS / name).as_posix() in done.stdout + done.stderr


# ------------------------------------------------------------------------------------ generated cases


def _cluster(name: str, extra: str = "") -> str:
    return f"apiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}}}\n{extra}"


def test_no_code_runs_from_yaml_tags(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    code, output, _, _ = run(["plan", "--snapshot", str(evil)])
    assert code == 2 and "[snapshot.invalid_yaml]" in output and f"{evil}:1:1: " in output
    assert not marker.exists()
    documents, problems = parse_documents("x.yaml", "a: !!python/object:os.system {}\n")
    assert documents == [] and [p.code for p in problems] == ["snapshot.invalid_yaml"]


def test_a_folder_of_thousands_of_files(tmp_path: Path) -> None:
    for i in range(2000):
        (tmp_path / f"c{i:04}.yaml").write_text(_cluster(f"m{i}"), encoding="utf-8")
    code, output, elapsed, _ = run(["plan", "--snapshot", str(tmp_path), "-o", "json"])
    assert_clean(output)
    assert code == 0 and elapsed < TIME_BOUND * 2
    code, output, _, _ = run(["--limit", "snapshot_files=1000", "plan", "--snapshot", str(tmp_path)])
    assert code == 2 and "[io.too_many_files]" in output and "more than 1000 snapshot files" in output


def test_symlink_loops_end(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "again").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub" / "ok.yaml").write_text(_cluster("m1"), encoding="utf-8")
    code, output, elapsed, _ = run(["plan", "--snapshot", str(tmp_path)])
    assert_clean(output)
    assert code == 2 and elapsed < TIME_BOUND
    assert "[io.not_found]" in output and "symbolic link" in output and "a.yaml" in output
    code, output, _, _ = run(["check", str(tmp_path / "a.yaml")])
    assert code == 2 and "a.yaml" in output
    (tmp_path / "rules.kpl").symlink_to(tmp_path / "rules.kpl")
    code, output, _, _ = run(["check", str(tmp_path)])
    assert_clean(output)
    assert code == 2 and "rules.kpl" in output


def test_huge_strings_are_read_and_bounded(tmp_path: Path) -> None:
    label = "x" * 3_000_000
    (tmp_path / "big.yaml").write_text(_cluster("m1", f"spec: {{provider: {label}}}\n"), encoding="utf-8")
    code, output, elapsed, _ = run(["plan", "--snapshot", str(tmp_path / "big.yaml"), "-o", "json"])
    assert_clean(output)
    assert code == 0 and elapsed < TIME_BOUND
    code, output, _, _ = run(["--limit", "snapshot_file_bytes=1000", "plan", "--snapshot", str(tmp_path)])
    assert code == 2 and "[snapshot.too_large]" in output and "big.yaml" in output


def test_limits_on_the_command_line_and_in_the_environment(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    anchors = "a: &a {x: 1}\n" + "".join(f"k{i}: *a\n" for i in range(5))
    (tmp_path / "s.yaml").write_text(anchors, encoding="utf-8")
    code, output, _, _ = run(["--limit", "yaml_aliases=2", "plan", "--snapshot", str(tmp_path / "s.yaml")])
    assert code == 2 and "more than 2 aliases" in output and f"{tmp_path / 's.yaml'}:4:" in output
    monkeypatch.setenv("KPL_LIMITS", "yaml_aliases=3")
    code, output, _, _ = run(["plan", "--snapshot", str(tmp_path / "s.yaml")])
    assert code == 2 and "more than 3 aliases" in output
    code, output, _, _ = run(["--limit", "no_such_limit=1", "plan", "--snapshot", str(tmp_path)])
    assert code == 2 and "no limit `no_such_limit`" in output
    assert current_limits() == DEFAULT_LIMITS  # the run's limits do not outlive it


def test_parse_limits() -> None:
    assert parse_limits(["regex_seconds=0.5", "project-files=10"]).project_files == 10
    assert limits_from_env({"KPL_LIMITS": "nesting_depth=5, quantity_exponent=7"}).quantity_exponent == 7
    for bad in (["x"], ["nesting_depth=-1"], ["nesting_depth=1.5"], ["regex_seconds=nan"], ["nope=1"]):
        with pytest.raises(LimitsError):
            parse_limits(bad)


def test_quantity_limits_follow_the_limits_in_force() -> None:
    from kpl.engine.quantity import QuantityError, parse_quantity

    assert parse_quantity("1e100").amount == 10**100
    with pytest.raises(QuantityError, match="exponent"):
        parse_quantity("1e101")
    with using_limits(DEFAULT_LIMITS.replace(quantity_exponent=3)), pytest.raises(QuantityError):
        parse_quantity("1e4")
    with pytest.raises(QuantityError, match="at most 128"):
        parse_quantity("1" * 129)


# ------------------------------------------------------------------------------------ regular expressions


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a*)*b", r"(a|aa)*c", r"(\w+\s?)+$", r"(a)\1", r"(.*a){2,}x",
                                     r"((ab)*c)*", r"(?:x+y?)+z"])
def test_exponential_regexes_are_refused(pattern: str) -> None:
    with pytest.raises(RegexLimitError, match="exponential"):
        compile_regex(pattern)


def test_every_regex_in_the_built_in_rules_is_accepted() -> None:
    found = [m.group(1) for path in rule_files()
             for m in re.finditer(r'match(?:_all)?\([^,]+, "((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8"))]
    assert found
    for pattern in found:
        compile_regex(pattern.encode().decode("unicode_escape"))
    for pattern in (r"^[+-]?[0-9]+$", r"([0-9.]+)([hms])", r"(?:ab{2})*", r"x{2,}", r"(a|b)*"):
        compile_regex(pattern)


def test_regex_time_and_length_are_bounded() -> None:
    compiled = compile_regex(r".*.*.*.*.*=")
    with using_limits(DEFAULT_LIMITS.replace(regex_seconds=0.2)):
        start = time.monotonic()
        with pytest.raises(RegexLimitError, match=r"longer than 0\.2 s"):
            run_regex("x" * 5000, compiled.search)
        assert time.monotonic() - start < 5
    with using_limits(DEFAULT_LIMITS.replace(regex_text_length=10)), pytest.raises(RegexLimitError):
        run_regex("x" * 11, compiled.search)
    with pytest.raises(RegexLimitError, match="longer than"):
        compile_regex("a" * 1001)
    assert run_regex("k=v", compiled.search) is not None


# ------------------------------------------------------------------------------------ fuzzing

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
FUZZ = settings(max_examples=max(60, settings.default.max_examples), deadline=None, suppress_health_check=_HEALTH)
FUZZ_CLI = settings(max_examples=max(20, settings.default.max_examples // 5), deadline=None,
                    suppress_health_check=_HEALTH)

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                     st.text(max_size=12), st.sampled_from(["12Zi", "1e400", "100m", "1Gi", "-3", "", "True"]))
_keys = st.sampled_from(["apiVersion", "kind", "metadata", "name", "namespace", "labels", "spec", "status",
                         "replicas", "clusters", "placement", "resourceSummary", "allocatable", "cpu", "memory",
                         "conditions", "taints", "items", "template", "containers", "resources", "requests",
                         "resourceSelectors", "spreadConstraints", "overall", "x"])
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_keys, inner, max_size=6)), max_leaves=30)
_kinds = st.sampled_from(["Cluster", "ResourceBinding", "ClusterResourceBinding", "PropagationPolicy",
                          "ClusterPropagationPolicy", "FederatedResourceQuota", "Deployment", "List", "Job"])


@st.composite
def _objects(draw: st.DrawFn) -> Any:
    body = draw(st.dictionaries(_keys, _json, max_size=6))
    if draw(st.booleans()):
        body["kind"] = draw(_kinds)
        body.setdefault("metadata", {"name": draw(st.text(min_size=1, max_size=5)), "namespace": "d"})
    return body


def _load_and_plan(folder: Path) -> None:
    _snapshot, problems = load_snapshot([folder])
    assert all(p.code.startswith(("io.", "snapshot.")) for p in problems)
    code, output, _, _ = run(["plan", "--snapshot", str(folder), "-o", "json"])
    assert_clean(output)
    assert code in (0, 1, 2)


@FUZZ_CLI
@given(documents=st.lists(_objects(), min_size=1, max_size=4), as_json=st.booleans())
def test_random_documents_give_diagnostics_not_exceptions(documents: list[Any], as_json: bool) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("s.json" if as_json else "s.yaml")
        text = json.dumps({"kind": "List", "items": documents}) if as_json else yaml.safe_dump_all(documents)
        path.write_text(text, encoding="utf-8")
        _load_and_plan(Path(folder))


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".yaml", ".json"]))
def test_random_bytes_give_diagnostics_not_exceptions(data: bytes, suffix: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"s{suffix}").write_bytes(data)
        _snapshot, problems = load_snapshot([Path(folder)])
        assert all(p.code.startswith(("io.", "snapshot.")) for p in problems)


_RULES = [(kind, operation) for kind in builtin_library().kinds() for operation in OPERATIONS]


@FUZZ
@given(index=st.integers(0, len(_RULES) - 1), desired=_json, observed=_json,
       status_items=st.one_of(st.none(), st.lists(_json, max_size=3)), replicas=st.integers(-5, 50))
def test_built_in_rules_are_total_over_random_objects(index: int, desired: Any, observed: Any,
                                                      status_items: Any, replicas: int) -> None:
    (api_version, kind), operation = _RULES[index]
    rule = builtin_library().get(api_version, kind)
    assert rule is not None
    if not rule.implements(operation):
        return
    shaped = [dict(v, apiVersion=api_version, kind=kind) if isinstance(v, dict) else v for v in (desired, observed)]
    with contextlib.suppress(InterpretError):
        rule.run(operation, desired=shaped[0], observed=shaped[1], status_items=status_items,
                 desired_replicas=replicas)


def test_the_library_has_rules_to_fuzz() -> None:
    assert len({kind for kind, _ in _RULES}) >= 30
