#!/usr/bin/env python3
"""Compose each chart's values.schema.json from the shared pieces in schemas/.

    gen_schemas.py            write charts/<chart>/values.schema.json for every schemas/charts/<chart>.schema.yaml
    gen_schemas.py --check    write nothing; exit 1 and name the stale files if any differs

See schemas/README.md for the two composition keywords ($merge, $ref to a piece file) and description overlays.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
CHARTS = ROOT / "charts"
DRAFT = "http://json-schema.org/draft-07/schema#"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: the same documents, faster
    """Refuses a key written twice in one mapping: YAML keeps the last silently, so a merge that leaves two
    `model:` blocks in a schema piece would drop one block's properties without a word."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise SystemExit(f"gen_schemas: {node.start_mark.name}:{key_node.start_mark.line + 1}: "
                                 f"key {key!r} written twice in one mapping")
            seen.add(key)
        return super().construct_mapping(node, deep)


def load(path: Path) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=_Loader) or {}


def pointer(doc: dict, frag: str, where: str):
    node = doc
    for part in [p for p in frag.lstrip("/").split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            raise SystemExit(f"gen_schemas: {where}: unresolved reference #{frag}")
        node = node[part]
    return node


def resolve(node, base: Path, doc: dict, stack: tuple = ()):
    """Inline every $ref (file, file#/pointer or #/pointer) and expand $merge, recursively."""
    if isinstance(node, list):
        return [resolve(n, base, doc, stack) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        ref = node.pop("$ref")
        file_part, _, frag = ref.partition("#")
        target_path = (base.parent / file_part).resolve() if file_part else base
        target_doc = load(target_path) if file_part else doc
        key = f"{target_path}#{frag}"
        if key in stack:
            raise SystemExit(f"gen_schemas: circular $ref {' -> '.join(stack + (key,))}")
        target = pointer(target_doc, frag, str(base)) if frag else target_doc
        target = {k: v for k, v in target.items() if k != "$defs"} if not frag else target
        inlined = resolve(copy.deepcopy(target), target_path, target_doc, stack + (key,))
        # Sibling keywords (description, ...) win over the referenced piece's; sibling `properties` that are a
        # description overlay document the piece's properties for this use of it.
        if "properties" in node and is_overlay({"properties": node["properties"]}):
            inlined = overlay(inlined, {"properties": node.pop("properties")}, f"{base.name}: {ref}")
        node = {**inlined, **{k: resolve(v, base, doc, stack) for k, v in node.items()}}
        return node
    if "$merge" in node:
        props: dict = {}
        for piece in node.pop("$merge"):
            piece_path = (base.parent / piece).resolve()
            piece_doc = load(piece_path)
            for name, schema in (piece_doc.get("properties") or {}).items():
                if name in props:
                    raise SystemExit(f"gen_schemas: {base.name}: property {name!r} comes from two pieces")
                props[name] = resolve(schema, piece_path, piece_doc, stack)
        own = dict(node.get("properties") or {})
        for name in list(own):
            if name in props:
                if not is_overlay(own[name]):
                    raise SystemExit(f"gen_schemas: {base.name}: property {name!r} is defined in the chart and a piece")
                props[name] = overlay(props[name], own.pop(name), f"{base.name}: {name}")
        node["properties"] = {**props, **own}
    return {k: resolve(v, base, doc, stack) for k, v in node.items() if k != "$defs"}


def is_overlay(node) -> bool:
    """A description overlay: only `description` and `properties` whose values are overlays themselves. Beside a
    `$ref`, or as a chart's own entry for a property a `$merge`d piece defines, it gives the piece's properties the
    words this chart documents them with, and changes nothing else."""
    return (isinstance(node, dict) and bool(node) and set(node) <= {"description", "properties"}
            and all(is_overlay(v) for v in (node.get("properties") or {}).values()))


def overlay(schema: dict, over: dict, where: str) -> dict:
    out = dict(schema)
    if "description" in over:
        out["description"] = over["description"]
    props = dict(out.get("properties") or {})
    for name, sub in (over.get("properties") or {}).items():
        if name not in props:
            raise SystemExit(f"gen_schemas: {where}: the description overlay names {name!r}, which the piece lacks")
        props[name] = overlay(props[name], sub, f"{where}.{name}")
    if props:
        out["properties"] = props
    return out


def strict(node):
    """Every object schema that lists properties rejects unknown keys unless it says otherwise."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def build(chart_schema: Path) -> dict:
    doc = load(chart_schema)
    schema = strict(resolve(doc, chart_schema, doc))
    return {"$schema": DRAFT, **schema}


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def targets() -> list[tuple[Path, Path]]:
    out = []
    for src in sorted((SCHEMAS / "charts").glob("*.schema.yaml")):
        chart = src.name[: -len(".schema.yaml")]
        if not (CHARTS / chart / "Chart.yaml").exists():
            raise SystemExit(f"gen_schemas: {src} has no chart at charts/{chart}")
        out.append((src, CHARTS / chart / "values.schema.json"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if a committed schema differs")
    args = ap.parse_args(argv)
    stale = []
    for src, dest in targets():
        text = render(build(src))
        if args.check:
            if not dest.exists() or dest.read_text() != text:
                stale.append(str(dest))
        elif not dest.exists() or dest.read_text() != text:
            dest.write_text(text)
            print(f"gen_schemas: wrote {dest}")
    if stale:
        print("gen_schemas: stale (run scripts/gen_schemas.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
