"""The object model of rendered manifests: dig, ref, pod templates, resources, selectors, containers.

The object model of rendered manifests: `dig` and `ref`, a pod template's fields, GPU resources, quantities, label
selectors, and the ports, env, secret references and argv of containers."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

GPU_SUFFIX = "/gpu"
ENGINE_COMPONENTS = {"engine"}


def ref(obj: dict) -> str:
    """Kind/name, how messages name an object."""
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def dig(obj, *path, default=None):
    """obj[path[0]][path[1]]...: map keys and list indexes; default where any step is missing."""
    for p in path:
        if isinstance(obj, dict) and p in obj:
            obj = obj[p]
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return default
    return obj


def of_kind(objects: list[dict], *kinds: str) -> list[dict]:
    """The objects of these kinds, in render order."""
    return [o for o in objects if o.get("kind") in kinds]


@dataclass
class PodTemplate:
    """A pod a release runs: its owner, where in the owner it sits, its labels, annotations and PodSpec."""
    owner: dict
    where: str
    labels: dict
    spec: dict
    annotations: dict = field(default_factory=dict)
    # Set for pods whose main container serves the model whatever their labels (KServe predictors and runtimes).
    engine: bool = False
    # A partial pod: its pod-level fields (grace period, service links, ...) come from the objects that use it
    # (a ServingRuntime no rendered InferenceService uses); only container-level rules apply to them.
    partial: bool = False

    @property
    def name(self) -> str:
        return f"{ref(self.owner)}{self.where}"

    def containers(self, init: bool = True) -> list[dict]:
        return list(self.spec.get("containers") or []) + (list(self.spec.get("initContainers") or []) if init else [])

    def serving_containers(self) -> list[dict]:
        """Its containers that declare a port or GPUs; sidecars without a port of their own (the guard in front of an
        engine, a gateway's router) are left out."""
        return [c for c in self.containers(init=False) if c.get("ports") or gpu_count(c)]

    @property
    def is_engine(self) -> bool:
        return self.engine or self.labels.get("app.kubernetes.io/component") in ENGINE_COMPONENTS or any(
            gpu_count(c) for c in self.containers(init=False))


# ----------------------------------------------------------------- resources

def is_gpu_resource(name: str) -> bool:
    """A whole GPU (<vendor>/gpu) or an NVIDIA MIG slice (nvidia.com/mig-<profile>, the device plugin's mixed strategy)."""
    return name.endswith(GPU_SUFFIX) or name.startswith("nvidia.com/mig-")


def gpu_taint_key(name: str) -> str:
    """The taint GPU node pools carry for a GPU resource: <vendor>/gpu (a MIG pool keeps nvidia.com/gpu)."""
    return name.split("/", 1)[0] + GPU_SUFFIX


def gpu_resources(container: dict) -> dict:
    """GPU resource name -> (request, limit) of a container."""
    res = container.get("resources") or {}
    names = {k for section in ("requests", "limits") for k in (res.get(section) or {}) if is_gpu_resource(k)}
    return {n: (dig(res, "requests", n), dig(res, "limits", n)) for n in names}


def gpu_count(container: dict) -> int:
    total = 0
    for req, lim in gpu_resources(container).values():
        try:
            total += int(lim if lim is not None else req or 0)
        except (TypeError, ValueError):
            pass
    return total


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 1e-3}


def quantity(q) -> float | None:
    """A Kubernetes quantity (8Gi, 500m, 4) as a number, or None."""
    if q is None:
        return None
    m = re.fullmatch(r"([0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?", str(q))
    if not m:
        return None
    return float(m.group(1)) * _UNITS[m.group(2) or ""]


# ----------------------------------------------------------------- selectors

def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector ({matchLabels, matchExpressions}) or a plain map (Service selector)."""
    if not selector:
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:
        ml = selector.get("matchLabels") or {}
        exprs = selector.get("matchExpressions") or []
    else:
        ml, exprs = selector, []
    if any(labels.get(k) != v for k, v in ml.items()):
        return False
    for e in exprs:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


# ----------------------------------------------------------------- containers: ports, env, argv

def container_port_names(pod: PodTemplate) -> tuple[set, set]:
    """(names, numbers) of the ports the pod's containers declare."""
    names, numbers = set(), set()
    for c in pod.containers(init=False):
        for p in c.get("ports") or []:
            if p.get("name"):
                names.add(p["name"])
            numbers.add(p.get("containerPort"))
    return names, numbers


def declared_ports(c: dict) -> set:
    return {p.get("containerPort") for p in c.get("ports") or []}


def all_env(pod: PodTemplate) -> Iterator[tuple[dict, dict]]:
    """(container, env var) of every container, init containers included."""
    for c in pod.containers():
        for e in c.get("env") or []:
            yield c, e


def secret_refs(pods: list[PodTemplate]) -> Iterator[tuple[PodTemplate, dict, dict]]:
    """(pod, env var, its secretKeyRef) for every env var of these pods read from a Secret."""
    for pod in pods:
        for _, e in all_env(pod):
            key_ref = dig(e, "valueFrom", "secretKeyRef")
            if key_ref:
                yield pod, e, key_ref


def container_argv(c: dict) -> list:
    return list(c.get("command") or []) + list(c.get("args") or [])


def flag_value(argv, names) -> str | None:
    """The value of the last of these flags in an argv list ("--flag=value" or "--flag value"), as argparse reads
    it, or None."""
    argv = [str(a) for a in argv or []]
    value = None
    for i, a in enumerate(argv):
        for n in names:
            if a.startswith(n + "="):
                value = a[len(n) + 1:]
            elif a == n and i + 1 < len(argv):
                value = argv[i + 1]
    return value
