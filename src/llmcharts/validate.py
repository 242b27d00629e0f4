"""Strict schema validation of rendered objects: core kinds against the upstream Kubernetes JSON schemas
(kubernetes-validate's offline copy, strict variant: unknown fields are errors), custom resources against
their CRDs' openAPIV3Schema made strict the way the API server's field validation is."""
from __future__ import annotations

import functools
import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

from . import paths

try:
    from importlib.resources import files
except ImportError:  # pragma: no cover
    from importlib_resources import files


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the KServe CRDs are 2 MB each


class UnknownKind(Exception):
    """No schema for this apiVersion/kind."""


def _k8s_schema_dir(version: str) -> Path:
    return Path(str(files("kubernetes_validate"))) / "kubernetes-json-schema" / f"v{version}.0-local-strict"


@functools.lru_cache(maxsize=None)
def _k8s_registry(version: str) -> Registry:
    d = _k8s_schema_dir(version)
    if not d.is_dir():
        raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
    defs = json.loads((d / "_definitions.json").read_text())
    return Resource.from_contents(defs) @ Registry()


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
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ _k8s_registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_k8s(obj: dict, version: str) -> list[str]:
    """Errors of a core object against Kubernetes <version>'s strict schema; UnknownKind for custom kinds."""
    v = _k8s_validator(version, obj.get("apiVersion", ""), obj.get("kind", ""))
    if v is None:
        raise UnknownKind(f"{obj.get('apiVersion')}/{obj.get('kind')}")
    return [_fmt(e) for e in sorted(v.iter_errors(obj), key=lambda e: list(e.absolute_path))]


def _fmt(e: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in e.absolute_path) or "(root)"
    msg = e.message if len(e.message) < 300 else e.message[:300] + "..."
    return f"{path}: {msg}"


# ---------------------------------------------------------------- CRDs

def strict_crd_schema(node):
    """OpenAPI v3 (structural) schema -> JSON schema that rejects unknown fields, as `kubectl --validate=strict`.

    - objects with properties and no additionalProperties get additionalProperties: false, except under
      x-kubernetes-preserve-unknown-fields;
    - x-kubernetes-int-or-string allows an integer or a string;
    - nullable: true allows null;
    - x-kubernetes-embedded-resource objects also accept apiVersion, kind and metadata.
    """
    if isinstance(node, list):
        return [strict_crd_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_crd_schema(v) for k, v in node.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out = {"anyOf": [{"type": "integer"}, {"type": "string"}], **{k: v for k, v in out.items() if k != "anyOf"}}
    if out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if out.get("nullable") and "type" in out:
        t = out["type"]
        out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
    return out


@dataclass
class CRDSet:
    """The CRDs found under one directory tree (one release set, e.g. current or compat)."""
    root: Path
    schemas: dict = field(default_factory=dict)    # (apiVersion, kind) -> (openAPIV3Schema, source file)
    resources: dict = field(default_factory=dict)  # (apiVersion, kind) -> (plural, namespaced)

    @classmethod
    def load(cls, root: Path) -> "CRDSet":
        """Parse every CRD under root; the parsed index is cached under .cache/ keyed by file names, sizes
        and mtimes (parsing the 2 MB KServe CRDs takes seconds)."""
        files_ = sorted(root.rglob("*.y*ml"))
        stamp = hashlib.sha256(repr([(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files_]).encode()).hexdigest()
        cache = paths.ROOT / ".cache" / "crd-index" / f"{stamp[:32]}.pickle"
        if cache.exists():
            s = cls(root)
            s.schemas, s.resources = pickle.loads(cache.read_bytes())
            return s
        s = cls._parse(root, files_)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps((s.schemas, s.resources)))
        return s

    @classmethod
    def _parse(cls, root: Path, files_: list) -> "CRDSet":
        s = cls(root)
        for f in files_:
            for doc in yaml.load_all(f.read_text(), Loader=_Loader):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for ver in spec.get("versions", []):
                    schema = (ver.get("schema") or {}).get("openAPIV3Schema")
                    if not schema:
                        continue
                    key = (f"{spec['group']}/{ver['name']}", spec["names"]["kind"])
                    s.schemas[key] = (schema, f)
                    s.resources[key] = (spec["names"]["plural"], spec.get("scope") == "Namespaced")
        return s

    def knows(self, obj: dict) -> bool:
        return (obj.get("apiVersion"), obj.get("kind")) in self.schemas

    @functools.lru_cache(maxsize=None)
    def validator(self, api_version: str, kind: str):
        schema, _ = self.schemas[(api_version, kind)]
        return jsonschema.Draft7Validator(strict_crd_schema(schema))

    def __hash__(self):
        return hash(self.root)

    def validate(self, obj: dict) -> list[str]:
        validator = self.validator(obj.get("apiVersion"), obj.get("kind"))
        return [_fmt(e) for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]


@functools.lru_cache(maxsize=None)
def crd_sets(dirs: tuple) -> tuple:
    return tuple(CRDSet.load(Path(d)) for d in dirs)


@dataclass
class ObjectReport:
    ref: str
    errors: list[str]
    validated_against: list[str]


def validate_objects(objects: list[dict], k8s_versions, crd_dirs) -> list[ObjectReport]:
    """Validate every object: core kinds for each Kubernetes version, custom resources against every CRD set
    that defines them (an object no set knows is an error)."""
    sets = crd_sets(tuple(str(d) for d in crd_dirs))
    reports = []
    for obj in objects:
        ref = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        errors, against = [], []
        try:
            for v in k8s_versions:
                errors += [f"k8s {v}: {e}" for e in validate_k8s(obj, v)]
                against.append(f"k8s-{v}")
        except UnknownKind:
            known = [s for s in sets if s.knows(obj)]
            if not known:
                errors.append(f"no schema for {obj.get('apiVersion')} {obj.get('kind')}: not a Kubernetes "
                              f"{'/'.join(k8s_versions)} kind and in no CRD directory ({', '.join(str(s.root) for s in sets) or 'none set: LLMCHARTS_CRD_DIRS'})")
            for s in known:
                errors += [f"CRD {s.root.name}: {e}" for e in s.validate(obj)]
                against.append(f"crd:{s.root.name}")
        reports.append(ObjectReport(ref, errors, against))
    return reports
