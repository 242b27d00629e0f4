"""Custom-resource schemas: the in-repo ones (schemas/crds) or raw CRD directories (LLMCHARTS_CRD_DIRS), loaded
lazily per kind and checked strictly (unknown fields are errors) and by their CEL rules."""
from __future__ import annotations

import functools
import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from . import celrules, paths

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the raw KServe CRDs are 2 MB each


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
    out = {k: strict_crd_schema(v) for k, v in node.items() if k != "x-kubernetes-validations"}
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


def fmt_error(e: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in e.absolute_path) or "(root)"
    msg = e.message if len(e.message) < 300 else e.message[:300] + "..."
    return f"{path}: {msg}"


@dataclass(eq=False)
class CRDSchema:
    """One group/version/kind of one release (or one raw CRD directory)."""
    api_version: str
    kind: str
    release: str
    plural: str
    namespaced: bool
    source: Path
    _schema: dict | None = field(default=None, repr=False)

    @property
    def schema(self) -> dict:
        """The version's openAPIV3Schema, read on first use."""
        if self._schema is None:
            self._schema = json.loads(self.source.read_text())
        return self._schema

    @functools.cached_property
    def validator(self) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator(strict_crd_schema(self.schema))

    def validate(self, obj: dict) -> tuple[list[str], int]:
        """Schema errors, then CEL rule failures; and how many CEL rules were evaluated."""
        errors = [fmt_error(e) for e in sorted(self.validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]
        if errors:  # the API server runs CEL rules only on objects that pass the schema
            return errors, 0
        failures, evaluated = celrules.evaluate(self.schema, obj)
        return [f"CEL {f}" for f in failures], evaluated


@dataclass
class Catalog:
    """apiVersion/kind -> the schemas to check an object against (one per release that defines it)."""
    where: str
    entries: dict = field(default_factory=dict)  # (apiVersion, kind) -> [CRDSchema]

    def add(self, e: CRDSchema) -> None:
        self.entries.setdefault((e.api_version, e.kind), []).append(e)

    def lookup(self, obj: dict) -> list[CRDSchema]:
        return self.entries.get((obj.get("apiVersion"), obj.get("kind")), [])

    def all(self) -> list[CRDSchema]:
        return [e for es in self.entries.values() for e in es]


def in_repo(root: Path = paths.CRD_SCHEMAS) -> Catalog:
    cat = Catalog(str(root.relative_to(paths.ROOT)) if root.is_relative_to(paths.ROOT) else str(root))
    for e in json.loads((root / "index.json").read_text()):
        cat.add(CRDSchema(e["apiVersion"], e["kind"], e["release"], e["plural"], e["namespaced"], root / e["file"]))
    return cat


def from_dirs(dirs: list[Path]) -> Catalog:
    """Every CRD version under each directory (one set per directory, named after it). Parsing the 2 MB raw
    KServe CRDs takes seconds, so the result is cached under .cache/ keyed by file names, sizes and mtimes."""
    cat = Catalog(", ".join(str(d) for d in dirs))
    for d in dirs:
        files = sorted(d.rglob("*.y*ml"))
        stamp = hashlib.sha256(repr([(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]).encode())
        cache = paths.CACHE / "crd-index" / f"{stamp.hexdigest()[:32]}.pickle"
        if cache.exists():
            entries = pickle.loads(cache.read_bytes())
        else:
            entries = list(_parse(d, files))
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(entries))
        for e in entries:
            cat.add(e)
    return cat


def _parse(d: Path, files: list[Path]):
    for f in files:
        for doc in yaml.load_all(f.read_text(), Loader=_Loader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for ver in spec.get("versions", []):
                schema = (ver.get("schema") or {}).get("openAPIV3Schema")
                if schema:
                    yield CRDSchema(f"{spec['group']}/{ver['name']}", spec["names"]["kind"], d.name,
                                    spec["names"]["plural"], spec.get("scope") == "Namespaced", f, schema)


@functools.lru_cache(maxsize=None)
def catalog(dirs: tuple = ()) -> Catalog:
    """The in-repo schemas, or the raw CRD directories given (LLMCHARTS_CRD_DIRS)."""
    return from_dirs([Path(d) for d in dirs]) if dirs else in_repo()
