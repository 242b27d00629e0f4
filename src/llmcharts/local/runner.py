"""LocalRunner: a rendered release run on this machine the way a cluster runs it.

LocalRunner: a rendered release run on this machine the way a cluster runs it: each Deployment's replicas (and
each InferenceService's predictor pod, built as KServe builds it) as local pods with their own addresses, Services
resolved to ready pods, EndpointSlices served to pods that watch them, rollouts and deletions as the Deployment
controller and the kubelet do them."""
from __future__ import annotations

import json
import random
import string
import threading
import time
from pathlib import Path

from ..objects import dig, selector_matches
from ..pods import kserve_predictor_pod, kserve_runtime_for, predictor_service
from . import rootfs
from .images import RunnerError
from .kubeapi import KubeAPI
from .models import stage_tiny_model_for
from .net import AddressPool, port_taken
from .pod import LocalPod


def _suffix(n: int = 5) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=n))


class LocalRunner:
    """Start the pods of rendered objects locally. Use as a context manager (kills everything on exit)."""

    WORKLOADS = ("Deployment", "StatefulSet")

    def __init__(self, objects: list[dict], workdir: Path, secrets: dict | None = None,
                 namespace: str = "default", extra_env: dict | None = None, tiny_models: bool = False,
                 enforce_read_only: bool | None = None):
        self.objects = objects
        # Containers with readOnlyRootFilesystem run with a read-only root (rootfs.py) where this machine allows it;
        # read_only_unavailable says why not otherwise. True: required (a RunnerError where it cannot be).
        self.read_only_unavailable = rootfs.unavailable() if enforce_read_only is not False else "not asked for"
        if enforce_read_only and self.read_only_unavailable:
            raise RunnerError(f"read-only root filesystems cannot be enforced: {self.read_only_unavailable}")
        self.enforce_read_only = not self.read_only_unavailable
        self.workdir = Path(workdir)
        self.secrets = secrets or {}
        self.namespace = namespace
        self.extra_env = extra_env or {}
        self.tiny_models = tiny_models  # stand the tiny test model in for every model a vLLM container loads
        self.pods: dict[str, LocalPod] = {}
        self.services = {dig(o, "metadata", "name"): o for o in objects if o.get("kind") == "Service"}
        self.addresses = AddressPool()
        self.api: KubeAPI | None = None
        self._workloads: dict[str, tuple[dict, dict]] = {}   # workload name -> (owner, pod template)
        self._lock = threading.RLock()

    # -- cluster services: ConfigMaps, tokens, the API server, Services

    def configmap_data(self, name: str, optional: bool = False) -> dict:
        for o in self.objects:
            if o.get("kind") == "ConfigMap" and dig(o, "metadata", "name") == name:
                return dict(o.get("data") or {})
        if optional:
            return {}
        raise RunnerError(f"ConfigMap {name!r} is not part of the release")

    def kube_env(self) -> dict:
        """What the kubelet puts in every container (KUBERNETES_SERVICE_HOST/PORT), pointing at the local API
        server; LLMCHARTS_KUBE_API tells clients of the project that it speaks plain http."""
        if self.api is None:
            return {}
        host, port = self.api.url.removeprefix("http://").rsplit(":", 1)
        return {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port, "LLMCHARTS_KUBE_API": self.api.url}

    def issue_token(self, pod: LocalPod) -> str:
        return self.api.issue(self.namespace, pod.spec.get("serviceAccountName") or "default")

    def _service_pods(self, svc: dict, ready_only: bool = True) -> list[LocalPod]:
        sel = dig(svc, "spec", "selector", default={}) or {}
        with self._lock:
            pods = list(self.pods.values())
        return [p for p in pods if sel and selector_matches(sel, p.labels) and not p.deleted
                and (p.ready or not ready_only)]

    def _target(self, svc: dict, port: int | None):
        sport = next((p for p in dig(svc, "spec", "ports", default=[]) if port in (None, p.get("port"))), None)
        if sport is None:
            raise RunnerError(f"Service {dig(svc, 'metadata', 'name')} has no port {port}")
        return sport, sport.get("targetPort", sport.get("port"))

    def service_url(self, name: str, port: int | None = None) -> str:
        """http://<pod IP>:<targetPort> of a ready pod behind the Service (a running one if none is ready yet)."""
        svc = self.services.get(name)
        if svc is None:
            raise RunnerError(f"no rendered Service {name!r} (have {sorted(self.services)})")
        _, target = self._target(svc, port)
        for pod in self._service_pods(svc) or self._service_pods(svc, ready_only=False):
            for c in pod.containers:
                try:
                    return f"http://{pod.ip}:{c.port_number(target)}"
                except RunnerError:
                    continue
        raise RunnerError(f"Service {name}: no started pod serves targetPort {target!r}")

    def map_service_urls(self, value: str) -> str:
        import re

        def repl(m):
            name, port = m.group(2), int(m.group(4))
            if name in self.services:
                try:
                    return self.service_url(name, port).replace("http://", m.group(1))
                except RunnerError:
                    return m.group(0)
            return m.group(0)
        return re.sub(r"(https?://)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\.[a-z0-9.-]+)?:(\d+)", repl, value)

    def endpoint_slices(self) -> list[dict]:
        """One EndpointSlice per Service, as the EndpointSlice controller writes it: every pod the selector
        matches, ready when its pod is ready and not terminating, serving while it is ready, terminating once it is
        being deleted."""
        out = []
        for name, svc in list(self.services.items()):
            pods = self._service_pods(svc, ready_only=False)
            ports = []
            for sp in dig(svc, "spec", "ports", default=[]) or []:
                target = sp.get("targetPort", sp.get("port"))
                number = next((n for p in pods for c in p.containers for n in [_try_port(c, target)] if n), None)
                if number is None and isinstance(target, int):
                    number = target
                if number is not None:
                    ports.append({"name": sp.get("name", ""), "port": number, "protocol": sp.get("protocol", "TCP")})
            endpoints = [{"addresses": [p.ip], "targetRef": {"kind": "Pod", "name": p.name, "namespace": self.namespace},
                          "conditions": {"ready": p.ready, "serving": all(c.ready for c in p.containers),
                                         "terminating": p.deleting}} for p in pods]
            out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                        "metadata": {"name": f"{name}-local", "namespace": self.namespace,
                                     "labels": {"kubernetes.io/service-name": name,
                                                "endpointslice.kubernetes.io/managed-by": "llmcharts-local"}},
                        "ports": ports, "endpoints": endpoints})
        return out

    # -- pods

    def _kserve_templates(self, names: list[str] | None) -> list[tuple[str, dict, dict]]:
        """(name, owner, pod template) for each InferenceService, built as KServe's controller builds it in
        RawDeployment mode (pods.kserve_predictor_pod): the predictor merged into its runtime's kserve-container,
        {{.Name}} replaced by the InferenceService name, the storage initializer's volume at /mnt/models (the runner
        stages the model there); and its <name>-predictor Service (pods.predictor_service)."""
        out = []
        for isvc in (o for o in self.objects if o.get("kind") == "InferenceService"):
            name = dig(isvc, "metadata", "name")
            if names is not None and name not in names:
                continue
            pod = kserve_predictor_pod(isvc, kserve_runtime_for(isvc, self.objects))
            spec = json.loads(json.dumps(pod.spec).replace("{{.Name}}", name))
            main = next(c for c in spec["containers"] if c.get("name") == "kserve-container")
            if dig(isvc, "spec", "predictor", "model", "storageUri"):
                if not self.tiny_models:
                    raise RunnerError(f"InferenceService {name}: KServe's storage initializer is not emulated; "
                                      "run with tiny_models to stage a model at /mnt/models")
                spec.setdefault("volumes", []).append({"name": "kserve-provision-location", "emptyDir": {}})
                main.setdefault("volumeMounts", []).append({"name": "kserve-provision-location", "mountPath": "/mnt/models"})
            self.services[f"{name}-predictor"] = predictor_service(isvc, pod)
            replicas = int(dig(isvc, "spec", "predictor", "minReplicas", default=1) or 1)
            out.append((f"{name}-predictor", {"kind": "Deployment", "metadata": {"name": f"{name}-predictor"},
                                              "spec": {"replicas": replicas}},
                        {"metadata": {"labels": pod.labels}, "spec": spec}))
        return out

    def replicas_of(self, owner: dict) -> int:
        """spec.replicas, or an autoscaler's minimum when the workload leaves replicas to it."""
        if "replicas" in (owner.get("spec") or {}):
            return int(owner["spec"]["replicas"])
        for o in self.objects:
            if o.get("kind") in ("HorizontalPodAutoscaler", "ScaledObject") and \
                    dig(o, "spec", "scaleTargetRef", "name") == dig(owner, "metadata", "name"):
                return int(dig(o, "spec", "minReplicas", default=dig(o, "spec", "minReplicaCount", default=1)) or 1)
        return 1

    def create_pod(self, workload: str) -> LocalPod:
        owner, template = self._workloads[workload]
        pod = LocalPod(self, owner, f"{workload}-{_suffix(10)[:9]}-{_suffix()}", template, self.addresses.take(),
                       lo=self.addresses.take())
        for c in pod.containers:
            for port in (p["containerPort"] for p in c.spec.get("ports") or []):
                if port_taken(pod.ip, port):
                    raise RunnerError(f"{pod.name}/{c.name}: port {port} on {pod.ip} is taken (a server on this "
                                      "machine listens on it on all addresses)")
        with self._lock:
            self.pods[pod.name] = pod
        if self.tiny_models:
            for c in pod.containers:
                stage_tiny_model_for(c)
        pod.start()
        return pod

    def start(self, names: list[str] | None = None, order: list[str] | None = None):
        """Create every workload's replicas; backends first (pods that serve others before gateways), so that a
        Service URL in a gateway's arguments finds a pod."""
        if self.api is None:
            self.api = KubeAPI(self, self.addresses.api)
        workloads = [o for o in self.objects if o.get("kind") in self.WORKLOADS
                     and (names is None or dig(o, "metadata", "name") in names)]
        rank = {n: i for i, n in enumerate(order or [])}
        workloads.sort(key=lambda o: (dig(o, "spec", "template", "metadata", "labels", "app.kubernetes.io/component") == "gateway",
                                      rank.get(dig(o, "metadata", "name"), len(rank))))
        entries = self._kserve_templates(names) + [(dig(o, "metadata", "name"), o, dig(o, "spec", "template")) for o in workloads]
        for name, owner, template in entries:
            self._workloads[name] = (owner, template)
            for _ in range(self.replicas_of(owner)):
                self.create_pod(name)
        return self

    def add(self, objects: list[dict]) -> list[str]:
        """More objects in the same namespace (e.g. a second release); returns their workloads' names, which start()
        can then be given."""
        self.objects = self.objects + list(objects)
        self.services.update({dig(o, "metadata", "name"): o for o in objects if o.get("kind") == "Service"})
        return [dig(o, "metadata", "name") for o in objects if o.get("kind") in self.WORKLOADS]

    def pods_of(self, workload: str, live: bool = True) -> list[LocalPod]:
        with self._lock:
            return [p for p in self.pods.values() if p.name.startswith(workload + "-") and p.owner is
                    self._workloads[workload][0] and not (live and (p.deleting or p.deleted))]

    def wait_ready(self, timeout: float = 600, names: list[str] | None = None, crash_loops: int = 2,
                   progress=None, every: float = 10.0) -> float:
        """Until every live pod (of these workloads) is ready. Fails at once on a pod that cannot start, or a
        container that restarted crash_loops times without becoming ready. progress(line), when given, hears each
        pod's phase (LocalPod.phase) and the time waited whenever a phase changes, and every `every` seconds."""
        t0 = time.monotonic()
        last, said = "", 0.0
        while time.monotonic() - t0 < timeout:
            with self._lock:
                pods = [p for p in self.pods.values() if not (p.deleting or p.deleted)
                        and (names is None or any(p.name.startswith(n + "-") for n in names))]
            if progress:
                now = "; ".join(f"{p.name}: {p.phase}" for p in pods)
                if now != last or time.monotonic() - said >= every:
                    progress(f"{time.monotonic() - t0:5.0f}s  {now}")
                    last, said = now, time.monotonic()
            if pods and all(p.ready for p in pods):
                return time.monotonic() - t0
            failed = [f for p in pods for f in p.failures()]
            looping = [f"{p.name}/{c.name}: restarted {c.restarts} times ({c.state})" for p in pods
                       for c in p.init_containers + p.containers
                       if c.restarts >= crash_loops and not c.ready and c.state != "completed"]
            if failed or looping:
                raise RunnerError("; ".join(failed + looping) + "\n" + self.tail_logs())
            time.sleep(0.25)
        raise RunnerError(f"not ready after {timeout}s\n" + self.tail_logs())

    def delete_pod(self, pod: LocalPod, replace: bool = True) -> dict:
        """Delete a pod gracefully; its ReplicaSet creates the replacement at once (replace)."""
        workload = next((w for w, (owner, _) in self._workloads.items() if owner is pod.owner), None)
        if replace and workload:
            threading.Thread(target=self.create_pod, args=(workload,), daemon=True).start()
        return pod.delete()

    def rollout_restart(self, workload: str, timeout: float = 900) -> list[dict]:
        """`kubectl rollout restart`: replace the pods one by one as the Deployment's strategy says (maxSurge: a new
        pod first, ready before an old one goes; else the old one first). Returns, per replaced pod, how long the new
        one took to be ready and the old one's deletion timings."""
        owner, _ = self._workloads[workload]
        surge = int(dig(owner, "spec", "strategy", "rollingUpdate", "maxSurge", default=1) or 0) > 0
        steps = []
        for old in self.pods_of(workload):
            t0 = time.monotonic()
            if surge:
                new = self.create_pod(workload)
                self._wait_pod(new, timeout)
                ready = time.monotonic() - t0
                steps.append({"old": old.name, "new": new.name, "new_ready_s": ready, "deleted": old.delete()})
            else:
                result = {}
                stopping = threading.Thread(target=lambda o=old: result.update(old.delete()), daemon=True)
                stopping.start()
                new = self.create_pod(workload)
                self._wait_pod(new, timeout)
                ready = time.monotonic() - t0
                stopping.join()
                steps.append({"old": old.name, "new": new.name, "new_ready_s": ready, "deleted": result})
        return steps

    def _wait_pod(self, pod: LocalPod, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pod.ready:
                return
            if pod.failures():
                raise RunnerError("; ".join(pod.failures()))
            time.sleep(0.25)
        raise RunnerError(f"{pod.name} not ready after {timeout}s\n" + self.tail_logs())

    def tail_logs(self, lines: int = 30) -> str:
        out = []
        with self._lock:
            pods = list(self.pods.values())
        for p in pods:
            for c in p.containers:
                if c.log.exists():
                    text = c.log.read_text(errors="replace").splitlines()[-lines:]
                    out.append(f"--- {c.log.name} (restarts {c.restarts}, {c.state})\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self, names: list[str] | None = None) -> dict:
        """Delete the pods (of these workloads) gracefully, all at once, as `helm uninstall` does: timings by pod."""
        with self._lock:
            pods = [p for p in self.pods.values() if not p.deleted
                    and (names is None or any(p.name.startswith(n + "-") for n in names))]
        results = {}
        threads = [threading.Thread(target=lambda p=p: results.__setitem__(p.name, p.delete()), daemon=True) for p in pods]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def kill_all(self):
        with self._lock:
            pods = list(self.pods.values())
        for p in pods:
            p.kill()
        if self.api:
            self.api.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill_all()


def _try_port(container, target):
    try:
        return container.port_number(target)
    except RunnerError:
        return None
