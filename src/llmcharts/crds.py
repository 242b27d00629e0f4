"""Custom-resource schemas (in-repo or raw CRD directories), loaded per kind for strict and CEL checks.

Custom-resource schemas: the in-repo ones (schemas/crds) or raw CRD directories (LLMCHARTS_CRD_DIRS), loaded
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
from jsonschema import _keywords

from . import celrules, paths

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the raw KServe CRDs are 2 MB each


# Schema keywords whose value is one schema, a list of schemas, or a map of name -> schema. Only schema nodes
# lose their `description`: a property *named* description (properties: {description: ...}) stays.
_ONE = ("items", "additionalProperties", "not")
_LIST = ("allOf", "anyOf", "oneOf")
_MAP = ("properties", "patternProperties", "definitions", "$defs")


def compact(schema):
    """A schema without descriptions (schemas/crds stays small, validators load fast); all that validates is kept."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for k, v in schema.items():
        if k == "description":
            continue
        if k in _ONE and isinstance(v, dict):
            v = compact(v)
        elif k in _LIST and isinstance(v, list):
            v = [compact(s) for s in v]
        elif k in _MAP and isinstance(v, dict):
            v = {name: compact(s) for name, s in v.items()}
        out[k] = v
    return out


def _properties(validator, properties, instance, schema):
    """properties, and no field beyond them unless the schema says so (additionalProperties, or
    x-kubernetes-preserve-unknown-fields), as `kubectl --validate=strict`; an embedded resource (e.g. a template
    of a whole object) also has apiVersion, kind and metadata."""
    yield from _keywords.properties(validator, properties, instance, schema)
    if ("additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
            or not validator.is_type(instance, "object")):
        return
    if schema.get("x-kubernetes-embedded-resource"):
        for name, kind in _EMBEDDED.items():
            if name in instance and name not in properties:
                yield from validator.descend(instance[name], {"type": kind}, path=name)
        schema = {**schema, "properties": {**_EMBEDDED, **properties}}
    yield from _keywords.additionalProperties(validator, False, instance, schema)


_EMBEDDED = {"apiVersion": "string", "kind": "string", "metadata": "object"}


def _type(validator, types, instance, schema):
    """type, where `nullable: true` also allows null and x-kubernetes-int-or-string means an integer or a string."""
    if instance is None and schema.get("nullable"):
        return
    if not schema.get("x-kubernetes-int-or-string"):
        yield from _keywords.type(validator, types, instance, schema)


def _int_or_string(validator, value, instance, schema):
    if value and "anyOf" not in schema and not (validator.is_type(instance, "integer")
                                                or validator.is_type(instance, "string")):
        yield jsonschema.ValidationError(f"{instance!r} is not of type 'integer', 'string'")


# The CRD's structural schema read as the API server's strict field validation reads it, without rewriting it.
StrictCRDValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {
    "properties": _properties, "type": _type, "x-kubernetes-int-or-string": _int_or_string})


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
    def validator(self):
        return StrictCRDValidator(self.schema)

    def validate(self, obj: dict) -> tuple[list[str], int]:
        """Schema errors, then CEL rule failures; and how many CEL rules were evaluated."""
        errors = [fmt_error(e) for e in sorted(self.validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]
        if errors:  # the object is refused already; the API server, too, skips CEL rules on an ill-typed object
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
        # The format version is part of the key: an index pickled by an older harness is never read back.
        stamp = hashlib.sha256(repr(("CRDSchema-v2", [(str(f), f.stat().st_size, f.stat().st_mtime_ns)
                                                      for f in files])).encode())
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
