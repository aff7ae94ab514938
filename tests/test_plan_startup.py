"""``kpl plan`` over a JSON snapshot alone loads no module of the language or the YAML reader.

Those imports (the parser with lark, the AST, the interpreter, jsonpath, PyYAML) are a third of the
command's start-up and only policy files, interpreter rules, state preservation or YAML snapshots need them.
The check runs in a new process, where nothing else has imported them yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LANGUAGE_MODULES = ("lark", "yaml", "jsonpath_ng", "kpl.dsl.ast", "kpl.dsl.parser", "kpl.engine.interpreter",
                    "kpl.engine.check", "kpl.engine.policy", "kpl.engine.k8s_jsonpath")

_CLUSTER = {
    "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "member1"},
    "spec": {"region": "eu"},
    "status": {"conditions": [{"type": "Ready", "status": "True"}],
               "apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"name": "deployments",
                                                                             "kind": "Deployment"}]}],
               "resourceSummary": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"}}},
}
_BINDING = {
    "apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
    "metadata": {"name": "web-deployment", "namespace": "default"},
    "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web"},
             "replicas": 2, "replicaRequirements": {"resourceRequest": {"cpu": "100m"}},
             "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                 "replicaDivisionPreference": "Aggregated"}}},
}

_PROBE = """
import sys
from kpl.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:
    code = done.code
print("EXIT", code, file=sys.stderr)
print("LOADED", " ".join(m for m in {modules!r} if m in sys.modules), file=sys.stderr)
"""


def _run(tmp_path: Path, snapshot: Path, *extra: str) -> tuple[str, str]:
    probe = _PROBE.format(modules=LANGUAGE_MODULES)
    done = subprocess.run([sys.executable, "-c", probe, "plan", "--snapshot", str(snapshot), "-o", "json", *extra],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    lines = dict(line.split(" ", 1) for line in done.stderr.splitlines() if line.startswith(("EXIT", "LOADED")))
    return done.stdout, lines.get("EXIT", "") + "|" + lines.get("LOADED", "")


def test_a_json_snapshot_plan_imports_no_language_module(tmp_path: Path) -> None:
    snapshot = tmp_path / "fleet.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [_CLUSTER, _BINDING]}))
    out, status = _run(tmp_path, snapshot)
    assert status == "0|", status
    placed = json.loads(out)["bindings"][0]
    assert [(t["name"], t["replicas"]) for t in placed["clusters"]] == [("member1", 2)]


def test_a_yaml_snapshot_still_reads_with_the_yaml_reader(tmp_path: Path) -> None:
    snapshot = tmp_path / "fleet.yaml"
    snapshot.write_text("---\n".join(json.dumps(obj) + "\n" for obj in (_CLUSTER, _BINDING)))
    out, status = _run(tmp_path, snapshot)
    code, loaded = status.split("|")
    assert code == "0" and "yaml" in loaded.split()
    assert json.loads(out)["bindings"][0]["clusters"][0]["replicas"] == 2


_AS_PROGRAM = """
import sys
from kpl.cli import main
sys.argv[1:] = {argv!r}
sys.exit(main())
"""


def _program(tmp_path: Path, argv: list[str], hook: str = "") -> subprocess.CompletedProcess[str]:
    """``kpl`` as its entry point runs it (``main()`` with no arguments), after ``hook``."""
    probe = hook + _AS_PROGRAM.format(argv=argv)
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=300)


_AT_EXIT = "import atexit\natexit.register(lambda: print('TEARDOWN', file=__import__('sys').stderr))\n"


def test_plan_as_the_program_ends_without_teardown_once_its_output_is_flushed(tmp_path: Path) -> None:
    """The whole report reaches a pipe (no output lost to ``os._exit``), with the plan's exit code, and the
    interpreter's exit work (here an atexit hook) is skipped."""
    snapshot = tmp_path / "fleet.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [_CLUSTER, _BINDING]}))
    done = _program(tmp_path, ["plan", "--snapshot", str(snapshot), "-o", "json"], _AT_EXIT)
    assert done.returncode == 0 and "TEARDOWN" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["bindings"][0]["clusters"][0]["replicas"] == 2
    failing = dict(_BINDING, spec=dict(_BINDING["spec"], replicas=10**6))  # type: ignore[arg-type]
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [_CLUSTER, failing]}))
    target = tmp_path / "out.json"
    done = _program(tmp_path, ["plan", "--snapshot", str(snapshot), "-o", "json", "--output-file", str(target)])
    assert done.returncode == 1 and json.loads(target.read_text())["bindings"][0]["error"] is not None


def test_other_commands_and_calls_with_arguments_keep_the_normal_exit(tmp_path: Path) -> None:
    snapshot = tmp_path / "fleet.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [_CLUSTER, _BINDING]}))
    done = _program(tmp_path, ["--version"], _AT_EXIT)
    assert done.returncode == 0 and "TEARDOWN" in done.stderr
    probe = _AT_EXIT + "import sys\nfrom kpl.cli import main\nprint('CODE', main(sys.argv[1:]))\n"
    done = subprocess.run([sys.executable, "-c", probe, "plan", "--snapshot", str(snapshot), "-o", "json",
                           "--output-file", str(tmp_path / "out.json")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert "CODE 0" in done.stdout and "TEARDOWN" in done.stderr
