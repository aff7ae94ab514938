"""Fleet snapshots from what users already have: ``kubectl get ... -o yaml|json`` output.

A snapshot is read from files or folders of YAML (multi-document, or ``kind: List``) or JSON (``kubectl
get -o json`` Lists, loaded with the json module). Objects are sorted into clusters, bindings, policies,
quotas and workloads. YAML is loaded safely, with limits on size, aliases and nesting; every problem is a
diagnostic naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.source import Source, Span

__all__ = ["Snapshot", "load_objects", "load_snapshot"]

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_ALIASES = 1000
MAX_DEPTH = 200
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class Snapshot:
    clusters: list[dict[str, Any]] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    quotas: list[dict[str, Any]] = field(default_factory=list)
    workloads: list[dict[str, Any]] = field(default_factory=list)
    origins: dict[int, tuple[str, int]] = field(default_factory=dict)

    def where(self, obj: Mapping[str, Any]) -> tuple[str, int] | None:
        """The file and line an object came from."""
        return self.origins.get(id(obj))


class _Loader(yaml.SafeLoader):
    """A safe loader that counts aliases, so a "billion laughs" document fails fast."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


def _depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for folder, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from (Path(folder) / n for n in sorted(names) if n.endswith(SUFFIXES))
        else:
            yield path


def _problem(code: str, message: str, name: str, text: str = "", line: int = 0, column: int = 0) -> Diagnostic:
    source = Source(name, text)
    span = Span(source.offset(line, column), source.offset(line, column) + 1) if line else None
    return Diagnostic(code, message, source, span)


def _documents(path: Path) -> tuple[list[tuple[Any, int]], list[Diagnostic]]:
    name = path.as_posix()
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [_problem("snapshot.too_large", f"`{name}` is larger than {MAX_FILE_BYTES} bytes", name)]
        data = path.read_bytes()
    except OSError as error:
        return [], [_problem("io.unreadable", f"cannot read `{name}`: {(error.strerror or '').lower()}", name)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return [], [_problem("io.not_utf8", f"`{name}` is not valid UTF-8 (byte {error.start})", name)]
    if path.suffix == ".json" or text.lstrip().startswith(("{", "[")):
        try:
            return [(json.loads(text), 1)], []
        except json.JSONDecodeError as error:
            if path.suffix == ".json":
                return [], [_problem("snapshot.invalid_json", f"invalid JSON: {error.msg}", name, text,
                                     error.lineno, error.colno)]
        except RecursionError:
            return [], [_problem("snapshot.too_deep", "JSON is nested too deeply", name)]
    return _yaml_documents(name, text)


def _yaml_documents(name: str, text: str) -> tuple[list[tuple[Any, int]], list[Diagnostic]]:
    out: list[tuple[Any, int]] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 1
            out.append((loader.construct_document(node), line))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return out, [_problem("snapshot.invalid_yaml", f"invalid YAML: {error.problem or error}", name, text,
                              line, column)]
    except (yaml.YAMLError, RecursionError) as error:
        message = "YAML is nested too deeply" if isinstance(error, RecursionError) else f"invalid YAML: {error}"
        return out, [_problem("snapshot.invalid_yaml", message, name)]
    finally:
        loader.dispose()
    return out, []


def load_objects(paths: Iterable[Path]) -> tuple[list[tuple[dict[str, Any], str, int]], list[Diagnostic]]:
    """Every Kubernetes object in the files, with its file and line; Lists are flattened."""
    objects: list[tuple[dict[str, Any], str, int]] = []
    problems: list[Diagnostic] = []
    for path in _files(paths):
        if not path.exists():
            problems.append(_problem("io.not_found", f"no such file or directory `{path}`", path.as_posix()))
            continue
        documents, found = _documents(path)
        problems.extend(found)
        for document, line in documents:
            if document is None:
                continue
            if not _depth(document):
                problems.append(_problem("snapshot.too_deep", "document is nested too deeply", path.as_posix()))
                continue
            for obj in _flatten(document):
                objects.append((obj, path.as_posix(), line))
    return objects, problems


def _flatten(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _flatten(item)
    elif isinstance(document, dict):
        if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
            for item in document["items"]:
                yield from _flatten(item)
        else:
            yield document


_BUCKETS = {
    "Cluster": "clusters",
    "ResourceBinding": "bindings",
    "ClusterResourceBinding": "bindings",
    "PropagationPolicy": "policies",
    "ClusterPropagationPolicy": "policies",
    "FederatedResourceQuota": "quotas",
}


def load_snapshot(paths: Iterable[Path]) -> tuple[Snapshot, list[Diagnostic]]:
    snapshot = Snapshot()
    objects, problems = load_objects(paths)
    seen_clusters: dict[str, tuple[str, int]] = {}
    for obj, name, line in objects:
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        if not isinstance(kind, str) or not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
            problems.append(_problem("snapshot.invalid_object", "an object needs `kind` and `metadata.name`",
                                     name, _read(name), line, 1))
            continue
        if kind == "Cluster":
            if metadata["name"] in seen_clusters:
                first = seen_clusters[metadata["name"]]
                problems.append(_problem("snapshot.duplicate_cluster",
                                         f"cluster `{metadata['name']}` appears twice (first at {first[0]}:{first[1]})",
                                         name, _read(name), line, 1))
                continue
            seen_clusters[metadata["name"]] = (name, line)
        getattr(snapshot, _BUCKETS.get(kind, "workloads")).append(obj)
        snapshot.origins[id(obj)] = (name, line)
    return snapshot, problems


def _read(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
