"""The kpl language: source text to AST, with diagnostics and the formatter."""
