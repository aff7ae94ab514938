"""The one Transformer: ``lark.Tree`` to ``kpl.dsl.ast`` nodes. Lark trees never leave ``kpl.dsl``."""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, Tree
from lark.exceptions import GrammarError, VisitError
from lark.tree import Meta

from kpl.dsl.builder import BUILDER, AstBuilder, duration_seconds, unquote
from kpl.dsl.source import Span

__all__ = ["BUILDER", "AstBuilder", "ToAst", "duration_seconds", "unquote"]


def _span(meta: Meta) -> Span:
    if getattr(meta, "empty", True):
        return Span(0, 0)
    return Span(meta.start_pos, meta.end_pos)


class ToAst(Transformer[Token, Any]):
    """Transforms a Lark tree (parsed with ``propagate_positions``) with the ``AstBuilder`` methods."""

    def __default__(self, data: Any, children: list[Any], meta: Meta) -> Any:
        build = getattr(BUILDER, str(data), None)
        if build is None:
            return Tree(data, children, meta)
        try:
            return build(_span(meta), children)
        except GrammarError:
            raise
        except Exception as error:  # wrapped as Lark wraps its own rule methods' failures
            tree = Tree(data, children, meta)
            failure = VisitError(str(data), tree, error)  # type: ignore[no-untyped-call]
            raise failure from error
