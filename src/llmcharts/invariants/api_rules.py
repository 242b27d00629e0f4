"""Invariants the API server, an operator or a consumer enforces but no schema carries, ported from their source.

Rules the Kubernetes API server, KubeRay, Prometheus or the gateway enforce on objects that a strict schema passes:
requests within limits, node ports in the allocator's range, scrape timeouts within intervals, image references in
the distribution grammar, KubeRay's name limits, served model names without whitespace. Each cites its source."""
from __future__ import annotations

import re

from ..objects import container_argv, dig, of_kind, quantity, ref
from ..pods import pod_templates
from .registry import Violation, invariant

# Kubernetes pkg/apis/core/validation/validation.go, ValidateResourceRequirements: for every resource with both,
# "must be less than or equal to <name> limit of <limit>" when quantity.Cmp(limit) > 0.
REQUEST_LIMIT_RESOURCES = ("cpu", "memory", "ephemeral-storage")


@invariant
def requests_within_limits(objects):
    """A container's cpu/memory/ephemeral-storage request is at most its limit (the API server refuses the pod)."""
    for pod in pod_templates(objects):
        for c in pod.containers():
            for name in REQUEST_LIMIT_RESOURCES:
                req = quantity(dig(c, "resources", "requests", name))
                lim = quantity(dig(c, "resources", "limits", name))
                if req is not None and lim is not None and req > lim:
                    yield Violation("requests_within_limits", pod.name,
                                    f"container {c.get('name')}: {name} request {dig(c, 'resources', 'requests', name)} "
                                    f"is above its limit {dig(c, 'resources', 'limits', name)}")


# Kubernetes: pkg/apis/core/validation/validation.go (ValidateService: "may not be used when `type` is 'ClusterIP'")
# and the node-port allocator (pkg/registry/core/service/portallocator: "provided port is not in the valid range"),
# whose range is the API server's --service-node-port-range, 30000-32767 by default.
NODE_PORT_RANGE = (30000, 32767)


@invariant
def service_node_ports_valid(objects):
    """A Service nodePort is in the default node-port range and only on NodePort/LoadBalancer Services."""
    for svc in of_kind(objects, "Service"):
        stype = dig(svc, "spec", "type", default="ClusterIP")
        for p in dig(svc, "spec", "ports", default=[]) or []:
            node_port = p.get("nodePort")
            if node_port is None:
                continue
            if stype not in ("NodePort", "LoadBalancer"):
                yield Violation("service_node_ports_valid", ref(svc), f"port {p.get('name')}: nodePort on a {stype} Service")
            elif not NODE_PORT_RANGE[0] <= int(node_port) <= NODE_PORT_RANGE[1]:
                yield Violation("service_node_ports_valid", ref(svc),
                                f"port {p.get('name')}: nodePort {node_port} is outside {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text) -> float | None:
    """A Prometheus duration (30s, 1m30s, 500ms) in seconds, or None."""
    s = str(text or "")
    parts = _DURATION.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


@invariant
def scrape_timeouts_within_intervals(objects):
    """A ServiceMonitor/PodMonitor endpoint's scrapeTimeout is at most its interval: Prometheus refuses the scrape
    config ("scrape timeout greater than scrape interval", prometheus config/config.go ScrapeConfig.Validate), so the
    operator's generated config would not load."""
    for mon in of_kind(objects, "ServiceMonitor", "PodMonitor"):
        key = "endpoints" if mon["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
        for i, ep in enumerate(dig(mon, "spec", key, default=[]) or []):
            interval, timeout = duration_seconds(ep.get("interval")), duration_seconds(ep.get("scrapeTimeout"))
            if interval is not None and timeout is not None and timeout > interval:
                yield Violation("scrape_timeouts_within_intervals", ref(mon),
                                f"{key}[{i}]: scrapeTimeout {ep['scrapeTimeout']} is above interval {ep['interval']}")


# github.com/distribution/reference, regexp.go (the grammar every container runtime parses image references with):
#   reference := name [ ":" tag ] [ "@" digest ];  name := [domain "/"] remote-name (<= 255 characters)
_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)(?::{_TAG})?(?:@{_DIGEST})?")


def image_reference_error(image: str) -> str | None:
    """Why an image reference does not parse (distribution/reference), or None."""
    m = IMAGE_REFERENCE.fullmatch(image or "")
    if not m:
        return "is not a valid image reference (<registry>/<repository>:<tag>[@<digest>])"
    if len(m.group("name")) > 255:
        return "has a repository name over 255 characters"
    return None


@invariant
def image_references_valid(objects):
    """Every container image (init containers included) parses as a distribution reference."""
    for pod in pod_templates(objects):
        for c in pod.containers():
            if "image" not in c:
                continue  # a KServe predictor container the runtime fills in
            err = image_reference_error(str(c.get("image")))
            if err:
                yield Violation("image_references_valid", pod.name, f"container {c.get('name')}: image {c.get('image')!r} {err}")


# KubeRay ray-operator/controllers/ray/utils/validation.go: ValidateRayServiceMetadata / ValidateRayClusterMetadata
# refuse names longer than MaxRayServiceNameLength (47 = MaxRayClusterNameLength 53 - 6: the generated cluster name
# appends 6 characters) / MaxRayClusterNameLength and names that are not DNS-1035 labels.
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
KUBERAY_NAME_LIMITS = {"RayService": 47, "RayCluster": 53}


@invariant
def kuberay_names_valid(objects):
    """RayService names are <= 47 characters, RayCluster names <= 53, both DNS-1035 labels (KubeRay refuses them)."""
    for o in objects:
        limit = KUBERAY_NAME_LIMITS.get(o.get("kind")) if str(o.get("apiVersion", "")).startswith("ray.io/") else None
        if limit is None:
            continue
        name = dig(o, "metadata", "name", default="")
        if len(name) > limit:
            yield Violation("kuberay_names_valid", ref(o), f"name is {len(name)} characters; KubeRay allows {limit}")
        if not DNS1035_LABEL.fullmatch(name):
            yield Violation("kuberay_names_valid", ref(o), f"name {name!r} is not a DNS-1035 label (a letter first)")


def _served_names(objects) -> list[tuple[str, str]]:
    """(where, name) of every model name a render serves: --served-model-name values and the gateway's backends."""
    from .release_rules import gateway_backends
    out = []
    for pod in pod_templates(objects):
        for c in pod.containers(init=False):
            argv = [str(a) for a in container_argv(c)]
            for i, a in enumerate(argv):
                if a.startswith("--served-model-name="):
                    out.append((f"{pod.name} container {c.get('name')}", a.split("=", 1)[1]))
                elif a == "--served-model-name":
                    for b in argv[i + 1:]:
                        if b.startswith("-"):
                            break
                        out.append((f"{pod.name} container {c.get('name')}", b))
    for cm, backends in gateway_backends(objects):
        for b in backends:
            for n in b.get("names") or []:
                out.append((ref(cm), n if isinstance(n, str) else n.get("name", "")))
    return out


@invariant
def served_model_names_valid(objects):
    """A served model name is non-empty and has no whitespace: clients send it as "model", and the gateway's backend
    list and vLLM's --served-model-name (a space-separated nargs list) split on it."""
    for where, name in _served_names(objects):
        if not name or re.search(r"\s", name):
            yield Violation("served_model_names_valid", where, f"served model name {name!r} is empty or has whitespace")
