"""kpl, the Karmada Policy Language.

The installed package is one namespace: ``kpl.dsl`` (source text to AST and diagnostics),
``kpl.engine`` (checking, the plan graph, evaluation over a snapshot, reports) and ``kpl.rules``
(the built-in interpreter rules, written in kpl). ``kpl.cli`` is the command line on top.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
