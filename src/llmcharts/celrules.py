"""Evaluates the CEL rules of custom-resource schemas on a rendered object, as the API server does.

CEL rules (x-kubernetes-validations) of custom-resource schemas, evaluated on a rendered object as the API server
does on create, with a real CEL engine (common-expression-language, the cel-rust interpreter).

How the API server runs them (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go), and so here:
- the object is defaulted from the schema first (`default`s apply to absent fields, as on decoding);
- each rule runs with `self` bound to the node it sits on: a property's value, every item of a list whose `items`
  carries the rule, every value of a map whose `additionalProperties` does; absent and null nodes are skipped;
- a rule that is false, or fails to evaluate (e.g. "no such key"), is an error; its `messageExpression`, when
  set and evaluable, gives the message, else `message`, else "failed rule: <rule>"; `fieldPath` is appended;
- transition rules (those reading `oldSelf`) compare with the stored object on update; a create has none, so they
  are not run (listed in NOT_EVALUATED).
A rule is run only when the engine provides every function it calls (FUNCTIONS); any other rule must be listed in
NOT_EVALUATED with its reason, or checking an object it applies to is an error (tests/static/test_cel_rules.py
checks that every rule in schemas/crds is one or the other)."""
from __future__ import annotations

import copy
import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path


def _load_engine():
    """cel-rust's extension module. The `cel` package's __init__ also imports its interactive CLI (typer, rich,
    prompt_toolkit: 0.15 s, more than a whole `llmcharts check` of a chart without custom resources), so the
    extension is loaded on its own; the package import is the fallback."""
    spec = importlib.util.find_spec("cel")
    if spec is None:
        raise ImportError("the CEL engine (PyPI common-expression-language, pinned in requirements.lock) is not "
                          "installed in this environment: run scripts/bootstrap")
    for path in sorted(Path(p) for loc in (spec.submodule_search_locations or []) for p in Path(loc).glob("cel.*")):
        if path.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            ext = importlib.util.spec_from_file_location("cel.cel", path)
            module = importlib.util.module_from_spec(ext)
            ext.loader.exec_module(module)
            sys.modules.setdefault("cel.cel", module)
            return module
    import cel
    return cel


cel = _load_engine()

# Functions (besides operators and the has/all/exists/exists_one/filter/map macros, which the parser expands)
# that cel-rust implements as the API server's cel-go does, for every rule in schemas/crds that uses them.
FUNCTIONS = {"size", "contains", "startsWith", "endsWith", "matches", "duration", "timestamp", "int", "uint",
             "double", "string", "bool", "dyn", "type"}

# Rules that are not run, each with why. Keyed by the rule's text (the same rule in several CRDs is listed once).
NOT_EVALUATED = {
    "self == oldSelf": "transition rule (reads oldSelf): it compares with the stored object on update, and a "
                       "rendered manifest is a create (KubeRay: managedBy and gcsFaultToleranceOptions.backend "
                       "are immutable)",
}


@functools.lru_cache(maxsize=None)
def compiled(rule: str):
    return cel.compile(rule)


@functools.lru_cache(maxsize=None)
def not_evaluable(rule: str) -> str | None:
    """Why this rule cannot be run here (None: it can)."""
    try:
        prog = compiled(rule)
    except Exception as e:  # noqa: BLE001 - the engine's parse error, reported as the reason
        return f"does not compile in cel-rust: {e}"
    if "oldSelf" in prog.variables():
        return "transition rule (reads oldSelf): a create has no old object"
    unknown = [f for f in prog.functions() if not (f[0] in "_@!" or f in FUNCTIONS)]
    return f"calls {', '.join(unknown)}, which cel-rust does not provide" if unknown else None


def _children(schema: dict, path: str = ""):
    """(sub-schema, its path) for every schema below this one that values can reach."""
    for key in ("properties", "patternProperties"):
        for name, sub in (schema.get(key) or {}).items():
            yield sub, f"{path}.{name}" if path else name
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield schema[key], path + "[*]"


def rules_in(schema: dict, path: str = ""):
    """(schema path, rule) for every x-kubernetes-validations entry in a schema."""
    for r in schema.get("x-kubernetes-validations") or []:
        yield path or "(root)", r
    for sub, where in _children(schema, path):
        yield from rules_in(sub, where)


_HAS_RULES: dict[int, tuple] = {}


def _has_rules(schema: dict) -> bool:
    """Does this subtree hold any rule? Memoised by node (the memo keeps the node alive, so ids stay unique), in
    one pass over a schema: most of a pod spec has no rule and is skipped."""
    hit = _HAS_RULES.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    found = bool(schema.get("x-kubernetes-validations"))
    for sub, _ in _children(schema):
        found = _has_rules(sub) or found
    _HAS_RULES[id(schema)] = (schema, found)
    return found


def with_defaults(schema: dict, value):
    """A copy of value with the schema's defaults filled in where a field is absent (structural defaulting)."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        out = {k: with_defaults(props[k], v) if k in props else v for k, v in value.items()}
        for k, sub in props.items():
            if k not in out and "default" in sub:
                out[k] = with_defaults(sub, copy.deepcopy(sub["default"]))
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict) and ap:
            out = {k: with_defaults(ap, v) if k not in props else v for k, v in out.items()}
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_defaults(schema["items"], v) for v in value]
    return value


def _check(rule: dict, value, path: str, out: list[str]) -> int:
    text = rule["rule"]
    reason = not_evaluable(text)
    if reason:
        if text not in NOT_EVALUATED:
            out.append(f"{path}: rule {text!r} cannot be evaluated ({reason}) and is not listed in "
                       f"celrules.NOT_EVALUATED")
        return 0
    ctx = {"self": value}
    try:
        ok = compiled(text).execute(ctx)
        problem = None if ok is True else f"evaluated to {ok!r}" if ok is not False else ""
    except Exception as e:  # noqa: BLE001 - an evaluation error rejects the object, as in the API server
        problem = f"evaluation error: {e}"
    if problem is not None:
        msg = rule.get("message") or f"failed rule: {text}"
        if rule.get("messageExpression"):
            try:
                m = compiled(rule["messageExpression"]).execute(ctx)
                msg = m if isinstance(m, str) and m.strip() else msg
            except Exception:  # noqa: BLE001 - the API server falls back to message as well
                pass
        where = path + (rule.get("fieldPath") or "")
        out.append(f"{where}: {msg}" + (f" ({problem})" if problem else "") + f" [rule: {text[:120]}]")
    return 1


def _walk(schema: dict, value, path: str, out: list[str]) -> int:
    if value is None or not _has_rules(schema):
        return 0
    n = sum(_check(r, value, path or "(root)", out) for r in schema.get("x-kubernetes-validations") or [])
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        ap = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                n += _walk(props[k], v, f"{path}.{k}" if path else k, out)
            elif isinstance(ap, dict):
                n += _walk(ap, v, f"{path}[{k}]", out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            n += _walk(schema["items"], v, f"{path}[{i}]", out)
    return n


def evaluate(schema: dict, obj: dict) -> tuple[list[str], int]:
    """The failures of the schema's CEL rules on obj (defaulted first), and how many rule evaluations ran."""
    if not _has_rules(schema):
        return [], 0
    out: list[str] = []
    n = _walk(schema, with_defaults(schema, obj), "", out)
    return out, n
