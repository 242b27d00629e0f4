"""Invariants across a release's objects: everything one object points at resolves.

Invariants across a release's objects: Services, monitors, scalers, PDBs and NetworkPolicies aim at rendered
pods and ports; valid names and labels; KServe runtimes serve their models; KubeRay groups match their pods; no
object rendered twice; every gateway backend resolves; port names mean one thing per pod."""
from __future__ import annotations

import json
import re
from typing import Iterator

from ..objects import container_port_names, dig, gpu_count, ref, selector_matches
from ..pods import (KSERVE_CONTAINER, KSERVE_RUNTIME_KINDS, kserve_runtime_for, pod_templates, predictor_services,
                    ray_cluster_specs, runtime_container)
from .registry import Violation, invariant

STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                   "app.kubernetes.io/part-of", "helm.sh/chart")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@invariant
def kserve_runtimes_serve_their_models(objects):
    """A (Cluster)ServingRuntime has a container named kserve-container (KServe merges the model into it), and an
    InferenceService whose runtime is rendered asks for a model format (and protocol) that runtime lists."""
    for rt in (o for o in objects if o.get("kind") in KSERVE_RUNTIME_KINDS):
        if not runtime_container(rt):
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
    for o in objects:
        if o.get("kind") == "ConfigMap" and GATEWAY_CONFIG_KEY in (o.get("data") or {}):
            yield o, json.loads(o["data"][GATEWAY_CONFIG_KEY]).get("backends") or []


def _release_services(objects: list[dict]) -> dict:
    """(name, namespace) -> Service: the rendered ones, and the <name>-predictor Service KServe creates for each
    rendered InferenceService."""
    services = {(dig(s, "metadata", "name"), dig(s, "metadata", "namespace", default="")): s
                for s in objects if s.get("kind") == "Service"}
    for svc in predictor_services(objects):
        services.setdefault((dig(svc, "metadata", "name"), dig(svc, "metadata", "namespace", default="")), svc)
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
