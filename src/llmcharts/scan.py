"""Rendered releases as checkov scans them: custom resources' pods wrapped as Deployments, one checkov run for all.

checkov's Kubernetes framework checks plain workloads only, so the pods inside InferenceService, ServingRuntime,
LLMInferenceService, RayService, RayCluster and LeaderWorkerSet would go unscanned. Each pod the harness builds from
them (pods.pod_templates: KServe's predictor pods as KServe merges them, the Ray groups, ...) is scanned as a
stand-in Deployment named after it. One checkov process scans every case (its start-up dominates), offline
(--skip-download); its findings are then held against a short list of justified exceptions (SKIPS).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .objects import dig
from .pods import pod_templates

PLAIN = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
CHECKOV = Path(__file__).resolve().parents[2] / ".tools" / "checkov-venv" / "bin" / "checkov"

# (check id, a regex searched in "<resource> <images>": "" for every resource) -> the one-line reason it is waived.
RUNTIME_ALONE = r"^Deployment\.\S+\.(cluster)?servingruntime-"   # a runtime no rendered InferenceService uses
SKIPS = {
    ("CKV_K8S_11", ""): "no CPU limit: CFS throttling of the tokenizer, scheduler and proxy threads stalls generation "
                        "(requests are set; memory has a limit)",
    ("CKV_K8S_35", ""): "engines read API keys and HF tokens from env only (VLLM_API_KEY, API_KEY, HF_TOKEN), always "
                        "through secretKeyRef",
    ("CKV_K8S_43", ""): "no digest: none of the images' digests could be taken from a published source here (each "
                        "chart README's 'Unpinned images'); image.digest pins one",
    ("CKV_K8S_15", ""): "imagePullPolicy IfNotPresent: engine images are 10-20 GB, re-pulled on every start with "
                        "Always; tags are immutable releases",
    ("CKV2_K8S_6", ""): "NetworkPolicy is off in a standalone chart (its peers are the user's) and on under llm-stack; "
                        "helm test pods accept no traffic",
    ("CKV_K8S_8", r"-test-\S+ .*curlimages/curl"): "helm test pods run once to completion: no liveness probe",
    ("CKV_K8S_9", r"-test-\S+ .*curlimages/curl"): "helm test pods run once to completion: no readiness probe",
    ("CKV_K8S_9", r"-gateway .*vllm-router"): "the gateway's registrar sidecar (loopback, behind the proxy) is "
                                              "liveness-probed only; the router's readiness gates the pod",
    ("CKV_K8S_40", r"ray-llm|rayproject/"): "Ray keeps the image's user (uid 1000): its home holds Ray's and vLLM's "
                                            "files",
    ("CKV_K8S_22", r"ray-llm|rayproject/|text-generation-inference"):
        "read-only root not yet proven for TGI and Ray (only vLLM, the guard, the gateway and the test pods run "
        "read-only here)",
    ("CKV_K8S_40", r"text-generation-inference"): "TGI's UID not yet moved to >= 10000 (not run here)",
    ("CKV_K8S_22", r"^Job\.\S+-model-cache-fill-"): "model-cache's fill Job (new with issue 16): its read-only root "
                                                     "not yet run here",
    ("CKV_K8S_40", r"^Job\.\S+-model-cache-fill-"): "model-cache's fill Job (new with issue 16): its UID not yet "
                                                     "moved to >= 10000",
    ("CKV_K8S_14", r"inferenceservice-\S+-predictor $"): "KServe's huggingfaceserver: the image is KServe's runtime's, "
                                                         "not in this render",
    ("CKV_K8S_38", r"headgroupspec\S* .*ray"): "the Ray head's autoscaler calls the Kubernetes API "
                                            "(ray.autoscaler.enabled mounts the token on the head only)",
    ("CKV_K8S_10", RUNTIME_ALONE): "a runtime alone: KServe merges each InferenceService's resources into it",
    ("CKV_K8S_12", RUNTIME_ALONE): "a runtime alone: KServe merges each InferenceService's resources into it",
    ("CKV_K8S_13", RUNTIME_ALONE): "a runtime alone: KServe merges each InferenceService's resources into it",
    ("CKV_K8S_29", RUNTIME_ALONE): "a runtime alone: a ServingRuntime has no pod securityContext (its containers "
                                   "carry the user, non-root and seccomp)",
    ("CKV_K8S_38", RUNTIME_ALONE): "a runtime alone: automountServiceAccountToken is each InferenceService's",
}


@dataclass
class Finding:
    case: str
    resource: str
    check: str
    name: str
    images: list = field(default_factory=list)

    def waiver(self) -> str | None:
        target = f"{self.resource} {' '.join(self.images)}"
        for (check, where), reason in SKIPS.items():
            if check == self.check and re.search(where, target):
                return reason
        return None


def scan_objects(objects: list[dict], namespace: str = "llm-test") -> list[dict]:
    """What checkov is given for one render: the plain objects as they are, and a stand-in Deployment for each pod a
    custom resource (or KServe's controller) makes."""
    out = list(objects)
    for pod in pod_templates(objects):
        if pod.owner.get("kind") in PLAIN:
            continue
        name = re.sub(r"[^a-z0-9-]+", "-", f"{pod.owner.get('kind')}-{pod.name.split('/', 1)[1]}".lower()).strip("-")
        out.append({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name[:63].strip("-"), "namespace": namespace,
                                 "annotations": {"llm-charts.io/stands-in-for": pod.name}},
                    "spec": {"selector": {"matchLabels": pod.labels or {"x": "y"}},
                             "template": {"metadata": {"labels": pod.labels or {"x": "y"},
                                                       "annotations": pod.annotations},
                                          "spec": pod.spec}}})
    return out


def images_of(obj: dict) -> list[str]:
    spec = dig(obj, "spec", "template", "spec") or dig(obj, "spec", "jobTemplate", "spec", "template", "spec") or \
        (obj.get("spec") if obj.get("kind") == "Pod" else None) or {}
    return [c.get("image", "") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]


def run(cases: dict[str, list[dict]], workdir: Path, timeout: int = 600) -> tuple[list[Finding], dict]:
    """Scan every case (id -> objects) in one checkov run; returns the failed checks and, per case, the resources
    checkov scanned ("Kind.namespace.name")."""
    workdir.mkdir(parents=True, exist_ok=True)
    files, objs_by_file = {}, {}
    for i, (case, objects) in enumerate(cases.items()):
        f = workdir / f"case{i:03d}.yaml"
        docs = scan_objects(objects)
        f.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        files[f.name] = case
        objs_by_file[f.name] = {f"{o.get('kind')}.{dig(o, 'metadata', 'namespace') or 'default'}."
                                f"{dig(o, 'metadata', 'name')}": o for o in docs}
    r = subprocess.run([str(CHECKOV), "-d", str(workdir), "--framework", "kubernetes", "--skip-download", "--quiet",
                        "--compact", "-o", "json"], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    report = json.loads(r.stdout or "{}")
    report = report[0] if isinstance(report, list) else report
    results = report.get("results") or {}
    findings = []
    for res in (results.get("failed_checks") or []):
        fname = Path(res["file_path"]).name
        resource = res["resource"]
        obj = objs_by_file.get(fname, {}).get(resource, {})
        findings.append(Finding(files.get(fname, fname), resource, res["check_id"], res.get("check_name", ""),
                                images_of(obj)))
    scanned: dict[str, set] = {case: set() for case in cases}
    for res in (results.get("failed_checks") or []) + (results.get("passed_checks") or []):
        scanned.setdefault(files.get(Path(res["file_path"]).name, ""), set()).add(res["resource"])
    return findings, scanned
