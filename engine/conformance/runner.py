"""Run Karmada conformance data: interpreter test files (``*-test.yaml``) and vector files.

A case ends as ``passed``, ``failed`` (a wrong answer, or an op kpl does not answer yet),
``errored`` (evaluation failed where Karmada answers) or ``excluded`` (listed in
:data:`kpl.engine.conformance.exclusions.EXCLUDED` with its reason). Nothing is skipped silently.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kpl.engine.conformance.compare import deep_diff
from kpl.engine.conformance.exclusions import excluded_reason
from kpl.engine.conformance.registry import lookup
from kpl.engine.interpreter import OPERATIONS, InterpretError
from kpl.engine.library import Library, builtin_library

__all__ = ["CaseResult", "Summary", "collect_files", "run_paths"]

EXCLUDE = "{{EXCLUDE}}"
OUTCOMES = ("passed", "failed", "errored", "excluded")


@dataclass(frozen=True)
class CaseResult:
    file: str
    case: str
    operation: str
    outcome: str
    message: str = ""


@dataclass
class Summary:
    results: list[CaseResult] = field(default_factory=list)
    load_errors: list[tuple[str, str]] = field(default_factory=list)

    def count(self, outcome: str, *, operation: str | None = None, file: str | None = None) -> int:
        return sum(
            1 for r in self.results
            if r.outcome == outcome and operation in (None, r.operation) and file in (None, r.file)
        )

    @property
    def ok(self) -> bool:
        return not self.load_errors and all(r.outcome in ("passed", "excluded") for r in self.results)

    def by_operation(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for r in self.results:
            table.setdefault(r.operation, Counter())[r.outcome] += 1
        return {op: _row(counts) for op, counts in sorted(table.items())}

    def by_file(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for r in self.results:
            table.setdefault(r.file, Counter())[r.outcome] += 1
        return {name: _row(counts) for name, counts in sorted(table.items())}

    def to_json(self) -> dict[str, Any]:
        failures = [
            {"file": r.file, "case": r.case, "operation": r.operation, "message": r.message}
            for r in self.results if r.outcome in ("failed", "errored")
        ]
        failures.extend({"file": f, "case": "", "operation": "", "message": m} for f, m in self.load_errors)
        totals = _row(Counter(r.outcome for r in self.results))
        return {**totals, "by_operation": self.by_operation(), "by_file": self.by_file(), "failures": failures}


def _row(counts: Counter[str]) -> dict[str, int]:
    return {"total": sum(counts.values()), **{outcome: counts.get(outcome, 0) for outcome in OUTCOMES}}


_VECTOR_FILE = re.compile(r"^cases:", re.MULTILINE)


def _is_conformance_file(path: Path) -> bool:
    """Interpreter test data (``*-test.yaml``) or a vector file (a top-level ``cases:`` list).

    Other YAML found in a folder (Karmada's CRDs sit beside the data) is not a case and is not counted.
    """
    if path.name.endswith("-test.yaml"):
        return True
    try:
        return bool(_VECTOR_FILE.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return True  # let the runner report it as unreadable


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named on the command line are always run; folders contribute their conformance files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*.yaml")) if _is_conformance_file(p))
        else:
            files.append(path)
    return files


def run_paths(paths: Iterable[Path], library: Library | None = None, base: Path | None = None) -> Summary:
    summary = Summary()
    lib = library or builtin_library()
    for path in collect_files(paths):
        name = _display(path, base)
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            summary.load_errors.append((name, f"cannot read: {error}"))
            continue
        if len(documents) == 1 and isinstance(documents[0], Mapping) and "cases" in documents[0]:
            summary.results.extend(_run_vectors(name, documents[0]))
        else:
            summary.results.extend(_run_interpreter_case(name, doc, lib) for doc in documents)
    return summary


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


# ------------------------------------------------------------------------------------ vectors


def _run_vectors(name: str, document: Mapping[str, Any]) -> Iterable[CaseResult]:
    for case in document.get("cases") or ():
        case_name = str(case.get("name", "?"))
        op = str(case.get("op", "?"))
        reason = excluded_reason(name, case_name)
        if reason:
            yield CaseResult(name, case_name, op, "excluded", reason)
            continue
        handler = lookup(op)
        if handler is None:
            yield CaseResult(name, case_name, op, "failed", f"op `{op}` is not implemented")
            continue
        try:
            message = handler(case.get("input") or {}, case.get("expected"))
        except Exception as error:
            yield CaseResult(name, case_name, op, "errored", f"{type(error).__name__}: {error}")
            continue
        yield CaseResult(name, case_name, op, "failed" if message else "passed", message or "")


# ------------------------------------------------------------------------------------ interpreter data


def _run_interpreter_case(name: str, doc: Any, library: Library) -> CaseResult:
    if not isinstance(doc, Mapping):
        return CaseResult(name, "?", "?", "failed", "a test document must be a mapping")
    case = str(doc.get("name", "?"))
    operation = str(doc.get("operation", "?"))
    reason = excluded_reason(name, case)
    if reason:
        return CaseResult(name, case, operation, "excluded", reason)
    obj = doc.get("desiredObj") or doc.get("observedObj") or {}
    rule = library.get(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if rule is None or not rule.implements(operation):
        what = f"{obj.get('apiVersion')} {obj.get('kind')}"
        return CaseResult(name, case, operation, "failed", f"no rule implements {operation} for {what}")
    desired, observed = doc.get("desiredObj"), doc.get("observedObj")
    if operation not in ("AggregateStatus", "Retain") and (desired is None) != (observed is None):
        # Karmada's harness gives a single-object operation whichever object the case supplies.
        desired = observed = desired if desired is not None else observed
    try:
        produced = rule.run(
            operation, desired=desired, observed=observed,
            status_items=doc.get("statusItems"), desired_replicas=doc.get("inputReplicas"),
        )
    except InterpretError as error:
        return CaseResult(name, case, operation, "errored", error.message)
    except Exception as error:
        return CaseResult(name, case, operation, "errored", f"internal error: {type(error).__name__}: {error}")
    message = compare_output(produced, doc.get("output") or {})
    return CaseResult(name, case, operation, "failed" if message else "passed", message or "")


def compare_output(produced: Mapping[str, Any], expected: Mapping[str, Any]) -> str | None:
    """Judge one case the way Karmada's own third-party harness does."""
    for key, want in expected.items():
        if key not in produced:
            return f"`{key}` was not produced"
        got = produced[key]
        if key == "components":
            got, want = _sorted(got, ("name",)), _sorted(want, ("name",))
        elif key == "dependencies":
            fields = ("apiVersion", "kind", "namespace", "name")
            got, want = _sorted(got, fields), _sorted(want, fields)
        elif key in ("status", "aggregatedStatus", "retained", "revised"):
            got, want = _strip_excluded(got, want), _strip_excluded(want, want)
        elif key in ("replica", "healthy"):
            if json.dumps(got) != json.dumps(want):
                return f"{key}: expected {json.dumps(want)}, got {json.dumps(got)}"
            continue
        found = deep_diff(got, want, quantities=key in ("requires", "components"), path=key)
        if found:
            return found
    return None


def _sorted(items: Any, fields: tuple[str, ...]) -> Any:
    if not isinstance(items, list):
        return items
    return sorted(items, key=lambda i: tuple(str(i.get(f, "")) for f in fields) if isinstance(i, Mapping) else ())


def _strip_excluded(value: Any, expected: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(expected, Mapping):
        return {
            k: _strip_excluded(v, expected.get(k)) for k, v in value.items() if expected.get(k) != EXCLUDE
        }
    if isinstance(value, list) and isinstance(expected, list) and len(value) == len(expected):
        return [_strip_excluded(v, e) for v, e in zip(value, expected, strict=True)]
    return value


def known_operations() -> list[str]:
    return list(OPERATIONS)
