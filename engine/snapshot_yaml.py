"""The YAML reader of fleet snapshots: safe, bounded (aliases, nesting) and remembering lines.

Imported only when a snapshot file is YAML, so a JSON snapshot (``kubectl get -o json``) is read without
loading a YAML library.
"""

from __future__ import annotations

from typing import Any

import yaml

from kpl.dsl.diagnostics import Diagnostic
from kpl.engine.limits import current_limits
from kpl.engine.snapshot import Lines, _problem, _Read

__all__ = ["yaml_documents"]


class _TooDeepError(yaml.composer.ComposerError):
    """A document nested deeper than the limit (raised while composing, before any recursion limit)."""


class _Loader(yaml.SafeLoader):
    """A safe loader that counts aliases, so a "billion laughs" document fails fast, and remembers lines.

    Like Kubernetes' YAML-to-JSON conversion, timestamps stay strings and scalar keys become strings;
    tags that make no JSON value (``!!binary``, ``!!set``, ``!!omap``, ``!!pairs``) are refused.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = self.expanded = self.depth = 0
        self.limits = current_limits()
        self.sizes: dict[int, int] = {}
        self.lines: Lines = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event: Any = self.peek_event()  # type: ignore[no-untyped-call]
            anchored = self.anchors.get(event.anchor)
            self.aliases += 1
            self.expanded += _size(anchored, self.sizes) if anchored is not None else 0
            if self.aliases > self.limits.yaml_aliases:
                raise yaml.composer.ComposerError(None, None, f"more than {self.limits.yaml_aliases} aliases "
                                                  "(a YAML alias bomb?)", event.start_mark)
            if self.expanded > self.limits.yaml_alias_nodes:
                raise yaml.composer.ComposerError(None, None, "aliases expand to more than "
                                                  f"{self.limits.yaml_alias_nodes} nodes (a YAML alias bomb?)",
                                                  event.start_mark)
        self.depth += 1
        try:
            if self.depth > self.limits.nesting_depth:
                mark: Any = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeepError(None, None, f"nested deeper than {self.limits.nesting_depth} "
                                    "levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        """Flow collections are bounded while scanning: the scanner's cost grows with their nesting."""
        if self.flow_level >= self.limits.nesting_depth:
            raise _TooDeepError(None, None, f"nested deeper than {self.limits.nesting_depth} levels",
                                self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        value = super().construct_object(node, deep)
        if isinstance(value, (dict, list)) and id(value) not in self.lines:
            keys = {}
            if isinstance(node, yaml.MappingNode):
                keys = {str(k.value): (k.start_mark.line + 1, k.start_mark.column + 1)
                        for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            self.lines[id(value)] = (node.start_mark.line + 1, keys)
        return value

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key `{key.value}`",
                                                            key.start_mark)
                seen.add(key.value)
        mapping = super().construct_mapping(node, deep)
        return {_key(key): value for key, value in mapping.items()}


def _size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias in it is expanded (memoized by node)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_size(key, sizes) + _size(value, sizes) for key, value in node.value)
    sizes[id(node)] = total
    return total


def _key(key: Any) -> str:
    """A mapping key as JSON has it (``sigs.k8s.io/yaml`` turns scalar keys into their text)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)


def _refuse(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag} has no JSON value",
                                            node.start_mark)


def _text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else _refuse(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _text)
for _tag in ("binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse)


def yaml_documents(name: str, text: str) -> _Read:
    """The documents of a YAML text (each with its first line) and its containers' lines, or the problem that
    stopped the reading (with the documents read before it)."""
    out: list[tuple[Any, int]] = []
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 1
            out.append((loader.construct_document(node), line))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        code = "snapshot.too_deep" if isinstance(error, _TooDeepError) else "snapshot.invalid_yaml"
        message = f"invalid YAML: {error.problem or error.context or error}"
        return _Read(text, tuple(out), problems=(_problem(code, message, name, text, line, column),))
    except yaml.YAMLError as error:
        return _Read(text, tuple(out), problems=(_yaml_problem(name, text, error),))
    except RecursionError:
        too_deep = _problem("snapshot.too_deep", "YAML is nested too deeply", name)
        return _Read(text, tuple(out), problems=(too_deep,))
    except ValueError as error:  # an integer with too many digits
        invalid = _problem("snapshot.invalid_yaml", f"invalid YAML: {error}", name)
        return _Read(text, tuple(out), problems=(invalid,))
    finally:
        if loader is not None:
            loader.dispose()
    return _Read(text, tuple(out), loader.lines)


def _yaml_problem(name: str, text: str, error: yaml.YAMLError) -> Diagnostic:
    """A YAML error without a mark: the reader's (a control character) has a position."""
    position = getattr(error, "position", None)
    if isinstance(position, int):
        before = text[:position]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        return _problem("snapshot.invalid_yaml", f"invalid YAML: {error}", name, text, line, column)
    return _problem("snapshot.invalid_yaml", f"invalid YAML: {error}", name)
