"""The fake GPU fleet of tests/kind/fleet.yaml: nodes, scheduling twins of GPU pods, an offline fit.

The fake GPU fleet of tests/kind/fleet.yaml: its Node objects (kwok), the scheduling twins of a render's GPU pods,
and an offline first-fit placement that says whether the twins fit the fleet (the cluster test asks the scheduler)."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from llmcharts.objects import PodTemplate, dig, gpu_resources, quantity
from llmcharts.pods import pod_templates

FAKE_LABEL = "llm-charts.io/fake-node"   # on every fake node; twins select it
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
# The GPU taint of a pool: key = its resource (nvidia.com/gpu), effect NoSchedule, as scripts/kind-gpu-mock.sh sets it.
GPU_TAINT_VALUE = "present"


def nodes(fleet: dict) -> list[dict]:
    """The Node objects of the fleet: capacity in status (kwok keeps what a node is created with), GFD labels, the
    GPU taint of the pool and the kwok taint; kwok manages nodes annotated kwok.x-k8s.io/node=fake."""
    out = []
    for pool in fleet["pools"]:
        for i in range(pool["nodes"]):
            name = f"fake-{pool['name']}-{i}"
            capacity = {"cpu": str(pool["cpu"]), "memory": str(pool["memory"]), "pods": "110",
                        pool["resource"]: str(pool["gpus"])}
            labels = {**pool["labels"], FAKE_LABEL: pool["name"], "kubernetes.io/hostname": name, "type": "kwok",
                      "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
            if pool["resource"] == "nvidia.com/gpu":
                labels |= {"nvidia.com/gpu.count": str(pool["gpus"]), "nvidia.com/gpu.present": "true"}
            out.append({"apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": name, "labels": labels,
                                     "annotations": {"kwok.x-k8s.io/node": "fake",
                                                     "node.alpha.kubernetes.io/ttl": "0"}},
                        "spec": {"taints": [{"key": pool["resource"], "value": GPU_TAINT_VALUE, "effect": "NoSchedule"},
                                            {"key": fleet["kwokTaint"], "value": "fake", "effect": "NoSchedule"}]},
                        "status": {"capacity": capacity, "allocatable": dict(capacity)}})
    return out


@dataclass
class Twin:
    """A pod the scheduler sees as the rendered one (same selectors, tolerations, affinity, spread and requests),
    placed only on fake nodes: it tolerates the kwok taint and selects FAKE_LABEL. Nothing else is changed or kept:
    volumes, service accounts and priority classes name objects that only the real install creates."""
    name: str
    source: str
    pod: dict


def replicas(tpl: PodTemplate, objects: list[dict]) -> int:
    """How many pods the template becomes: replicas of a Deployment/StatefulSet (an HPA's minReplicas wins), a Ray
    worker group's replicas (the head is one), an InferenceService predictor's minReplicas."""
    owner, kind = tpl.owner, tpl.owner.get("kind")
    if kind in ("Deployment", "StatefulSet"):
        hpa = [o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"
               and dig(o, "spec", "scaleTargetRef", "name") == owner["metadata"]["name"]]
        return int(dig(hpa[0], "spec", "minReplicas", default=1) if hpa else dig(owner, "spec", "replicas", default=1))
    m = re.search(r"workerGroupSpecs\.(\d+)\.template", tpl.where)
    if m:
        base = dig(owner, "spec", "rayClusterConfig") if kind == "RayService" else owner.get("spec")
        return int(base["workerGroupSpecs"][int(m.group(1))].get("replicas", 1))
    if kind == "InferenceService":
        return int(dig(owner, "spec", "predictor", "minReplicas", default=1) or 1)
    return 1


def twins(objects: list[dict], kwok_taint: str, prefix: str) -> list[Twin]:
    """The scheduling twins of every GPU pod of a render (pods without GPUs are not the fleet's business)."""
    out = []
    for t_i, tpl in enumerate(pod_templates(objects)):
        if tpl.partial or not any(gpu_resources(c) for c in tpl.containers()):
            continue
        spec = tpl.spec
        keep = {k: copy.deepcopy(spec[k]) for k in ("affinity", "topologySpreadConstraints") if spec.get(k)}
        twin_spec = {
            **keep,
            "nodeSelector": {**(spec.get("nodeSelector") or {}), "type": "kwok"},
            "tolerations": list(spec.get("tolerations") or []) + [
                {"key": kwok_taint, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": c["name"], "image": PAUSE_IMAGE,
                            "resources": copy.deepcopy(c.get("resources") or {})} for c in spec.get("containers") or []],
            "initContainers": [{"name": c["name"], "image": PAUSE_IMAGE,
                                "resources": copy.deepcopy(c.get("resources") or {})}
                               for c in spec.get("initContainers") or []],
            "automountServiceAccountToken": False,
            "restartPolicy": "Always",
        }
        labels = {k: v for k, v in tpl.labels.items() if "{{" not in str(v)}
        labels["llm-charts.io/twin-of"] = prefix
        for r in range(replicas(tpl, objects)):
            name = f"{prefix}-{t_i}-{r}"[:63].strip("-")
            out.append(Twin(name, tpl.name, {"apiVersion": "v1", "kind": "Pod",
                                             "metadata": {"name": name, "labels": labels}, "spec": twin_spec}))
    return out


def _requests(pod: dict) -> dict[str, float]:
    """The pod's effective requests: the sum over containers, or the largest init container if that is more."""
    def of(c, name):
        res = c.get("resources") or {}
        return quantity(dig(res, "requests", name) or dig(res, "limits", name)) or 0.0
    names = {k for c in pod["spec"]["containers"] + pod["spec"]["initContainers"]
             for s in ("requests", "limits") for k in ((c.get("resources") or {}).get(s) or {})}
    return {n: max(sum(of(c, n) for c in pod["spec"]["containers"]),
                   max([of(c, n) for c in pod["spec"]["initContainers"]] or [0.0])) for n in names}


def _tolerated(taint: dict, tolerations: list[dict]) -> bool:
    return any((t.get("key") in (None, "", taint["key"]) and (t.get("operator") == "Exists" or
                t.get("value") == taint.get("value")) and t.get("effect") in (None, "", taint["effect"]))
               for t in tolerations)


def place(twins_: list[Twin], fleet_nodes: list[dict]) -> tuple[dict[str, str], list[str]]:
    """First-fit placement: (twin -> node, problems for twins that fit nowhere). Checks what the scheduler's
    NodeResourcesFit, NodeAffinity (nodeSelector) and TaintToleration plugins check; not spread or pod affinity."""
    free = {n["metadata"]["name"]: {k: quantity(v) for k, v in n["status"]["allocatable"].items()} for n in fleet_nodes}
    placed, problems = {}, []
    for tw in twins_:
        spec, want = tw.pod["spec"], _requests(tw.pod)
        reasons = []
        for n in fleet_nodes:
            name, labels = n["metadata"]["name"], n["metadata"]["labels"]
            if any(labels.get(k) != v for k, v in spec["nodeSelector"].items()):
                reasons.append(f"{name}: node selector")
                continue
            if not all(_tolerated(t, spec["tolerations"]) for t in n["spec"]["taints"]):
                reasons.append(f"{name}: untolerated taint")
                continue
            short = [k for k, v in want.items() if v > (free[name].get(k) or 0.0)]
            if short:
                reasons.append(f"{name}: not enough {', '.join(short)}")
                continue
            for k, v in want.items():
                free[name][k] -= v
            placed[tw.name] = name
            break
        else:
            problems.append(f"{tw.source} ({tw.name}) fits no fake node: {'; '.join(reasons) or 'no nodes'}")
    return placed, problems
