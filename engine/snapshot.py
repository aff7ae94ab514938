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
from itertools import chain, compress, repeat
from operator import is_
from pathlib import Path
from typing import Any

from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.source import Source, Span
from kpl.engine.collector import paused_gc
from kpl.engine.limits import DEFAULT_LIMITS, current_limits
from kpl.engine.snapshot_schema import shape_problems

__all__ = ["Snapshot", "load_objects", "load_snapshot", "parse_documents", "read_documents"]

# The defaults; the limits in force are ``kpl.engine.limits.current_limits()``.
MAX_FILE_BYTES = DEFAULT_LIMITS.snapshot_file_bytes
MAX_ALIASES = DEFAULT_LIMITS.yaml_aliases
MAX_DEPTH = DEFAULT_LIMITS.nesting_depth
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


# Where each mapping and list of a document starts, and where each of a mapping's keys is (1-based),
# keyed by the ``id`` of the constructed container (alive as long as the document is).
Lines = dict[int, tuple[int, dict[str, tuple[int, int]]]]




_LEAVES = (str, int, float, type(None))
_KNOWN = frozenset((dict, list, str, int, float, bool, type(None)))


def _depth(value: Any, limit: int | None = None) -> bool:
    """Whether ``value`` nests at most ``limit`` levels (a scalar is one level), checked level by level.

    Each level is gathered with C-level iteration: the values of the level's dicts and the items of its
    lists, sorted into the next level's dicts and lists by their exact types. A document holding other
    container types (a YAML loader's mappings, say) takes the general walk."""
    limit = current_limits().nesting_depth if limit is None else limit
    kind = type(value)
    if kind is not dict and kind is not list:
        return kind in _KNOWN or _general_depth(value, limit)
    dicts, lists = ([value], []) if kind is dict else ([], [value])
    depth = 1
    while dicts or lists:
        values = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)]
        if not values:
            return True
        depth += 1
        if depth > limit:
            return False
        kinds = list(map(type, values))
        found = set(kinds)
        if not found <= _KNOWN:
            return _general_depth(value, limit)
        dicts = list(compress(values, map(is_, kinds, repeat(dict)))) if dict in found else []
        lists = list(compress(values, map(is_, kinds, repeat(list)))) if list in found else []
    return True


def _general_depth(value: Any, limit: int) -> bool:
    """:func:`_depth` for any mappings and lists, one value at a time."""
    level, depth = [value], 1
    while True:
        children: list[Any] = []
        for item in level:
            if isinstance(item, _LEAVES):
                continue
            if isinstance(item, Mapping):
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
        if not children:
            return True
        depth += 1
        if depth > limit:
            return False
        level = children


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    """Snapshot files in a stable order; symlinked folders are not followed (so a link loop ends)."""
    for path in paths:
        if path.is_dir():
            for folder, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from (Path(folder) / n for n in sorted(names) if n.endswith(SUFFIXES))
        else:
            yield path


def _problem(code: str, message: str, name: str, text: str = "", line: int = 0,
             column: int = 0) -> Diagnostic:
    source = Source(name, text)
    span = Span(source.offset(line, column), source.offset(line, column) + 1) if line else None
    return Diagnostic(code, message, source, span)


@dataclass(frozen=True, slots=True)
class _Read:
    """One file's documents (each with its first line), its text and the lines of its containers."""

    text: str = ""
    documents: tuple[tuple[Any, int], ...] = ()
    lines: Lines = field(default_factory=dict)
    problems: tuple[Diagnostic, ...] = ()


def _read_file(path: Path) -> _Read:
    name, limit = path.as_posix(), current_limits().snapshot_file_bytes
    try:
        if path.stat().st_size > limit:
            too_large = _problem("snapshot.too_large", f"`{name}` is larger than {limit} bytes", name)
            return _Read(problems=(too_large,))
        data = path.read_bytes()
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        return _Read(problems=(_problem("io.unreadable", f"cannot read `{name}`: {reason}", name),))
    if b"\0" in data[:8192]:
        return _Read(problems=(_problem("io.binary", f"`{name}` is a binary file, not YAML or JSON", name),))
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        good = data[: error.start].decode("utf-8")
        shown = good + data[error.start:].decode("utf-8", errors="replace")
        line, column = good.count("\n") + 1, len(good) - good.rfind("\n")
        message = f"`{name}` is not valid UTF-8 (byte {error.start})"
        return _Read(problems=(_problem("io.not_utf8", message, name, shown, line, column),))
    if path.suffix == ".json" or text.lstrip().startswith(("{", "[")):
        found = _json_document(name, text, strict=path.suffix == ".json")
        if found is not None:
            return found
    from kpl.engine.snapshot_yaml import yaml_documents  # JSON snapshots need no YAML reader

    return yaml_documents(name, text)


def _no_constant(word: str) -> Any:
    raise ValueError(f"`{word}` is not JSON")


def _json_loads(text: str) -> Any:
    """``json.loads`` with the collector paused."""
    with paused_gc():
        return json.loads(text, parse_constant=_no_constant)


def _json_document(name: str, text: str, strict: bool) -> _Read | None:
    """The JSON document in ``text``; None (try YAML) when it is not JSON and the file need not be."""
    try:
        return _Read(text, ((_json_loads(text), 1),))
    except json.JSONDecodeError as error:
        if not strict:
            return None
        message = f"invalid JSON: {error.msg}"
        return _Read(text, problems=(_problem("snapshot.invalid_json", message, name, text, error.lineno,
                                              error.colno),))
    except RecursionError:
        return _Read(text, problems=(_problem("snapshot.too_deep", "JSON is nested too deeply", name),))
    except ValueError as error:  # a number with too many digits, NaN or Infinity
        return _Read(text, problems=(_problem("snapshot.invalid_json", f"invalid JSON: {error}", name),))


def parse_documents(name: str, text: str) -> tuple[list[Any], list[Diagnostic]]:
    """The YAML (or JSON) documents of ``text`` read as snapshots are, with the same limits and diagnostics."""
    from kpl.engine.snapshot_yaml import yaml_documents

    read = yaml_documents(name, text.removeprefix("\ufeff"))
    return _checked_documents(name, read)


def read_documents(path: Path) -> tuple[list[Any], list[Diagnostic]]:
    """The documents of one YAML or JSON file, read as snapshots are (limits, diagnostics, no exceptions)."""
    return _checked_documents(path.as_posix(), _read_file(path))


def _checked_documents(name: str, read: _Read) -> tuple[list[Any], list[Diagnostic]]:
    problems = list(read.problems)
    documents = []
    for document, line in read.documents:
        if _depth(document):
            documents.append(document)
        else:
            problems.append(_problem("snapshot.too_deep", "document is nested too deeply", name, read.text, line, 1))
    return documents, problems


@dataclass(frozen=True, slots=True)
class _Found:
    """An object with where it is: its file's name, text and container lines, and its own line."""

    obj: Any
    name: str
    line: int
    file: _Read


def _gather(paths: Iterable[Path]) -> tuple[list[_Found], list[Diagnostic]]:
    found: list[_Found] = []
    problems: list[Diagnostic] = []
    most = current_limits().snapshot_files
    for count, path in enumerate(_files(paths)):
        if count >= most:
            message = f"more than {most} snapshot files"
            problems.append(_problem("io.too_many_files", message, path.as_posix()))
            break
        if not path.exists():
            what = "a dangling or looping symbolic link" if path.is_symlink() else "no such file or directory"
            problems.append(_problem("io.not_found", f"{what} `{path}`", path.as_posix()))
            continue
        read = _read_file(path)
        problems.extend(read.problems)
        for document, line in read.documents:
            if document is None:
                continue
            if not _depth(document):
                message = "document is nested too deeply"
                problems.append(_problem("snapshot.too_deep", message, path.as_posix(), read.text, line, 1))
                continue
            found.extend(_Found(obj, path.as_posix(), read.lines.get(id(obj), (line, {}))[0], read)
                         for obj in _flatten(document))
    return found, problems


def load_objects(paths: Iterable[Path]) -> tuple[list[tuple[dict[str, Any], str, int]], list[Diagnostic]]:
    """Every Kubernetes object in the files, with its file and line; Lists are flattened."""
    found, problems = _gather(paths)
    return [(f.obj, f.name, f.line) for f in found if isinstance(f.obj, dict)], problems


def _flatten(document: Any) -> Iterator[Any]:
    if isinstance(document, list):
        for item in document:
            yield from _flatten(item)
    elif isinstance(document, dict):
        if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
            for item in document["items"]:
                yield from _flatten(item)
        else:
            yield document
    elif document is not None:
        yield document  # not an object: reported by the caller


_BUCKETS = {
    "Cluster": "clusters",
    "ResourceBinding": "bindings",
    "ClusterResourceBinding": "bindings",
    "PropagationPolicy": "policies",
    "ClusterPropagationPolicy": "policies",
    "FederatedResourceQuota": "quotas",
}
MAX_SHAPE_PROBLEMS = 20  # per object: one bad object should not drown the report


def _where(found: _Found, path: tuple[str | int, ...]) -> tuple[int, int]:
    """The line and column of the deepest key or item of ``path`` whose position is known."""
    line, column = found.line, 1
    value: Any = found.obj
    for part in path:
        known = found.file.lines.get(id(value))
        if isinstance(part, str) and known and part in known[1]:
            line, column = known[1][part]
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(value, (dict, list)) and id(value) in found.file.lines and isinstance(part, int):
            line, column = found.file.lines[id(value)][0], 1
    return line, column


def _object_problems(found: _Found) -> list[Diagnostic]:
    obj, name = found.obj, found.name
    if not isinstance(obj, dict):
        message = f"expected a Kubernetes object, got {type(obj).__name__} `{str(obj)[:40]}`"
        return [_problem("snapshot.invalid_object", message, name, found.file.text, found.line, 1)]
    kind, metadata = obj.get("kind"), obj.get("metadata")
    if str(kind).endswith("List") and "items" in obj and not isinstance(obj.get("items"), list):
        line, column = _where(found, ("items",))
        message = f"the `items` of a {kind} must be a list"
        return [_problem("snapshot.invalid_object", message, name, found.file.text, line, column)]
    named = isinstance(metadata, dict) and isinstance(metadata.get("name"), str)
    if not isinstance(kind, str) or not named:
        return [_problem("snapshot.invalid_object", "an object needs `kind` and `metadata.name`", name,
                         found.file.text, found.line, 1)]
    problems = []
    for shape in list(shape_problems(obj))[:MAX_SHAPE_PROBLEMS]:
        line, column = _where(found, shape.path)
        message = f"{kind} `{obj['metadata']['name']}`: `{shape.dotted}`: {shape.message}"
        problems.append(_problem("snapshot.invalid_field", message, name, found.file.text, line, column))
    return problems


def load_snapshot(paths: Iterable[Path]) -> tuple[Snapshot, list[Diagnostic]]:
    """The snapshot in the files, sorted by kind, with a diagnostic for every problem (collector paused)."""
    with paused_gc():
        return _load_snapshot(paths)


def _load_snapshot(paths: Iterable[Path]) -> tuple[Snapshot, list[Diagnostic]]:
    snapshot = Snapshot()
    found_objects, problems = _gather(paths)
    seen_clusters: dict[str, tuple[str, int]] = {}
    for found in found_objects:
        obj, name, line = found.obj, found.name, found.line
        bad = _object_problems(found)
        if bad:
            problems.extend(bad)
            continue
        kind, cluster = obj["kind"], obj["metadata"]["name"]
        if kind == "Cluster":
            if cluster in seen_clusters:
                first = seen_clusters[cluster]
                message = f"cluster `{cluster}` appears twice (first at {first[0]}:{first[1]})"
                text = found.file.text
                problems.append(_problem("snapshot.duplicate_cluster", message, name, text, line, 1))
                continue
            seen_clusters[cluster] = (name, line)
        getattr(snapshot, _BUCKETS.get(kind, "workloads")).append(obj)
        snapshot.origins[id(obj)] = (name, line)
    return snapshot, problems
