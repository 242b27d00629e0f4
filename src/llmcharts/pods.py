"""The pods and Services a release becomes, built as Kubernetes, KServe and KubeRay controllers do.

The pods and Services a release's objects become, built as their controllers build them: workload pod templates,
KServe's predictor pods and <name>-predictor Services, and KubeRay's cluster specs."""
from __future__ import annotations

from typing import Iterator

from .objects import PodTemplate, dig

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


def pod_templates(objects: list[dict]) -> list[PodTemplate]:
    """Every pod the release runs: bare Pods, the templates of workloads and of custom resources that embed pod
    templates (POD_TEMPLATE_PATHS), and the pods KServe builds from InferenceServices (kserve_pod_templates)."""
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


# ----------------------------------------------------------------- KServe predictor pods and Services

# KServe builds a predictor pod from an InferenceService and the (Cluster)ServingRuntime it resolves to
# (pkg/controller/v1beta1/inferenceservice/utils, v0.15-v0.20): spec.predictor.model is strategic-merge-patched onto
# the runtime container named kserve-container, except that args are concatenated (the runtime's first), and the
# predictor's pod fields are merged over the runtime's. The invariants check that merged pod. A runtime that no
# rendered InferenceService uses is checked alone, as a partial pod.
KSERVE_RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
KSERVE_CONTAINER = "kserve-container"
# The label KServe puts on every pod of an InferenceService (constants.InferenceServicePodLabelKey).
KSERVE_ISVC_LABEL = "serving.kserve.io/inferenceservice"
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


def runtime_container(runtime: dict | None) -> dict:
    """The runtime's kserve-container (the one KServe merges the model into), or {}."""
    for c in dig(runtime, "spec", "containers", default=[]) or []:
        if c.get("name") == KSERVE_CONTAINER:
            return c
    return {}


def kserve_predictor_pod(isvc: dict, runtime: dict | None) -> PodTemplate:
    """The predictor pod of an InferenceService merged with its runtime (None: the predictor alone), labelled with
    the InferenceService's name as KServe labels it."""
    pred = dig(isvc, "spec", "predictor", default={}) or {}
    rspec = (runtime or {}).get("spec") or {}
    spec = strategic_merge({k: v for k, v in rspec.items() if k in _RUNTIME_POD_FIELDS},
                           {k: v for k, v in pred.items() if k not in _PREDICTOR_NOT_POD})
    containers = []
    if "model" in pred:
        base = runtime_container(runtime)
        model = {k: v for k, v in (pred.get("model") or {}).items() if k not in _MODEL_NOT_CONTAINER}
        main = strategic_merge(base, model)
        main["args"] = list(base.get("args") or []) + list(model.get("args") or [])
        main["name"] = main.get("name") or KSERVE_CONTAINER
        containers.append(main)
        containers += [c for c in rspec.get("containers") or [] if c.get("name") != KSERVE_CONTAINER]
    containers += list(pred.get("containers") or [])
    spec["containers"] = containers
    labels = {**(rspec.get("labels") or {}), **(dig(isvc, "metadata", "labels", default={}) or {}),
              **(pred.get("labels") or {}), KSERVE_ISVC_LABEL: dig(isvc, "metadata", "name")}
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


def predictor_service(isvc: dict, pod: PodTemplate) -> dict:
    """The <name>-predictor Service KServe creates for an InferenceService (RawDeployment/Standard), as its service
    reconciler builds it (pkg/controller/v1beta1/inferenceservice/reconcilers/service, createDefaultSvc, v0.15-v0.20):
    port 80 named after the first container's first port and aimed at it (8080 when it declares none), that
    container's other ports as they are. It selects the pods by KSERVE_ISVC_LABEL, which every KServe release puts
    on them (the `app` label KServe selects by is spelled differently across releases)."""
    name = dig(isvc, "metadata", "name")
    first = (pod.spec.get("containers") or [{}])[0]
    ports = [{"name": f"{name}-predictor", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    if first.get("ports"):
        p0, rest = first["ports"][0], first["ports"][1:]
        ports = [{"name": p0.get("name", ""), "port": 80, "targetPort": p0["containerPort"],
                  "protocol": p0.get("protocol", "TCP")}]
        ports += [{"name": p.get("name", ""), "port": p["containerPort"], "targetPort": p["containerPort"],
                   "protocol": p.get("protocol", "TCP")} for p in rest]
    meta = {"name": f"{name}-predictor"}
    if dig(isvc, "metadata", "namespace"):
        meta["namespace"] = isvc["metadata"]["namespace"]
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"selector": {KSERVE_ISVC_LABEL: name}, "ports": ports}}


def predictor_services(objects: list[dict]) -> list[dict]:
    """The <name>-predictor Service of every rendered InferenceService."""
    return [predictor_service(isvc, kserve_predictor_pod(isvc, kserve_runtime_for(isvc, objects)))
            for isvc in objects if isvc.get("kind") == "InferenceService"]


# ----------------------------------------------------------------- KubeRay clusters

def ray_cluster_specs(objects: list[dict]) -> Iterator[tuple[dict, str, dict]]:
    """(owner, path, RayClusterSpec) of every RayCluster, and of every RayService's rayClusterConfig."""
    for o in objects:
        if o.get("kind") == "RayCluster":
            yield o, ".spec", o.get("spec") or {}
        elif o.get("kind") == "RayService":
            yield o, ".spec.rayClusterConfig", dig(o, "spec", "rayClusterConfig", default={}) or {}
