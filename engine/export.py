"""``kpl export``: a kpl project as the Karmada objects it stands for.

``policy`` and ``cluster policy`` become (Cluster)PropagationPolicies, ``quota`` a FederatedResourceQuota and
each ``interpreter`` block a ResourceInterpreterCustomization whose Lua scripts are generated from the rule
(:mod:`kpl.engine.lua`). With ``builtin`` the built-in rules of third-party kinds are exported too (Karmada
interprets its native kinds itself); a user's rule for a kind replaces the built-in one. Anything that cannot
be exported faithfully is a located diagnostic, and no objects are produced while there are errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.source import Source
from kpl.engine.lua import compile_lua
from kpl.engine.policy import compile_policy, compile_quota
from kpl.engine.project import Project

__all__ = [
    "CUSTOMIZATION_API_VERSION",
    "ExportResult",
    "customization_object",
    "export_project",
    "is_native_kind",
    "load_crd_schemas",
    "render_objects",
    "validate_object",
]

CUSTOMIZATION_API_VERSION = "config.karmada.io/v1alpha1"
_NATIVE_GROUPS = ("", "apps", "batch", "autoscaling", "policy")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The exported objects, in declaration order, and what stood in the way."""

    objects: tuple[dict[str, Any], ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def is_native_kind(api_version: str) -> bool:
    """Whether Karmada's own native interpreter covers this API group (core, apps, batch, ``*.k8s.io``)."""
    group = api_version.rpartition("/")[0]
    return group in _NATIVE_GROUPS or group.endswith(".k8s.io")


def _customization_name(api_version: str, kind: str) -> str:
    text = f"kpl-{kind}-{api_version}".lower()
    return re.sub(r"[^a-z0-9.-]+", "-", text).strip("-.")[:253]


def customization_object(node: ast.Interpreter, source: Source) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """The ResourceInterpreterCustomization of one ``interpreter`` block (None when an operation failed)."""
    scripts = compile_lua(node, source)
    if scripts.diagnostics:
        return None, scripts.diagnostics
    customizations = {name: {"luaScript": script} for name, script in scripts.scripts.items()}
    obj = {
        "apiVersion": CUSTOMIZATION_API_VERSION,
        "kind": "ResourceInterpreterCustomization",
        "metadata": {"name": _customization_name(node.api_version, node.kind)},
        "spec": {"target": {"apiVersion": node.api_version, "kind": node.kind}, "customizations": customizations},
    }
    return obj, []


def _builtin_rules(skip: set[tuple[str, str]]) -> Iterable[tuple[ast.Interpreter, Source]]:
    from kpl.engine.library import builtin_library

    library = builtin_library()
    for api_version, kind in library.kinds():
        if (api_version, kind) in skip or is_native_kind(api_version):
            continue
        rule = library.get(api_version, kind)
        if rule is not None:
            origin = library.origin[(api_version, kind)]
            yield rule.node, Source(origin, _rule_text(origin))


def _rule_text(origin: str) -> str:
    from kpl.rules import rules_root

    path = rules_root() / origin.removeprefix("rules/")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def export_project(project: Project, *, builtin: bool = False) -> ExportResult:
    """Every declaration of ``project`` as a Karmada object (and, with ``builtin``, the built-in rules)."""
    objects: list[dict[str, Any]] = []
    diagnostics: list[Diagnostic] = [d for d in project.diagnostics if d.is_error]
    user_kinds: set[tuple[str, str]] = set()
    for declaration, source in project.declarations():
        if isinstance(declaration, ast.Policy):
            compiled = compile_policy(declaration, source)
            diagnostics.extend(compiled.diagnostics)
            objects.append(compiled.object)
        elif isinstance(declaration, ast.Quota):
            objects.append(compile_quota(declaration))
        else:
            user_kinds.add((declaration.api_version, declaration.kind))
            obj, problems = customization_object(declaration, source)
            diagnostics.extend(problems)
            if obj is not None:
                objects.append(obj)
    if builtin:
        for node, source in _builtin_rules(user_kinds):
            obj, problems = customization_object(node, source)
            diagnostics.extend(problems)
            if obj is not None:
                objects.append(obj)
    return ExportResult(tuple(objects), tuple(diagnostics))


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the Lua scripts) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if "\n" in text and not re.search(r"[ \t]\n|[^\S\n]$|\r", text):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_Dumper.add_representer(str, _represent_str)


def render_objects(objects: Iterable[Mapping[str, Any]], fmt: str = "yaml") -> str:
    """Multi-document YAML, or (``json``) one Kubernetes ``List``."""
    items = [dict(o) for o in objects]
    if fmt == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2) + "\n"
    return yaml.dump_all(items, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=110,
                         allow_unicode=True)


def load_crd_schemas(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The openAPIV3Schema of every served version of the CRDs in ``folder``, keyed by (apiVersion, kind)."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, Mapping) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            kind = str((spec.get("names") or {}).get("kind", ""))
            for version in spec.get("versions") or ():
                schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
                schemas[(f"{spec.get('group')}/{version.get('name')}", kind)] = schema
    return schemas


def validate_object(obj: Mapping[str, Any], schemas: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    """What is wrong with ``obj`` against its CRD schema (an empty list when it is valid)."""
    import jsonschema  # type: ignore[import-untyped]

    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    schema = schemas.get(key)
    if schema is None:
        return [f"no CRD schema for {key[0]} {key[1]}"]
    validator = jsonschema.Draft7Validator(_openapi_to_jsonschema(schema))
    return [f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(dict(obj)), key=lambda e: list(map(str, e.absolute_path)))]


def _openapi_to_jsonschema(schema: Any) -> Any:
    """OpenAPI v3 structural schema to JSON Schema: ``int-or-string`` and ``nullable`` spelled out."""
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: _openapi_to_jsonschema(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out
