"""A content-addressed cache of parsed modules, so an unchanged file is not parsed again.

An entry is keyed by the SHA-256 of the source text and of everything that decides what parsing it gives:
the grammar, the parser's own modules, the kpl, Lark and Python versions. It holds the module's
declarations, comments and parse diagnostics; the ``Source`` itself is not stored but re-attached on a hit,
so renaming or copying a file still hits. The folder is chosen by the caller (the library never looks at
the environment). Entries are written atomically (a temporary file renamed into place); an entry that
cannot be read back exactly (truncated, corrupt, from another format) is a miss and is rewritten, so the
cache never changes a result, only how long it takes.

Entries are pickles, read by an unpickler that resolves only the AST, span and diagnostic classes: an
entry cannot name any other code to run. Slotted AST nodes are stored as their slot values and rebuilt
without their generated ``__setstate__``, which makes a hit about ten times faster than a plain pickle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpl import __version__
from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, Severity
from kpl.dsl.grammar_tables import lark_version
from kpl.dsl.parser import GRAMMAR_FILE, ParseResult, parse_source
from kpl.dsl.source import Source, Span

__all__ = ["ParseCache", "ParseCacheError", "cache_key", "decode", "default_cache_folder", "encode", "parse_cached"]

FORMAT = b"kpl-parse-cache/1\n"
_DSL_FILES = (
    "grammar.lark", "ast.py", "parser.py", "transformer.py", "builder.py", "treeless.py", "lalr_loop.py",
    "state_lexers.py", "grammar_tables.py", "nodes.py", "regex_start.py", "reductions.py", "source.py",
    "diagnostics.py",
)
_SOURCE_ID = "source"


class ParseCacheError(Exception):
    """An entry that cannot be stored (it refers to something other than its own source)."""


def default_cache_folder(environ: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CACHE_HOME/kpl``, or ``~/.cache/kpl`` (for the CLI, which owns the environment)."""
    base = environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else home / ".cache") / "kpl"


@functools.lru_cache(maxsize=1)
def _fingerprint() -> bytes:
    digest = hashlib.sha256(FORMAT)
    for part in (__version__, lark_version(), sys.implementation.cache_tag or sys.version):
        digest.update(part.encode() + b"\0")
    package = GRAMMAR_FILE.parent
    for name in _DSL_FILES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
    return digest.digest()


def cache_key(text: str) -> str:
    """The entry name for a source text (hex SHA-256)."""
    return hashlib.sha256(_fingerprint() + text.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------------------------ encoding


def _slots(kind: type) -> tuple[str, ...]:
    names: tuple[str, ...] = getattr(kind, "__slots__", ())
    return names


def _rebuild(kind: type, values: tuple[Any, ...]) -> Any:
    node: Any = object.__new__(kind)
    for name, value in zip(_slots(kind), values, strict=True):
        object.__setattr__(node, name, value)
    return node


def _node_classes() -> dict[str, type]:
    classes = {name: getattr(ast, name) for name in ast.__all__}
    return {name: kind for name, kind in classes.items() if isinstance(kind, type)}


_ALLOWED: dict[tuple[str, str], Any] = {
    **{(ast.__name__, name): kind for name, kind in _node_classes().items()},
    (Span.__module__, "Span"): Span,
    (Diagnostic.__module__, "Diagnostic"): Diagnostic,
    (Severity.__module__, "Severity"): Severity,
    (__name__, "_rebuild"): _rebuild,
}
_SLOTTED = frozenset(
    kind for kind in (*_node_classes().values(), Diagnostic)
    if dataclasses.is_dataclass(kind) and "__slots__" in vars(kind)
)


class _Writer(pickle.Pickler):
    def __init__(self, out: io.BytesIO, source: Source) -> None:
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.source = source

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj) is Source:
            if obj is not self.source:
                raise ParseCacheError("an entry may refer to its own source only")
            return _SOURCE_ID
        return None

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is Span:
            return Span, (obj.start, obj.end)
        if kind in _SLOTTED:
            return _rebuild, (kind, tuple(getattr(obj, name) for name in _slots(kind)))
        return NotImplemented


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, source: Source) -> None:
        super().__init__(io.BytesIO(data))
        self.source = source

    def persistent_load(self, pid: Any) -> Source:
        if pid != _SOURCE_ID:
            raise pickle.UnpicklingError("unknown reference")
        return self.source

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a parse cache entry")
        return found


def encode(result: ParseResult, key: str) -> bytes:
    """An entry's bytes: the format line, the key, then the pickled declarations, comments, diagnostics."""
    module = result.module
    out = io.BytesIO()
    out.write(FORMAT + key.encode() + b"\n")
    _Writer(out, module.source).dump((module.declarations, module.comments, list(result.diagnostics)))
    return out.getvalue()


def decode(data: bytes, key: str, source: Source) -> ParseResult | None:
    """The result stored in ``data`` for ``source``, or None when it is not exactly an entry for ``key``."""
    header = FORMAT + key.encode() + b"\n"
    if not data.startswith(header):
        return None
    try:
        payload = _Reader(data[len(header):], source).load()
    except Exception:  # a damaged entry is a miss, whatever the unpickler tripped on
        return None
    if not _well_formed(payload):
        return None
    declarations, comments, diagnostics = payload
    return ParseResult(ast.Module(source, declarations, comments), diagnostics)


def _well_formed(payload: Any) -> bool:
    if not (isinstance(payload, tuple) and len(payload) == 3):
        return False
    declarations, comments, diagnostics = payload
    return (
        isinstance(declarations, tuple)
        and isinstance(comments, tuple)
        and isinstance(diagnostics, list)
        and all(isinstance(d, Diagnostic) for d in diagnostics)
        and all(isinstance(c, tuple) and len(c) == 2 and type(c[0]) is Span for c in comments)
    )


# ------------------------------------------------------------------------------------ the store


@dataclass(frozen=True, slots=True)
class ParseCache:
    """Parsed modules stored under ``folder`` (created when first written)."""

    folder: Path

    def entry(self, key: str) -> Path:
        return self.folder / "parse" / key[:2] / key[2:]

    def load(self, source: Source) -> ParseResult | None:
        key = cache_key(source.text)
        try:
            data = self.entry(key).read_bytes()
        except OSError:
            return None
        return decode(data, key, source)

    def store(self, result: ParseResult, key: str | None = None) -> bool:
        """Write the entry for ``result`` (``key``: its source's :func:`cache_key`, when already known); False
        (and nothing written) when that is not possible."""
        key = key or cache_key(result.module.source.text)
        try:
            data = encode(result, key)
        except (ParseCacheError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return False
        return self.write(key, data)

    def write(self, key: str, data: bytes) -> bool:
        """Write an entry already encoded (by :func:`encode`, with this ``key``)."""
        return _write_atomically(self.entry(key), data)


def _write_atomically(path: Path, data: bytes) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def parse_cached(source: Source, cache: ParseCache | None) -> ParseResult:
    """``parse_source``, answered from ``cache`` when it holds this text (and filled when it does not)."""
    if cache is None:
        return parse_source(source)
    found = cache.load(source)
    if found is not None:
        return found
    result = parse_source(source)
    cache.store(result)
    return result
