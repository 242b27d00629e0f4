"""Invariants: rules every rendered release must satisfy, written once as functions over the rendered objects
and run across every chart x values file.

Each invariant takes the list of rendered objects and yields Violations. Register one with @invariant; the
harness runs all of them (ALL). Pod templates are found by `pod_templates`, which knows the workload kinds
(and, through POD_TEMPLATE_PATHS, custom resources that embed pod templates), and builds the pods KServe makes
from an InferenceService and its (Cluster)ServingRuntime (see kserve_pod_templates).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
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

    @property
    def is_engine(self) -> bool:
        return self.engine or self.labels.get("app.kubernetes.io/component") in ENGINE_COMPONENTS or any(
            gpu_count(c) for c in self.containers(init=False))


def pod_templates(objects: list[dict]) -> list[PodTemplate]:
    out = []
    for obj in objects:
        if obj.get("kind") == "Pod":
            out.append(PodTemplate(obj, "", dig(obj, "metadata", "labels", default={}) or {}, obj.get("spec") or {},
                                   dig(obj, "metadata", "annotations", default={}) or {}))
        for path in POD_TEMPLATE_PATHS.get(obj.get("kind"), []):
            for i, tpl in enumerate(_expand(obj, path)):
                where = "." + ".".join(str(p) for p in path).replace("*", str(i))
                out.append(PodTemplate(obj, where, dig(tpl, "metadata", "labels", default={}) or {},
                                       tpl.get("spec") or {}, dig(tpl, "metadata", "annotations", default={}) or {}))
    return out + kserve_pod_templates(objects)


# ----------------------------------------------------------------- KServe predictor pods

# KServe builds a predictor pod from an InferenceService and the (Cluster)ServingRuntime it resolves to
# (pkg/controller/v1beta1/inferenceservice/utils, v0.15-v0.20): spec.predictor.model is strategic-merge-patched onto
# the runtime container named kserve-container, except that args are concatenated (the runtime's first), and the
# predictor's pod fields are merged over the runtime's. The invariants check that merged pod. A runtime that no
# rendered InferenceService uses is checked alone, as a partial pod.
KSERVE_RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
KSERVE_CONTAINER = "kserve-container"
# spec.predictor keys that are not PodSpec fields (ComponentExtensionSpec, framework specs, storage).
_PREDICTOR_NOT_POD = {"model", "containers", "minReplicas", "maxReplicas", "scaleTarget", "scaleMetric",
                      "scaleMetricType", "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher",
                      "labels", "annotations", "deploymentStrategy", "autoScaling", "workerSpec", "storageUris",
                      "storageContainerName", "name", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx",
                      "huggingface", "pmml", "lightgbm", "paddle"}
# spec.predictor.model keys that are not Container fields.
_MODEL_NOT_CONTAINER = {"modelFormat", "runtime", "storageUri", "storage", "protocolVersion", "runtimeVersion",
                        "confidential"}
# (Cluster)ServingRuntime spec keys that are pod fields.
_RUNTIME_POD_FIELDS = ("nodeSelector", "tolerations", "affinity", "volumes", "imagePullSecrets", "hostIPC",
                       "schedulerName")
# Lists that a strategic merge patch merges item by item, by this key (k8s.io/api/core/v1 patchMergeKey); any other
# list is replaced.
_MERGE_KEYS = {"env": "name", "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
               "volumes": "name", "imagePullSecrets": "name", "containers": "name", "initContainers": "name"}


def strategic_merge(base, patch):
    """Kubernetes strategic merge patch of two objects, for the fields KServe merges: maps merge key by key, lists
    with a merge key merge item by item, anything else is replaced by the patch."""
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return patch
    out = dict(base)
    for k, v in patch.items():
        if k in out and k in _MERGE_KEYS and isinstance(out[k], list) and isinstance(v, list):
            key = _MERGE_KEYS[k]
            merged = list(out[k])
            for item in v:
                i = next((j for j, m in enumerate(merged) if isinstance(m, dict) and isinstance(item, dict)
                          and key in item and m.get(key) == item.get(key)), None)
                if i is None:
                    merged.append(item)
                else:
                    merged[i] = strategic_merge(merged[i], item)
            out[k] = merged
        elif k in out:
            out[k] = strategic_merge(out[k], v)
        else:
            out[k] = v
    return out


def _same_namespace(a: dict, b: dict) -> bool:
    return dig(a, "metadata", "namespace") == dig(b, "metadata", "namespace")


def kserve_runtime_for(isvc: dict, objects: list[dict]) -> dict | None:
    """The rendered runtime KServe would use for this InferenceService, or None (none rendered: a built-in or
    pre-installed one). An explicit predictor.model.runtime is looked up as a ServingRuntime of the InferenceService's
    namespace, then as a ClusterServingRuntime; otherwise the enabled, single-model runtimes with an autoSelect entry
    for the model format are candidates, namespaced ones first, then the highest priority."""
    model = dig(isvc, "spec", "predictor", "model") or {}
    runtimes = [o for o in objects if o.get("kind") in KSERVE_RUNTIME_KINDS and not dig(o, "spec", "disabled")
                and (o["kind"] == "ClusterServingRuntime" or _same_namespace(o, isvc))]
    if model.get("runtime"):
        for kind in KSERVE_RUNTIME_KINDS:
            for rt in runtimes:
                if rt["kind"] == kind and dig(rt, "metadata", "name") == model["runtime"]:
                    return rt
        return None
    fmt = model.get("modelFormat") or {}
    candidates = []
    for rt in runtimes:
        if dig(rt, "spec", "multiModel"):
            continue
        for f in dig(rt, "spec", "supportedModelFormats", default=[]) or []:
            if (f.get("autoSelect") and f.get("name") == fmt.get("name")
                    and (not fmt.get("version") or f.get("version") == fmt.get("version"))):
                candidates.append((rt["kind"] != "ServingRuntime", -(f.get("priority") or 0), rt))
    candidates.sort(key=lambda c: c[:2])
    return candidates[0][2] if candidates else None


def _runtime_container(runtime: dict | None) -> dict:
    for c in dig(runtime, "spec", "containers", default=[]) or []:
        if c.get("name") == KSERVE_CONTAINER:
            return c
    return {}


def kserve_predictor_pod(isvc: dict, runtime: dict | None) -> PodTemplate:
    """The predictor pod of an InferenceService merged with its runtime (None: the predictor alone)."""
    pred = dig(isvc, "spec", "predictor", default={}) or {}
    rspec = (runtime or {}).get("spec") or {}
    spec = strategic_merge({k: v for k, v in rspec.items() if k in _RUNTIME_POD_FIELDS},
                           {k: v for k, v in pred.items() if k not in _PREDICTOR_NOT_POD})
    containers = []
    if "model" in pred:
        base = _runtime_container(runtime)
        model = {k: v for k, v in (pred.get("model") or {}).items() if k not in _MODEL_NOT_CONTAINER}
        main = strategic_merge(base, model)
        main["args"] = list(base.get("args") or []) + list(model.get("args") or [])
        main["name"] = main.get("name") or KSERVE_CONTAINER
        containers.append(main)
        containers += [c for c in rspec.get("containers") or [] if c.get("name") != KSERVE_CONTAINER]
    containers += list(pred.get("containers") or [])
    spec["containers"] = containers
    labels = {**(rspec.get("labels") or {}), **(dig(isvc, "metadata", "labels", default={}) or {}),
              **(pred.get("labels") or {})}
    annotations = {**(rspec.get("annotations") or {}), **(dig(isvc, "metadata", "annotations", default={}) or {}),
                   **(pred.get("annotations") or {})}
    return PodTemplate(isvc, ".spec.predictor", labels, spec, annotations, engine=True)


def kserve_pod_templates(objects: list[dict]) -> list[PodTemplate]:
    """Predictor pods of the rendered InferenceServices (merged with their rendered runtimes), and the runtimes no
    rendered InferenceService uses, as partial pods."""
    out, used = [], set()
    for isvc in (o for o in objects if o.get("kind") == "InferenceService"):
        runtime = kserve_runtime_for(isvc, objects)
        if runtime is not None:
            used.add(id(runtime))
        out.append(kserve_predictor_pod(isvc, runtime))
    for rt in (o for o in objects if o.get("kind") in KSERVE_RUNTIME_KINDS and id(o) not in used):
        rspec = rt.get("spec") or {}
        out.append(PodTemplate(rt, ".spec", rspec.get("labels") or {}, rspec, rspec.get("annotations") or {},
                               engine=True, partial=True))
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
    """Engine pods: no Service env injection, a preStop hook, and a grace period longer than the preStop.
    (A partial pod, a runtime whose pod-level fields come from the InferenceServices using it, is held to its
    containers' preStop hooks only.)"""
    for pod in pod_templates(objects):
        if not pod.is_engine:
            continue
        if not pod.partial and pod.spec.get("enableServiceLinks") is not False:
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
            if not pod.partial and grace <= sleep:
                yield Violation("engine_pods_drain_gracefully", pod.name,
                                f"terminationGracePeriodSeconds {grace} leaves no time after the {sleep}s preStop sleep")


PORT_FLAGS = ("--port",)
METRICS_PORT_FLAGS = ("--prometheus-port", "--metrics-port")
PROMETHEUS_PORT_ANNOTATIONS = ("prometheus.io/port", "prometheus.kserve.io/port")
PROMETHEUS_PATH_ANNOTATIONS = ("prometheus.io/path", "prometheus.kserve.io/path")


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


def container_argv(c: dict) -> list:
    return list(c.get("command") or []) + list(c.get("args") or [])


def declared_ports(c: dict) -> set:
    return {p.get("containerPort") for p in c.get("ports") or []}


@invariant
def port_flags_match_declared_ports(objects):
    """A container started with --port N declares containerPort N: probes, Services and scrapers reach it on the
    declared port, and nothing listens there otherwise (the last --port wins, as argparse reads it). A server
    bound to loopback (--host=127.0.0.1) is internal to the pod and is not declared: nothing outside can reach it."""
    for pod in pod_templates(objects):
        for c in pod.containers(init=False):
            port = flag_value(container_argv(c), PORT_FLAGS)
            if port is None or not port.isdigit():
                continue  # no flag, or a value such as $(PORT) that only the runtime resolves
            if flag_value(container_argv(c), ("--host",)) in ("127.0.0.1", "localhost", "::1"):
                continue
            if int(port) not in declared_ports(c):
                yield Violation("port_flags_match_declared_ports", pod.name,
                                f"container {c.get('name')}: --port={port} is not a declared containerPort "
                                f"({sorted(p for p in declared_ports(c) if p is not None) or 'none declared'})")


@invariant
def prometheus_annotations_match_ports(objects):
    """A prometheus.io/port or prometheus.kserve.io/port annotation names a container port the pod declares, and the
    port its server serves metrics on (--prometheus-port / --metrics-port, else --port) when a flag sets it; the
    path annotations are absolute paths."""
    for pod in pod_templates(objects):
        for key in PROMETHEUS_PORT_ANNOTATIONS:
            if key not in pod.annotations:
                continue
            value = str(pod.annotations[key])
            owners = [c for c in pod.containers(init=False) if value in {str(p) for p in declared_ports(c)}]
            if not owners:
                yield Violation("prometheus_annotations_match_ports", pod.name,
                                f"{key}: {value!r} is not a declared container port")
            for c in owners:
                argv = container_argv(c)
                serves = flag_value(argv, METRICS_PORT_FLAGS) or flag_value(argv, PORT_FLAGS)
                if serves is not None and serves.isdigit() and serves != value:
                    yield Violation("prometheus_annotations_match_ports", pod.name,
                                    f"{key}: {value} but container {c.get('name')} serves metrics on port {serves}")
        for key in PROMETHEUS_PATH_ANNOTATIONS:
            if key in pod.annotations and not str(pod.annotations[key]).startswith("/"):
                yield Violation("prometheus_annotations_match_ports", pod.name,
                                f"{key}: {pod.annotations[key]!r} is not an absolute path")


@invariant
def kserve_runtimes_serve_their_models(objects):
    """A (Cluster)ServingRuntime has a container named kserve-container (KServe merges the model into it), and an
    InferenceService whose runtime is rendered asks for a model format (and protocol) that runtime lists."""
    for rt in (o for o in objects if o.get("kind") in KSERVE_RUNTIME_KINDS):
        if not _runtime_container(rt):
            yield Violation("kserve_runtimes_serve_their_models", ref(rt), f"no container named {KSERVE_CONTAINER}")
    for isvc in (o for o in objects if o.get("kind") == "InferenceService"):
        model = dig(isvc, "spec", "predictor", "model")
        rt = kserve_runtime_for(isvc, objects) if model else None
        if rt is None:
            continue  # no model spec, or a runtime that is not part of this render (built-in or pre-installed)
        fmt = model.get("modelFormat") or {}
        formats = dig(rt, "spec", "supportedModelFormats", default=[]) or []
        if not any(f.get("name") == fmt.get("name") and (not fmt.get("version") or f.get("version") == fmt.get("version"))
                   for f in formats):
            yield Violation("kserve_runtimes_serve_their_models", ref(isvc),
                            f"model format {fmt.get('name')!r} is not among {ref(rt)}'s supportedModelFormats "
                            f"{[f.get('name') for f in formats]}")
        protocols = dig(rt, "spec", "protocolVersions", default=[]) or []
        proto = model.get("protocolVersion") or (None if model.get("runtime") else "v1")
        if protocols and proto and proto not in protocols:
            yield Violation("kserve_runtimes_serve_their_models", ref(isvc),
                            f"protocolVersion {proto} is not among {ref(rt)}'s protocolVersions {protocols}")


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


# ----------------------------------------------------------------- KubeRay clusters

def ray_cluster_specs(objects: list[dict]) -> Iterator[tuple[dict, str, dict]]:
    """(owner, path, RayClusterSpec) of every RayCluster, and of every RayService's rayClusterConfig."""
    for o in objects:
        if o.get("kind") == "RayCluster":
            yield o, ".spec", o.get("spec") or {}
        elif o.get("kind") == "RayService":
            yield o, ".spec.rayClusterConfig", dig(o, "spec", "rayClusterConfig", default={}) or {}


@invariant
def ray_groups_match_their_pods(objects):
    """KubeRay head and worker groups: rayStartParams on every group, all values strings (KubeRay <= 1.3 requires
    both: map[string]string); a num-gpus that equals the Ray container's GPU limit (Ray schedules on what it is
    told, the device plugin hands out what the limit says); worker replicas within [minReplicas, maxReplicas]
    (KubeRay clamps them silently)."""
    for owner, where, spec in ray_cluster_specs(objects):
        groups = [("headGroupSpec", spec.get("headGroupSpec") or {})]
        groups += [(f"workerGroupSpecs[{i}]", g or {}) for i, g in enumerate(spec.get("workerGroupSpecs") or [])]
        for name, group in groups:
            at = f"{where}.{name}"
            params = group.get("rayStartParams")
            if params is None:
                yield Violation("ray_groups_match_their_pods", ref(owner), f"{at}: no rayStartParams (required by KubeRay <= 1.3)")
                params = {}
            not_str = {k: v for k, v in params.items() if not isinstance(v, str)}
            if not_str:
                yield Violation("ray_groups_match_their_pods", ref(owner), f"{at}.rayStartParams: values must be strings: {not_str}")
            ray_container = (dig(group, "template", "spec", "containers", default=[]) or [None])[0]
            if ray_container is not None and "num-gpus" in params:
                gpus = gpu_count(ray_container)
                try:
                    declared = float(params["num-gpus"])
                except (TypeError, ValueError):
                    declared = None
                if declared != gpus:
                    yield Violation("ray_groups_match_their_pods", ref(owner),
                                    f"{at}: rayStartParams num-gpus {params['num-gpus']!r} but the Ray container "
                                    f"{ray_container.get('name')} gets {gpus} GPUs")
            if name != "headGroupSpec" and group.get("replicas") is not None:
                n, lo, hi = group["replicas"], group.get("minReplicas", 0), group.get("maxReplicas")
                if n < lo or (hi is not None and n > hi):
                    yield Violation("ray_groups_match_their_pods", ref(owner),
                                    f"{at}: replicas {n} outside minReplicas {lo} .. maxReplicas {hi}")


# ----------------------------------------------------------------- releases with several charts (umbrella)

def _group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in (api_version or "") else ""


@invariant
def object_names_unique(objects):
    """Two subcharts must not render the same object: the second would overwrite the first at install."""
    seen = {}
    for o in objects:
        key = (_group_of(o.get("apiVersion", "")), o.get("kind"), dig(o, "metadata", "namespace", default=""),
               dig(o, "metadata", "name"))
        if key in seen:
            yield Violation("object_names_unique", ref(o), f"rendered twice ({'/'.join(str(k) for k in key if k)})")
        seen[key] = True


GATEWAY_CONFIG_KEY = "backends.json"


def gateway_backends(objects: list[dict]) -> Iterator[tuple[dict, list[dict]]]:
    """(gateway ConfigMap, its backends) from the registrar configuration the llm-stack chart renders
    (charts/llm-stack/templates/_gateway.tpl): [{source, names, discovery, service, namespace, port, url, ...}]."""
    import json
    for o in objects:
        if o.get("kind") == "ConfigMap" and GATEWAY_CONFIG_KEY in (o.get("data") or {}):
            yield o, json.loads(o["data"][GATEWAY_CONFIG_KEY]).get("backends") or []


def _release_services(objects: list[dict]) -> dict:
    """(name, namespace) -> Service, with the <name>-predictor Service KServe creates on port 80 for a rendered
    InferenceService <name> (RawDeployment/Standard)."""
    services = {(dig(s, "metadata", "name"), dig(s, "metadata", "namespace", default="")): s
                for s in objects if s.get("kind") == "Service"}
    for isvc in (o for o in objects if o.get("kind") == "InferenceService"):
        name = f"{dig(isvc, 'metadata', 'name')}-predictor"
        services.setdefault((name, dig(isvc, "metadata", "namespace", default="")),
                            {"kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}})
    return services


@invariant
def gateway_backends_resolve(objects):
    """Every name the gateway routes has exactly one backend, and every backend in the release resolves: a
    discovered Service is rendered (or is a KServe predictor Service of a rendered InferenceService) with the port
    the registrar looks for, and a URL backend that names a Service of the release names one of its ports."""
    services = _release_services(objects)
    namespaces = {ns for _, ns in services}
    for cm, backends in gateway_backends(objects):
        names = [n for b in backends for n in b.get("names") or []]
        for n in sorted({n for n in names if names.count(n) > 1}):
            yield Violation("gateway_backends_resolve", ref(cm), f"model {n!r} has {names.count(n)} backends")
        for b in backends:
            if b.get("discovery") == "endpoints":
                key = (b.get("service"), b.get("namespace", ""))
                if key not in services:
                    if b.get("namespace") in namespaces:
                        yield Violation("gateway_backends_resolve", ref(cm),
                                        f"{b.get('source')}: no rendered Service {key[0]} in {key[1]}")
                    continue  # a Service of another release (gateway.extraBackends)
                ports = dig(services[key], "spec", "ports", default=[]) or []
                if b.get("portName") and b["portName"] not in [p.get("name") for p in ports]:
                    yield Violation("gateway_backends_resolve", ref(cm),
                                    f"{b.get('source')}: Service {key[0]} has no port named {b['portName']!r}")
                if b.get("port") not in [p.get("port") for p in ports]:
                    yield Violation("gateway_backends_resolve", ref(cm), f"{b.get('source')}: Service {key[0]} has no port {b.get('port')}")
            elif b.get("discovery") == "url":
                m = re.fullmatch(r"https?://([a-z0-9-]+)(?:\.([a-z0-9-]+))?(?:\.svc(?:\.cluster\.local)?)?:(\d+)/?", b.get("url", ""))
                if not m:
                    continue  # not a cluster Service URL
                svc = services.get((m.group(1), m.group(2) or "")) or next(
                    (v for (n, ns), v in services.items() if n == m.group(1) and not m.group(2)), None)
                if svc is not None and int(m.group(3)) not in [p.get("port") for p in dig(svc, "spec", "ports", default=[])]:
                    yield Violation("gateway_backends_resolve", ref(cm), f"{b.get('source')}: Service {m.group(1)} has no port {m.group(3)}")
            else:
                yield Violation("gateway_backends_resolve", ref(cm), f"{b.get('source')}: unknown discovery {b.get('discovery')!r}")


@invariant
def pod_port_names_unique(objects):
    """Within one pod, container port names and numbers are unique, and Services selecting the same pod give a
    port name one meaning (the same targetPort)."""
    services = [o for o in objects if o.get("kind") == "Service"]
    for pod in pod_templates(objects):
        names, numbers = [], []
        for c in pod.containers(init=False):
            for p in c.get("ports") or []:
                if p.get("name"):
                    names.append(p["name"])
                numbers.append(p.get("containerPort"))
        for dup in sorted({n for n in names if names.count(n) > 1}):
            yield Violation("pod_port_names_unique", pod.name, f"port name {dup!r} declared twice")
        for dup in sorted({n for n in numbers if numbers.count(n) > 1}):
            yield Violation("pod_port_names_unique", pod.name, f"containerPort {dup} declared twice")
        meaning = {}
        for s in services:
            if not selector_matches(dig(s, "spec", "selector"), pod.labels):
                continue
            for p in dig(s, "spec", "ports", default=[]):
                name, target = p.get("name"), p.get("targetPort", p.get("port"))
                if name in meaning and meaning[name][1] != target:
                    yield Violation("pod_port_names_unique", pod.name,
                                    f"Services {meaning[name][0]} and {ref(s)} both name a port {name!r} with different targets")
                meaning.setdefault(name, (ref(s), target))
