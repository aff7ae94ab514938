"""Frozen, slotted dataclasses made cheaply: what ``@dataclass(frozen=True, slots=True)`` gives, for many classes.

``dataclasses`` compiles six methods per class from generated source (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``); for the AST's 52 classes that was a sixth of the work of a
new process running ``kpl check`` on a small project. Here ``dataclasses`` only records the fields and makes
the slots; the constructors of every class registered with :func:`frozen_node` are compiled from one source
by :func:`finish_nodes`, and the other methods are closures over each class's field names. The result
behaves as the frozen dataclass would (same signatures, ``repr``, equality and hash over the compared
fields, ``FrozenInstanceError`` on assignment, pickling, ``dataclasses.fields`` and ``replace``); a test
compares every AST class with a real frozen dataclass of the same fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

__all__ = ["finish_nodes", "frozen_node", "maker"]

_T = TypeVar("_T")


class NodeRegistry:
    """The classes made by :func:`frozen_node` whose constructors :func:`finish_nodes` has yet to compile."""

    def __init__(self) -> None:
        self.pending: list[type] = []
        self.makers: dict[type, Callable[..., Any]] = {}


_REGISTRY = NodeRegistry()


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def frozen_node(cls: type[_T]) -> type[_T]:
    """A frozen, slotted dataclass (its constructor is added by :func:`finish_nodes`)."""
    if not cls.__doc__:  # dataclasses would describe it by its signature, which it has not yet: name the fields
        cls.__doc__ = f"{cls.__name__}({', '.join(getattr(cls, '__annotations__', {}))})"
    made: type[_T] = dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    _methods(made)
    _REGISTRY.pending.append(made)
    return made


def finish_nodes() -> None:
    """Compile the constructors (and makers, see :func:`maker`) of every class registered since the last call,
    from one source."""
    pending, _REGISTRY.pending = _REGISTRY.pending, []
    namespace: dict[str, Any] = {"_new": object.__new__}
    lines: list[str] = []
    for number, cls in enumerate(pending):
        lines.extend(_init_source(cls, number, namespace))
    exec("\n".join(lines), namespace)
    for number, cls in enumerate(pending):
        init: Callable[..., None] = namespace[f"_init_{number}"]
        init.__name__ = "__init__"
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        init.__module__ = cls.__module__
        init.__annotations__ = {**{f.name: f.type for f in fields(cls)}, "return": None}
        type.__setattr__(cls, "__init__", init)
        make: Callable[..., Any] = namespace[f"_make_{number}"]
        make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
        _REGISTRY.makers[cls] = make


def maker(cls: type[_T]) -> Callable[..., _T]:
    """A function making a ``cls`` from every field, all positional and none defaulted (keyword-only ones last,
    in their order): the constructor without the class call and keyword arguments, for the parser's hot path."""
    return _REGISTRY.makers[cls]


def _init_source(cls: type, number: int, namespace: dict[str, Any]) -> list[str]:
    """The source of ``__init__`` and of the maker of ``cls``: each field stored through its slot's own
    descriptor (cheaper than ``object.__setattr__`` by name, and past the frozen ``__setattr__`` alike)."""
    positional: list[str] = []
    keyword: list[str] = []
    namespace[f"_cls_{number}"] = cls
    for item in fields(cls):
        parameter = item.name
        if item.default is not MISSING:
            default = f"_default_{number}_{item.name}"
            namespace[default] = item.default
            parameter += f"={default}"
        elif item.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{item.name}: default factories are not supported")
        (keyword if item.kw_only else positional).append(parameter)
        namespace[f"_set_{number}_{item.name}"] = cls.__dict__[item.name].__set__
    every = [item.name for item in fields(cls) if not item.kw_only]
    every += [item.name for item in fields(cls) if item.kw_only]
    parameters = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    body = [f"    _set_{number}_{item.name}(self, {item.name})" for item in fields(cls)]
    return [f"def _init_{number}({parameters}):", *(body or ["    pass"]),
            f"def _make_{number}({', '.join(every)}):", f"    self = _new(_cls_{number})", *body, "    return self"]


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of ``names`` as a tuple (as the dataclass methods compare them)."""
    if not names:
        return lambda node: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda node: (one(node),)
    found: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
    return found


def _methods(cls: type) -> None:
    items: tuple[Field[Any], ...] = fields(cls)
    names = frozenset(item.name for item in items)
    shown = tuple(item.name for item in items if item.repr)
    compared = _getter(tuple(item.name for item in items if item.compare))
    hashed = _getter(tuple(item.name for item in items if (item.compare if item.hash is None else item.hash)))

    def __repr__(self: Any) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)  # a subclass's own attribute (the node classes have no base)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    def __getstate__(self: Any) -> list[Any]:
        return [getattr(self, item.name) for item in items]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for item, value in zip(items, state, strict=False):
            object.__setattr__(self, item.name, value)

    for method in (__repr__, __eq__, __hash__, __setattr__, __delattr__, __getstate__, __setstate__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        type.__setattr__(cls, method.__name__, method)
