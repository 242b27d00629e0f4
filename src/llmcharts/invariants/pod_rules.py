"""Invariants on each pod: GPUs, shm, env, secrets, probes, drain, port flags, metrics ports.

Invariants on each pod a release runs: GPU requests and taints, /dev/shm, device and secret env, probes, graceful
drain, port flags and Prometheus annotations."""
from __future__ import annotations

import re

from ..objects import (all_env, container_argv, container_port_names, declared_ports, dig, flag_value, gpu_count,
                       gpu_resources, gpu_taint_key, quantity)
from ..pods import pod_templates
from .registry import Violation, invariant

SECRET_LIKE = re.compile(r"(TOKEN|SECRET|PASSW|API_?KEY|ACCESS_KEY|CREDENTIAL|PRIVATE_KEY)", re.I)
# As the engines' parsers read them: "_" for "-" (vLLM), and the value in the same item after "=" or a space.
SECRET_FLAGS = re.compile(r"^--(api[-_]key|hf[-_]token|token|password|secret)(=|\s|$)")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The guard's haproxy.cfg (llm-common.guard.haproxyConfig): its public listener and the engine behind it.
GUARD_BIND = re.compile(r"^\s*bind\s+\S*:(\d+)\s*$", re.M)
GUARD_SERVER = re.compile(r"^\s*server\s+engine\s+(\S+):(\d+)\s*$", re.M)


def on_loopback(c: dict) -> bool:
    """The container's server binds the pod's loopback only (--host=127.0.0.1): internal to the pod."""
    return flag_value(container_argv(c), ("--host",)) in LOOPBACK


VISIBLE_DEVICES = {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"}


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
        names = {gpu_taint_key(n) for c in pod.containers() for n in gpu_resources(c)}
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
    # Ray Serve's runtime_env.env_vars land in the RayService (or the serve-config ConfigMap) in plain text.
    for where, env_vars in ray_runtime_env_vars(objects):
        for name, value in env_vars.items():
            if SECRET_LIKE.search(str(name)) and value not in (None, ""):
                yield Violation("secrets_only_from_secret_refs", where, f"runtime_env.env_vars.{name} holds a literal value")


def ray_runtime_env_vars(objects):
    """(object, env_vars) of every Ray Serve LLM config a render carries: RayService serveConfigV2, or a ConfigMap
    holding a serve config (a bare RayCluster's)."""
    import yaml
    texts = [(f"{o['kind']}/{dig(o, 'metadata', 'name')}", dig(o, "spec", "serveConfigV2"))
             for o in objects if o.get("kind") == "RayService"]
    texts += [(f"ConfigMap/{dig(o, 'metadata', 'name')}", v) for o in objects if o.get("kind") == "ConfigMap"
              for v in (o.get("data") or {}).values() if "llm_configs" in str(v)]
    for where, text in texts:
        try:
            cfg = yaml.safe_load(text or "") or {}
        except yaml.YAMLError:
            continue
        for app in cfg.get("applications") or []:
            for llm in dig(app, "args", "llm_configs", default=[]) or []:
                yield where, dig(llm, "runtime_env", "env_vars", default={}) or {}


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
            if on_loopback(c):
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
            for c in (c for c in owners if not on_loopback(c)):  # behind a guard: the guard serves the port
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
def guard_forwards_to_the_engine(objects):
    """A pod with the guard (llm-common.guard): its haproxy.cfg (the ConfigMap its guard-config volume names) listens on
    a port the pod declares and forwards to 127.0.0.1:<the port the engine binds>, and the engine binds only the pod's
    loopback, so that nothing outside reaches it but through the guard."""
    configmaps = {dig(o, "metadata", "name"): o for o in objects if o.get("kind") == "ConfigMap"}
    for pod in pod_templates(objects):
        guard = next((c for c in pod.containers(init=False) if c.get("name") == "guard"), None)
        if guard is None:
            continue
        vol = next((v for v in pod.spec.get("volumes") or [] if v.get("name") == "guard-config"), {})
        cfg = dig(configmaps.get(dig(vol, "configMap", "name")) or {}, "data", "haproxy.cfg")
        if not cfg:
            yield Violation("guard_forwards_to_the_engine", pod.name,
                            f"the guard's ConfigMap {dig(vol, 'configMap', 'name')!r} is not rendered with a haproxy.cfg")
            continue
        bind, server = GUARD_BIND.search(cfg), GUARD_SERVER.search(cfg)
        _, numbers = container_port_names(pod)
        if not bind or int(bind.group(1)) not in numbers:
            yield Violation("guard_forwards_to_the_engine", pod.name,
                            f"the guard listens on {bind and bind.group(1)}, not a declared container port")
        engines = [c for c in pod.containers(init=False) if flag_value(container_argv(c), PORT_FLAGS)]
        for c in engines:
            port = flag_value(container_argv(c), PORT_FLAGS)
            if not on_loopback(c):
                yield Violation("guard_forwards_to_the_engine", pod.name,
                                f"container {c.get('name')} binds {flag_value(container_argv(c), ('--host',))} "
                                "beside the guard: clients reach it without the guard")
            if not server or server.group(1) not in LOOPBACK or server.group(2) != port:
                yield Violation("guard_forwards_to_the_engine", pod.name,
                                f"the guard forwards to {server and server.group(1)}:{server and server.group(2)} "
                                f"but container {c.get('name')} listens on --port={port}")
