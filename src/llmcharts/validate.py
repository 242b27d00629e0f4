"""Strict schema validation of rendered objects against Kubernetes and custom-resource schemas.

Strict schema validation of rendered objects: core kinds against the upstream Kubernetes JSON schemas
(kubernetes-validate's offline copy, strict variant: unknown fields are errors), custom resources against every
release's schema that defines them (crds.py: strict openAPIV3Schema and its CEL rules)."""
from __future__ import annotations

import functools
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from . import crds, paths

try:
    from importlib.resources import files
except ImportError:  # pragma: no cover
    from importlib_resources import files


class UnknownKind(Exception):
    """No schema for this apiVersion/kind."""


def _k8s_schema_dir(version: str) -> Path:
    return Path(str(files("kubernetes_validate"))) / "kubernetes-json-schema" / f"v{version}.0-local-strict"


_DEFS_REF = "/api/_definitions.json#"


@functools.lru_cache(maxsize=None)
def _k8s_definitions(version: str) -> dict:
    d = _k8s_schema_dir(version)
    if not d.is_dir():
        raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
    return json.loads((d / "_definitions.json").read_text())["$defs"]


def _self_contained(version: str, path: Path) -> dict:
    """The kind's schema with only the definitions it reaches (not all 1.8 MB of _definitions.json) under its own
    $defs, and no descriptions: what the validator needs, quick to load."""
    defs = _k8s_definitions(version)
    schema = json.loads(path.read_text())
    needed: dict = {}

    def refs(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith((_DEFS_REF, "#/$defs/")):
                node["$ref"] = ref = ref.replace(_DEFS_REF, "#", 1)
                name = ref[len("#/$defs/"):]
                if name not in needed:
                    needed[name] = defs[name]
                    refs(defs[name])
            for v in node.values():
                refs(v)
        elif isinstance(node, list):
            for v in node:
                refs(v)

    refs(schema)
    schema["$defs"] = needed
    return crds.compact(schema)


@functools.lru_cache(maxsize=None)
def _k8s_validator(version: str, api_version: str, kind: str):
    group_version = api_version.split("/")
    if len(group_version) == 2:
        group = group_version[0].split(".")[0]
        stem = f"{group}-{group_version[1]}"
    else:
        stem = group_version[0]
    path = _k8s_schema_dir(version) / f"{kind.lower()}-{stem}.json"
    if not path.exists():
        return None
    # cached under .cache/, keyed by the kubernetes-validate files it came from
    stats = [(f.stat().st_size, f.stat().st_mtime_ns) for f in (path, path.parent / "_definitions.json")]
    cache = paths.CACHE / "k8s-schemas" / f"v{version}" / f"{path.stem}-{abs(hash(tuple(stats))):x}.pickle"
    if cache.exists():
        schema = pickle.loads(cache.read_bytes())
    else:
        schema = _self_contained(version, path)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, cache)
    return jsonschema.Draft202012Validator(schema)


def validate_k8s(obj: dict, version: str) -> list[str]:
    """Errors of a core object against Kubernetes <version>'s strict schema; UnknownKind for custom kinds."""
    v = _k8s_validator(version, obj.get("apiVersion", ""), obj.get("kind", ""))
    if v is None:
        raise UnknownKind(f"{obj.get('apiVersion')}/{obj.get('kind')}")
    return [crds.fmt_error(e) for e in sorted(v.iter_errors(obj), key=lambda e: list(e.absolute_path))]


@dataclass
class ObjectReport:
    ref: str
    errors: list[str]
    validated_against: list[str]
    cel_rules: int = 0  # CEL rule evaluations run on this object


def validate_objects(objects: list[dict], k8s_versions, crd_dirs=()) -> list[ObjectReport]:
    """Validate every object: core kinds for each Kubernetes version, custom resources against every release
    that defines them (in-repo schemas, or the raw CRD directories given); an object no schema knows is an error."""
    cat = crds.catalog(tuple(str(d) for d in crd_dirs))
    reports = []
    for obj in objects:
        rep = ObjectReport(f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}", [], [])
        try:
            for v in k8s_versions:
                rep.errors += [f"k8s {v}: {e}" for e in validate_k8s(obj, v)]
                rep.validated_against.append(f"k8s-{v}")
        except UnknownKind:
            known = cat.lookup(obj)
            if not known:
                rep.errors.append(f"no schema for {obj.get('apiVersion')} {obj.get('kind')}: not a Kubernetes "
                                  f"{'/'.join(k8s_versions)} kind and not in {cat.where}")
            for crd in known:
                errors, evaluated = crd.validate(obj)
                rep.cel_rules += evaluated
                rep.errors += [f"CRD {crd.release}: {e}" for e in errors]
                rep.validated_against.append(f"crd:{crd.release}")
        reports.append(rep)
    return reports
