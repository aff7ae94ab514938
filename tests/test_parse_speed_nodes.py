"""AST classes made by `kpl.dsl.nodes` behave as `@dataclass(frozen=True, slots=True)` classes of the same fields."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from kpl.dsl import ast
from kpl.dsl.nodes import finish_nodes, frozen_node
from kpl.dsl.source import Span

NODE_CLASSES = [kind for kind in (getattr(ast, name) for name in ast.__all__)
                if isinstance(kind, type) and kind is not ast.Module]


def _reference(kind: type) -> type:
    """A real frozen, slotted dataclass with the fields of ``kind``."""
    namespace: dict[str, Any] = {"__annotations__": {}, "__module__": kind.__module__,
                                 "__qualname__": kind.__qualname__}
    for item in dataclasses.fields(kind):
        namespace["__annotations__"][item.name] = item.type
        if item.default is not dataclasses.MISSING or item.kw_only:
            namespace[item.name] = dataclasses.field(default=item.default, compare=item.compare, hash=item.hash,
                                                     repr=item.repr, kw_only=item.kw_only)
    made: type = dataclasses.dataclass(frozen=True, slots=True)(type(kind.__name__, (), namespace))
    return made


def _values(kind: type, salt: int) -> list[Any]:
    positional = [f for f in dataclasses.fields(kind) if not f.kw_only]
    return [(f"v{salt}", salt, (salt, "t"))[index % 3] for index, _ in enumerate(positional)]


@pytest.mark.parametrize("kind", NODE_CLASSES, ids=lambda kind: kind.__name__)
def test_a_node_class_behaves_as_a_frozen_dataclass(kind: type) -> None:
    reference = _reference(kind)
    mine_sig, ref_sig = inspect.signature(kind), inspect.signature(reference)
    assert [(p.name, p.kind, p.default) for p in mine_sig.parameters.values()] == [
        (p.name, p.kind, p.default) for p in ref_sig.parameters.values()]
    assert kind.__slots__ == reference.__slots__
    assert kind.__match_args__ == reference.__match_args__  # type: ignore[attr-defined]
    assert [(f.name, f.compare, f.hash, f.repr, f.kw_only) for f in dataclasses.fields(kind)] == [
        (f.name, f.compare, f.hash, f.repr, f.kw_only) for f in dataclasses.fields(reference)]
    spans = {f.name: Span(3, 7) for f in dataclasses.fields(kind) if f.kw_only}
    values, others = _values(kind, 1), _values(kind, 2)
    mine, ref = kind(*values, **spans), reference(*values, **spans)
    assert repr(mine) == repr(ref)
    assert hash(mine) == hash(ref)
    assert mine == kind(*values) and ref == reference(*values)  # spans are not compared
    assert (mine == kind(*others)) is (ref == reference(*others))
    assert mine != ref and mine.__eq__(ref) is NotImplemented
    for name in (*kind.__slots__, "other"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(mine, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(mine, name)
    for again in (pickle.loads(pickle.dumps(mine)), copy.deepcopy(mine), dataclasses.replace(mine)):
        assert again == mine and repr(again) == repr(mine)
        assert all(getattr(again, name) == getattr(mine, name) for name in kind.__slots__)
    with pytest.raises(TypeError):
        kind(*values, 1, **spans)


def test_a_node_made_outside_the_ast_gets_its_constructor_from_the_next_finish() -> None:
    @frozen_node
    class Pair:
        left: int
        right: str = "r"
        span: Span = dataclasses.field(default=Span(0, 0), compare=False, kw_only=True)

    finish_nodes()
    pair = Pair(1, span=Span(1, 2))
    assert (pair, pair.right) == (Pair(1, "r"), "r")
    assert repr(pair).endswith(".Pair(left=1, right='r', span=Span(start=1, end=2))")
    with pytest.raises(TypeError):
        Pair()  # type: ignore[call-arg]
