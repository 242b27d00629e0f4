"""Queries the tests ask of rendered objects: an object by kind and name, a workload's pod spec and containers, a
container's env by name, the gateway's registrar configuration. Each fails with the names it did find."""
from __future__ import annotations

import json

from llmcharts.objects import dig, of_kind

__all__ = ["find", "one", "of_kind", "pod_spec", "container", "env", "gateway_config"]


def _names(objs: list[dict], kind: str) -> list[str]:
    return [dig(o, "metadata", "name") for o in of_kind(objs, kind)]


def find(objs: list[dict], kind: str, name: str | None = None) -> dict:
    """The first object of this kind (and name)."""
    for o in objs:
        if o.get("kind") == kind and (name is None or dig(o, "metadata", "name") == name):
            return o
    raise AssertionError(f"no {kind} {name or ''} rendered (have {kind}: {_names(objs, kind)})")


def one(objs: list[dict], kind: str, name: str | None = None) -> dict:
    """The only object of this kind (and name)."""
    found = [o for o in of_kind(objs, kind) if name is None or dig(o, "metadata", "name") == name]
    assert len(found) == 1, f"want one {kind} {name or ''}, have {_names(objs, kind)}"
    return found[0]


def pod_spec(obj: dict) -> dict:
    """The PodSpec of a Pod or of a workload's pod template (Deployment, StatefulSet, Job...)."""
    return obj["spec"] if obj.get("kind") == "Pod" else obj["spec"]["template"]["spec"]


def container(obj: dict, name: str | None = None) -> dict:
    """A container of a Pod or workload: the named one, or the first."""
    containers = pod_spec(obj)["containers"]
    if name is None:
        return containers[0]
    for c in containers:
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name} (have {[c['name'] for c in containers]})")


def env(c: dict) -> dict[str, dict]:
    """A container's env vars by name."""
    return {e["name"]: e for e in c.get("env") or []}


def gateway_config(objs: list[dict]) -> tuple[dict, dict]:
    """The llm-stack gateway's ConfigMap and its parsed registrar configuration (backends.json)."""
    cm = next((o for o in of_kind(objs, "ConfigMap") if "backends.json" in (o.get("data") or {})), None)
    assert cm is not None, f"no gateway ConfigMap with backends.json (have {_names(objs, 'ConfigMap')})"
    return cm, json.loads(cm["data"]["backends.json"])
