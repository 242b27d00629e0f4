"""Invariants: rules every rendered release must satisfy, written once as functions over the rendered objects
and run across every chart x values file.

Each invariant takes the list of rendered objects and yields Violations. Register one with @invariant; the
harness runs all of them (ALL). Pod templates are found by `pod_templates`, which knows the workload kinds
(and, through POD_TEMPLATE_PATHS, custom resources that embed pod templates).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

GPU_SUFFIX = "/gpu"
STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                   "app.kubernetes.io/part-of", "helm.sh/chart")
SECRET_LIKE = re.compile(r"(TOKEN|SECRET|PASSW|API_?KEY|ACCESS_KEY|CREDENTIAL|PRIVATE_KEY)", re.I)
SECRET_FLAGS = re.compile(r"^--(api-key|hf-token|token|password|secret)(=|$)")
VISIBLE_DEVICES = {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENGINE_COMPONENTS = {"engine"}


@dataclass(frozen=True)
class Violation:
    invariant: str
    obj: str
    message: str

    def __str__(self):
        return f"[{self.invariant}] {self.obj}: {self.message}"


Invariant = Callable[[list], Iterator[Violation]]
ALL: dict[str, Invariant] = {}


def invariant(fn: Invariant) -> Invariant:
    """Register an invariant under its function name."""
    ALL[fn.__name__] = fn
    return fn


def run_all(objects: list[dict]) -> list[Violation]:
    out = []
    for fn in ALL.values():
        out += list(fn(objects))
    return out


# ----------------------------------------------------------------- object helpers

def ref(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def dig(obj, *path, default=None):
    for p in path:
        if isinstance(obj, dict) and p in obj:
            obj = obj[p]
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return default
    return obj


# kind -> paths (tuples) of the pod templates ({metadata, spec}) inside the object; "*" expands a list.
POD_TEMPLATE_PATHS: dict[str, list[tuple]] = {
    "Deployment": [("spec", "template")],
    "StatefulSet": [("spec", "template")],
    "DaemonSet": [("spec", "template")],
    "ReplicaSet": [("spec", "template")],
    "Job": [("spec", "template")],
    "CronJob": [("spec", "jobTemplate", "spec", "template")],
    "RayCluster": [("spec", "headGroupSpec", "template"), ("spec", "workerGroupSpecs", "*", "template")],
    "RayService": [("spec", "rayClusterConfig", "headGroupSpec", "template"),
                   ("spec", "rayClusterConfig", "workerGroupSpecs", "*", "template")],
}


def _expand(obj, path: tuple):
    if not path:
        yield obj
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in obj or []:
            yield from _expand(item, rest)
    elif isinstance(obj, dict) and head in obj:
        yield from _expand(obj[head], rest)


@dataclass
class PodTemplate:
    owner: dict
    where: str
    labels: dict
    spec: dict

    @property
    def name(self) -> str:
        return f"{ref(self.owner)}{self.where}"

    def containers(self, init: bool = True) -> list[dict]:
        return list(self.spec.get("containers") or []) + (list(self.spec.get("initContainers") or []) if init else [])

    @property
    def is_engine(self) -> bool:
        return self.labels.get("app.kubernetes.io/component") in ENGINE_COMPONENTS or any(
            gpu_count(c) for c in self.containers(init=False))


def pod_templates(objects: list[dict]) -> list[PodTemplate]:
    out = []
    for obj in objects:
        if obj.get("kind") == "Pod":
            out.append(PodTemplate(obj, "", dig(obj, "metadata", "labels", default={}) or {}, obj.get("spec") or {}))
        for path in POD_TEMPLATE_PATHS.get(obj.get("kind"), []):
            for i, tpl in enumerate(_expand(obj, path)):
                where = "." + ".".join(str(p) for p in path).replace("*", str(i))
                out.append(PodTemplate(obj, where, dig(tpl, "metadata", "labels", default={}) or {},
                                       tpl.get("spec") or {}))
    return out


def gpu_resources(container: dict) -> dict:
    res = container.get("resources") or {}
    names = {k for section in ("requests", "limits") for k in (res.get(section) or {}) if k.endswith(GPU_SUFFIX)}
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
    if q is None:
        return None
    m = re.fullmatch(r"([0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?", str(q))
    if not m:
        return None
    return float(m.group(1)) * _UNITS[m.group(2) or ""]


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


def container_port_names(pod: PodTemplate) -> tuple[set, set]:
    names, numbers = set(), set()
    for c in pod.containers(init=False):
        for p in c.get("ports") or []:
            if p.get("name"):
                names.add(p["name"])
            numbers.add(p.get("containerPort"))
    return names, numbers


def all_env(pod: PodTemplate) -> Iterator[tuple[dict, dict]]:
    for c in pod.containers():
        for e in c.get("env") or []:
            yield c, e


# ----------------------------------------------------------------- the invariants

@invariant
def gpu_requests_equal_limits(objects):
    """Extended resources cannot be overcommitted: a GPU request must equal its limit."""
    for pod in pod_templates(objects):
        for c in pod.containers():
            for name, (req, lim) in gpu_resources(c).items():
                if req is None or lim is None or str(req) != str(lim):
                    yield Violation("gpu_requests_equal_limits", pod.name,
                                    f"container {c.get('name')}: {name} request {req} != limit {lim}")


@invariant
def gpu_pods_tolerate_gpu_taint(objects):
    """GPU node pools are tainted '<vendor>/gpu:NoSchedule'; a GPU pod without the toleration stays Pending."""
    for pod in pod_templates(objects):
        names = {n for c in pod.containers() for n in gpu_resources(c)}
        for name in names:
            ok = any((t.get("operator") == "Exists" and t.get("key") in (None, "", name)
                      or t.get("key") == name) and t.get("effect") in (None, "", "NoSchedule")
                     for t in pod.spec.get("tolerations") or [])
            if not ok:
                yield Violation("gpu_pods_tolerate_gpu_taint", pod.name, f"requests {name} but does not tolerate the {name}:NoSchedule taint")


@invariant
def multi_gpu_pods_mount_memory_shm(objects):
    """NCCL needs a memory-backed /dev/shm; it counts against the memory limit, so it must be bounded below it."""
    for pod in pod_templates(objects):
        vols = {v.get("name"): v for v in pod.spec.get("volumes") or []}
        for c in pod.containers(init=False):
            if gpu_count(c) <= 1:
                continue
            mount = next((m for m in c.get("volumeMounts") or [] if m.get("mountPath") == "/dev/shm"), None)
            vol = vols.get(mount.get("name")) if mount else None
            ed = (vol or {}).get("emptyDir")
            if not mount or ed is None or ed.get("medium") != "Memory":
                yield Violation("multi_gpu_pods_mount_memory_shm", pod.name,
                                f"container {c.get('name')} uses {gpu_count(c)} GPUs without a memory emptyDir at /dev/shm")
                continue
            size, limit = quantity(ed.get("sizeLimit")), quantity(dig(c, "resources", "limits", "memory"))
            if size is None:
                yield Violation("multi_gpu_pods_mount_memory_shm", pod.name, "/dev/shm emptyDir has no sizeLimit")
            elif limit is None or size >= limit:
                yield Violation("multi_gpu_pods_mount_memory_shm", pod.name,
                                f"/dev/shm sizeLimit {ed.get('sizeLimit')} is not below the memory limit {dig(c, 'resources', 'limits', 'memory')}")


@invariant
def no_hand_set_visible_devices(objects):
    """The device plugin decides which GPUs a container sees."""
    for pod in pod_templates(objects):
        for c, e in all_env(pod):
            if e.get("name") in VISIBLE_DEVICES:
                yield Violation("no_hand_set_visible_devices", pod.name, f"container {c.get('name')} sets {e['name']}")


@invariant
def secrets_only_from_secret_refs(objects):
    """Secret-like env vars come from secretKeyRef; secrets never appear as literal flags."""
    for pod in pod_templates(objects):
        for c, e in all_env(pod):
            if SECRET_LIKE.search(e.get("name", "")) and not dig(e, "valueFrom", "secretKeyRef"):
                yield Violation("secrets_only_from_secret_refs", pod.name,
                                f"container {c.get('name')}: env {e['name']} is not read from a Secret (valueFrom.secretKeyRef)")
        for c in pod.containers():
            for a in (c.get("args") or []) + (c.get("command") or []):
                if SECRET_FLAGS.match(str(a)):
                    yield Violation("secrets_only_from_secret_refs", pod.name,
                                    f"container {c.get('name')}: secret passed as a literal flag {str(a).split('=')[0]}")


@invariant
def engine_containers_have_probes(objects):
    """Engine containers have startup, readiness and liveness probes on a declared port."""
    for pod in pod_templates(objects):
        if not pod.is_engine:
            continue
        names, numbers = container_port_names(pod)
        for c in pod.containers(init=False):
            if not (c.get("ports") or gpu_count(c)):
                continue  # sidecars without a serving port
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                p = c.get(probe)
                if not p:
                    yield Violation("engine_containers_have_probes", pod.name, f"container {c.get('name')} has no {probe}")
                    continue
                port = dig(p, "httpGet", "port", default=dig(p, "tcpSocket", "port"))
                if port is not None and port not in names and port not in numbers:
                    yield Violation("engine_containers_have_probes", pod.name,
                                    f"container {c.get('name')}: {probe} port {port!r} is not a declared container port")


@invariant
def engine_pods_drain_gracefully(objects):
    """Engine pods: no Service env injection, a preStop hook, and a grace period longer than the preStop."""
    for pod in pod_templates(objects):
        if not pod.is_engine:
            continue
        if pod.spec.get("enableServiceLinks") is not False:
            yield Violation("engine_pods_drain_gracefully", pod.name, "enableServiceLinks is not false")
        grace = pod.spec.get("terminationGracePeriodSeconds", 30)
        for c in pod.containers(init=False):
            if not (c.get("ports") or gpu_count(c)):
                continue
            pre = dig(c, "lifecycle", "preStop")
            if not pre:
                yield Violation("engine_pods_drain_gracefully", pod.name, f"container {c.get('name')} has no preStop hook")
                continue
            sleep = dig(pre, "sleep", "seconds", default=0)
            if grace <= sleep:
                yield Violation("engine_pods_drain_gracefully", pod.name,
                                f"terminationGracePeriodSeconds {grace} leaves no time after the {sleep}s preStop sleep")


@invariant
def services_select_rendered_pods(objects):
    """Every Service selects rendered pods, and its targetPorts are ports those pods declare."""
    pods = pod_templates(objects)
    for svc in (o for o in objects if o.get("kind") == "Service"):
        sel = dig(svc, "spec", "selector")
        if not sel:
            continue  # headless/external Services
        chosen = [p for p in pods if selector_matches(sel, p.labels)]
        if not chosen:
            yield Violation("services_select_rendered_pods", ref(svc), f"selector {sel} matches no rendered pod")
            continue
        for port in dig(svc, "spec", "ports", default=[]):
            target = port.get("targetPort", port.get("port"))
            if not any(target in (names if isinstance(target, str) else numbers)
                       for names, numbers in map(container_port_names, chosen)):
                yield Violation("services_select_rendered_pods", ref(svc), f"targetPort {target!r} is not declared by the selected pods")


@invariant
def monitors_and_scalers_point_at_rendered_objects(objects):
    """ServiceMonitors/PodMonitors select rendered Services/pods and their ports; HPAs, ScaledObjects, PDBs and
    NetworkPolicies target rendered workloads; an autoscaled workload does not also pin spec.replicas."""
    services = [o for o in objects if o.get("kind") == "Service"]
    pods = pod_templates(objects)
    by_kind_name = {(o.get("kind"), dig(o, "metadata", "name")): o for o in objects}
    for o in objects:
        kind = o.get("kind")
        if kind == "ServiceMonitor":
            chosen = [s for s in services if selector_matches(dig(o, "spec", "selector"), dig(s, "metadata", "labels", default={}))]
            if not chosen:
                yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o), "selector matches no rendered Service")
            for ep in dig(o, "spec", "endpoints", default=[]):
                if chosen and not any(ep.get("port") in [p.get("name") for p in dig(s, "spec", "ports", default=[])] for s in chosen):
                    yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o), f"endpoint port {ep.get('port')!r} is not a port of the selected Services")
        elif kind == "PodMonitor":
            chosen = [p for p in pods if selector_matches(dig(o, "spec", "selector"), p.labels)]
            if not chosen:
                yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o), "selector matches no rendered pod")
            for ep in dig(o, "spec", "podMetricsEndpoints", default=[]):
                if chosen and ep.get("port") and not any(ep["port"] in container_port_names(p)[0] for p in chosen):
                    yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o), f"port {ep.get('port')!r} is not a container port of the selected pods")
        elif kind in ("HorizontalPodAutoscaler", "ScaledObject"):
            tgt = dig(o, "spec", "scaleTargetRef", default={})
            target = by_kind_name.get((tgt.get("kind", "Deployment"), tgt.get("name")))
            if target is None:
                yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o), f"scaleTargetRef {tgt.get('kind')}/{tgt.get('name')} is not rendered")
            elif "replicas" in (target.get("spec") or {}):
                yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o),
                                f"{ref(target)} sets spec.replicas while autoscaled: every helm upgrade would reset the scale")
        elif kind in ("PodDisruptionBudget", "NetworkPolicy"):
            sel = dig(o, "spec", "selector") if kind == "PodDisruptionBudget" else dig(o, "spec", "podSelector")
            if not any(selector_matches(sel, p.labels) for p in pods):
                yield Violation("monitors_and_scalers_point_at_rendered_objects", ref(o), f"selector {sel} matches no rendered pod")


@invariant
def names_and_labels_valid(objects):
    """Object names are DNS-1123 (Services: labels of <= 63), label keys and values are valid."""
    for o in objects:
        name = dig(o, "metadata", "name", default="")
        rx, limit = (DNS1123_LABEL, 63) if o.get("kind") in ("Service", "Namespace") else (DNS1123_SUBDOMAIN, 253)
        if not name or len(name) > limit or not rx.match(name):
            yield Violation("names_and_labels_valid", ref(o), f"name {name!r} is not a valid DNS-1123 name (<= {limit})")
        label_sets = [("metadata.labels", dig(o, "metadata", "labels", default={}) or {})]
        label_sets += [(f"{p.where}.metadata.labels", p.labels) for p in pod_templates([o])]
        for where, labels in label_sets:
            for k, v in labels.items():
                prefix, _, key = k.rpartition("/")
                if (prefix and not DNS1123_SUBDOMAIN.match(prefix)) or not LABEL_NAME.match(key) or len(key) > 63:
                    yield Violation("names_and_labels_valid", ref(o), f"{where}: invalid label key {k!r}")
                if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                    yield Violation("names_and_labels_valid", ref(o), f"{where}: invalid label value {k}={v!r}")


@invariant
def standard_labels_present(objects):
    """Every object carries the standard app.kubernetes.io/* labels and helm.sh/chart."""
    for o in objects:
        labels = dig(o, "metadata", "labels", default={}) or {}
        missing = [k for k in STANDARD_LABELS if k not in labels]
        if missing:
            yield Violation("standard_labels_present", ref(o), f"missing labels {missing}")
