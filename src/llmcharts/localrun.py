"""Run rendered workloads as local processes, the way the kubelet would run their containers.

No Kubernetes here, but the process a chart starts can run: the LocalRunner takes rendered objects (Deployments,
KServe ServingRuntimes + InferenceServices, the umbrella's gateway Deployment) and, for one replica of each pod
(an InferenceService's predictor pod is built as KServe's controller builds it, see _kserve_pods):

- command/args: the container's own, with the image's entrypoint mapped to this machine (IMAGES: `vllm serve`
  becomes the vLLM CPU venv's OpenAI server module, `vllm-router` the router venv's binary);
- env: the container's env; `valueFrom.secretKeyRef` resolved from the Secrets given to the runner (a missing
  one fails like the kubelet's CreateContainerConfigError), `fieldRef` from the pod;
- volumes: each volume gets a host folder (PVCs by claim name, so pods share them like a real claim; emptyDir and
  memory emptyDir per pod). A process cannot see a folder at another path, so mountPath prefixes in args and env
  values are mapped to those folders;
- ports: each containerPort gets a free loopback port (shared by the pod's containers, like a pod's network
  namespace). That mapping is the only change made to the arguments besides volume paths: the values of port
  flags (--port, --prometheus-port, ...), localhost:<containerPort> inside the pod, and Service URLs
  (http://svc[.ns[.svc...]]:port) that point at pods the runner started;
- probes: startup, then readiness and liveness, with the rendered paths, ports, periods and thresholds (httpGet
  and tcpSocket). A container that fails its startup or liveness probe is killed and restarted;
- stop: the pod is marked not ready, the preStop hook runs (sleep action), then SIGTERM, and SIGKILL once
  terminationGracePeriodSeconds is over.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import engine_env
from .invariants import dig


class RunnerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ images

def _vllm_command(command: list, args: list) -> list:
    """`vllm serve MODEL --flags` (the vllm/vllm-openai entrypoint) -> the OpenAI server module of the CPU venv.
    The module ignores a positional model, so the positional becomes --model."""
    argv = list(command or ["vllm", "serve"]) + list(args or [])
    if argv[:2] == ["vllm", "serve"]:
        rest = argv[2:]
        if rest and not rest[0].startswith("-"):
            rest = ["--model", rest[0]] + rest[1:]
    elif len(argv) >= 3 and argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]:
        rest = argv[3:]
    else:
        raise RunnerError(f"don't know how to run {argv[:3]} from a vLLM image")
    return [str(engine_env.engine_python()), "-m", "vllm.entrypoints.openai.api_server", *rest]


def _router_command(command: list, args: list) -> list:
    argv = list(command or ["vllm-router"]) + list(args or [])
    if argv[0] != "vllm-router":
        raise RunnerError(f"don't know how to run {argv[:2]} from the router image")
    return [str(engine_env.router_venv() / "bin" / "vllm-router"), *argv[1:]]


def _shell_command(command: list, args: list) -> list:
    """Small utility images (curl, busybox) run their shell scripts with this machine's sh and curl."""
    argv = list(command or []) + list(args or [])
    if not argv or argv[0] not in ("/bin/sh", "sh", "/bin/bash", "bash", "curl"):
        raise RunnerError(f"only shell/curl commands run locally from a utility image, not {argv[:2]}")
    return argv


# image repository pattern -> function(command, args) -> local argv
IMAGES: list[tuple[re.Pattern, Callable]] = [
    (re.compile(r"(^|/)vllm/vllm-openai(-cpu)?:"), _vllm_command),
    (re.compile(r"(^|/)(llm-charts/)?vllm-router:"), _router_command),
    (re.compile(r"(^|/)(curlimages/curl|busybox|alpine):"), _shell_command),
]


def local_argv(container: dict) -> list:
    image = container.get("image", "")
    for pattern, fn in IMAGES:
        if pattern.search(image):
            return fn(container.get("command"), container.get("args"))
    raise RunnerError(f"container {container.get('name')}: no local mapping for image {image}")


# ------------------------------------------------------------------ pods

@dataclass
class Probe:
    kind: str
    spec: dict
    port: int

    @property
    def period(self) -> float:
        return float(self.spec.get("periodSeconds", 10))

    def check(self) -> bool:
        timeout = float(self.spec.get("timeoutSeconds", 1))
        if "httpGet" in self.spec:
            url = f"http://127.0.0.1:{self.port}{self.spec['httpGet'].get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return 200 <= r.status < 400
            except (urllib.error.URLError, OSError, ValueError):
                return False
        if "tcpSocket" in self.spec:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=timeout):
                    return True
            except OSError:
                return False
        raise RunnerError(f"{self.kind}: only httpGet and tcpSocket probes run locally")


@dataclass
class LocalContainer:
    pod: "LocalPod"
    spec: dict
    argv: list
    env: dict
    ports: dict               # containerPort number -> local port
    names: dict               # port name -> containerPort number
    log: Path
    proc: subprocess.Popen | None = None
    started: bool = False     # startup probe passed
    ready: bool = False
    restarts: int = 0
    failed: str = ""
    events: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.get("name", "")

    def local_port(self, port) -> int:
        num = self.names.get(port, port) if isinstance(port, str) else port
        if num not in self.ports:
            raise RunnerError(f"{self.pod.name}/{self.name}: port {port!r} is not a declared container port")
        return self.ports[num]

    def probe(self, kind: str) -> Probe | None:
        spec = self.spec.get(kind)
        if not spec:
            return None
        port = dig(spec, "httpGet", "port", default=dig(spec, "tcpSocket", "port"))
        return Probe(kind, spec, self.local_port(port))

    def spawn(self):
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = self.ready = False
        self.events.append((time.monotonic(), "started", self.proc.pid))

    def kill(self, sig=signal.SIGKILL):
        """SIGTERM goes to the main process only, as the container runtime sends it to PID 1 (the engine then
        shuts its own workers down); SIGKILL takes the whole process group, as the runtime kills the cgroup."""
        if not self.proc:
            return
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, sig)
            elif self.proc.poll() is None:
                self.proc.send_signal(sig)
        except ProcessLookupError:
            pass


class LocalPod:
    def __init__(self, runner: "LocalRunner", owner: dict, template: dict):
        self.runner = runner
        self.owner = owner
        self.name = dig(owner, "metadata", "name")
        self.labels = dig(template, "metadata", "labels", default={}) or {}
        self.spec = template.get("spec") or {}
        self.dir = runner.workdir / "pods" / self.name
        self.volumes = {v["name"]: self._volume_dir(v) for v in self.spec.get("volumes") or []}
        self.terminating = False
        # Containers of a pod share one network namespace: a containerPort is one local port for all of them.
        self.ports = {p["containerPort"]: free_port() for c in self.spec.get("containers") or [] for p in c.get("ports") or []}
        self.containers = [self._container(c) for c in self.spec.get("containers") or []]
        self._threads: list[threading.Thread] = []

    def _volume_dir(self, vol: dict) -> Path:
        if "persistentVolumeClaim" in vol:
            d = self.runner.workdir / "pvc" / vol["persistentVolumeClaim"]["claimName"]
        elif "hostPath" in vol:
            d = self.runner.workdir / "hostpath" / vol["hostPath"]["path"].strip("/")
        else:  # emptyDir (disk or memory), configMap/secret projections are not used by the charts' engines
            d = self.dir / "volumes" / vol["name"]
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _container(self, c: dict) -> LocalContainer:
        mounts = sorted(((m["mountPath"].rstrip("/") or "/", self.volumes[m["name"]]) for m in c.get("volumeMounts") or []),
                        key=lambda x: -len(x[0]))
        ports = {p["containerPort"]: self.ports[p["containerPort"]] for p in c.get("ports") or []}
        names = {p["name"]: p["containerPort"] for p in c.get("ports") or [] if p.get("name")}

        def map_value(v: str) -> str:
            flag, eq, value = v.partition("=") if v.startswith("-") else ("", "", v)
            for mount, host in mounts:  # a path, or the value of --flag=<path>
                if value == mount or value.startswith(mount + "/"):
                    return flag + eq + str(host) + value[len(mount):]
            v = re.sub(r"\b(127\.0\.0\.1|localhost):(\d+)\b",
                       lambda m: f"127.0.0.1:{self.ports.get(int(m.group(2)), int(m.group(2)))}", v)
            return self.runner.map_service_urls(v)

        argv = [map_value(a) for a in local_argv(c)]
        argv = _map_port_flag(argv, ports)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **self.runner.extra_env}
        for e in c.get("env") or []:
            env[e["name"]] = map_value(self._env_value(c, e))
        return LocalContainer(self, c, argv, env, ports, names, self.runner.workdir / "logs" / f"{self.name}-{c.get('name')}.log")

    def _env_value(self, c: dict, e: dict) -> str:
        if "value" in e:
            return str(e["value"])
        ref = dig(e, "valueFrom", "secretKeyRef")
        if ref:
            data = self.runner.secrets.get(ref["name"], {})
            if ref["key"] not in data:
                if ref.get("optional"):
                    return ""
                raise RunnerError(f"{self.name}/{c.get('name')}: CreateContainerConfigError: secret "
                                  f"{ref['name']!r} key {ref['key']!r} not found (env {e['name']})")
            return data[ref["key"]]
        field_path = dig(e, "valueFrom", "fieldRef", "fieldPath")
        if field_path:
            return {"metadata.name": self.name, "metadata.namespace": self.runner.namespace,
                    "status.podIP": "127.0.0.1", "spec.nodeName": "localhost"}.get(field_path, "")
        raise RunnerError(f"{self.name}/{c.get('name')}: env {e['name']}: unsupported valueFrom {e['valueFrom']}")

    # -- lifecycle

    def start(self):
        for c in self.containers:
            c.spawn()
            t = threading.Thread(target=self._supervise, args=(c,), daemon=True, name=f"probe-{self.name}-{c.name}")
            t.start()
            self._threads.append(t)

    def _supervise(self, c: LocalContainer):
        """Startup probe, then readiness and liveness, as the kubelet runs them."""
        startup, readiness, liveness = c.probe("startupProbe"), c.probe("readinessProbe"), c.probe("livenessProbe")
        while not self.terminating:
            if c.proc.poll() is not None:
                c.failed = f"exited with {c.proc.returncode}"
                c.ready = False
                return
            if not c.started:
                budget = (startup.spec.get("failureThreshold", 3) * startup.period) if startup else 0
                t0 = time.monotonic()
                time.sleep(float((startup.spec if startup else {}).get("initialDelaySeconds", 0)))
                while startup and not self.terminating:
                    if c.proc.poll() is not None:
                        break
                    if startup.check():
                        break
                    if time.monotonic() - t0 >= budget:
                        c.events.append((time.monotonic(), "startup probe failed", budget))
                        c.failed = f"startup probe {startup.spec.get('httpGet', {}).get('path')} failed for {budget:.0f}s"
                        c.kill()
                        return
                    time.sleep(startup.period)
                if c.proc.poll() is not None or self.terminating:
                    continue
                c.started = True
                c.events.append((time.monotonic(), "started (startup probe passed)", None))
            fails = {"readinessProbe": 0, "livenessProbe": 0}
            succ = 0
            next_at = {"readinessProbe": 0.0, "livenessProbe": 0.0}
            while not self.terminating and c.proc.poll() is None:
                now = time.monotonic()
                for p in (readiness, liveness):
                    if p is None or now < next_at[p.kind]:
                        continue
                    next_at[p.kind] = now + p.period
                    ok = p.check()
                    if p.kind == "readinessProbe":
                        succ = succ + 1 if ok else 0
                        fails[p.kind] = 0 if ok else fails[p.kind] + 1
                        if ok and succ >= p.spec.get("successThreshold", 1):
                            c.ready = True
                        elif fails[p.kind] >= p.spec.get("failureThreshold", 3):
                            c.ready = False
                    else:
                        fails[p.kind] = 0 if ok else fails[p.kind] + 1
                        if fails[p.kind] >= p.spec.get("failureThreshold", 3):
                            c.events.append((time.monotonic(), "liveness probe failed; restarting", None))
                            c.kill()
                            c.proc.wait()
                            c.restarts += 1
                            c.spawn()
                            break
                if readiness is None:
                    c.ready = True
                time.sleep(0.2)

    @property
    def ready(self) -> bool:
        return not self.terminating and all(c.ready for c in self.containers)

    def stop(self) -> dict:
        """Graceful termination: not ready, preStop, SIGTERM, SIGKILL at the grace period. Returns timings."""
        t0 = time.monotonic()
        self.terminating = True
        for c in self.containers:
            c.ready = False
        grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
        pre = max((float(dig(c.spec, "lifecycle", "preStop", "sleep", "seconds", default=0)) for c in self.containers), default=0)
        if any(dig(c.spec, "lifecycle", "preStop", "exec") for c in self.containers):
            raise RunnerError(f"{self.name}: exec preStop hooks do not run locally")
        time.sleep(min(pre, grace))
        t_term = time.monotonic()
        for c in self.containers:
            c.kill(signal.SIGTERM)
        killed = False
        for c in self.containers:
            left = grace - (time.monotonic() - t0)
            try:
                c.proc.wait(timeout=max(left, 0))
            except subprocess.TimeoutExpired:
                killed = True
            c.kill(signal.SIGKILL)  # the container is gone once its main process exits: so are its children
            c.proc.wait()
        return {"preStop": pre, "sigterm_at": t_term - t0, "exited_after": time.monotonic() - t0,
                "sigkill": killed, "grace": grace}


def _map_port_flag(argv: list, ports: dict) -> list:
    """Port flags (--port, -p, --prometheus-port, --metrics-port, ...) whose value is a declared containerPort
    -> the local port that containerPort got."""
    out = list(argv)
    flag = r"(--[a-z0-9-]*port|-p)"
    for i, a in enumerate(out):
        m = re.fullmatch(flag + r"=(\d+)", a)
        if m and int(m.group(2)) in ports:
            out[i] = f"{m.group(1)}={ports[int(m.group(2))]}"
        elif re.fullmatch(flag, a) and i + 1 < len(out) and out[i + 1].isdigit() and int(out[i + 1]) in ports:
            out[i + 1] = str(ports[int(out[i + 1])])
    return out


class LocalRunner:
    """Start the pods of rendered objects locally. Use as a context manager (stops everything on exit)."""

    WORKLOADS = ("Deployment", "StatefulSet")

    def __init__(self, objects: list[dict], workdir: Path, secrets: dict | None = None,
                 namespace: str = "default", extra_env: dict | None = None, tiny_models: bool = False):
        self.objects = objects
        self.workdir = Path(workdir)
        self.secrets = secrets or {}
        self.namespace = namespace
        self.extra_env = extra_env or {}
        self.tiny_models = tiny_models  # stand the tiny test model in for every model a vLLM container loads
        self.pods: dict[str, LocalPod] = {}
        self.services = {dig(o, "metadata", "name"): o for o in objects if o.get("kind") == "Service"}

    # -- services

    def _pods_for(self, svc: dict) -> list[LocalPod]:
        sel = dig(svc, "spec", "selector", default={}) or {}
        return [p for p in self.pods.values() if sel and all(p.labels.get(k) == v for k, v in sel.items())]

    def service_port(self, name: str, port: int | None = None) -> int:
        svc = self.services.get(name)
        if svc is None:
            raise RunnerError(f"no rendered Service {name!r} (have {sorted(self.services)})")
        sport = next((p for p in dig(svc, "spec", "ports", default=[]) if port in (None, p.get("port"))), None)
        if sport is None:
            raise RunnerError(f"Service {name} has no port {port}")
        target = sport.get("targetPort", sport.get("port"))
        for pod in self._pods_for(svc):
            for c in pod.containers:
                num = c.names.get(target, target) if isinstance(target, str) else target
                if num in c.ports:
                    return c.ports[num]
        raise RunnerError(f"Service {name}: no started pod serves targetPort {target!r}")

    def service_url(self, name: str, port: int | None = None) -> str:
        return f"http://127.0.0.1:{self.service_port(name, port)}"

    def map_service_urls(self, value: str) -> str:
        def repl(m):
            name, port = m.group(2), int(m.group(4))
            if name in self.services:
                try:
                    return f"{m.group(1)}127.0.0.1:{self.service_port(name, port)}"
                except RunnerError:
                    return m.group(0)
            return m.group(0)
        return re.sub(r"(https?://)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\.[a-z0-9.-]+)?:(\d+)", repl, value)

    # -- lifecycle

    def _kserve_pods(self, names: list[str] | None) -> list[tuple[dict, dict]]:
        """(owner, pod template) for each InferenceService, built as KServe's controller builds it in
        RawDeployment mode: the predictor merged into its runtime's kserve-container, {{.Name}} replaced by the
        InferenceService name, the storage initializer's volume at /mnt/models (the runner stages the model
        there), pods labelled serving.kserve.io/inferenceservice and a <name>-predictor Service on port 80."""
        from .invariants import kserve_predictor_pod, kserve_runtime_for
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
            labels = {**pod.labels, "serving.kserve.io/inferenceservice": name}
            port = (main.get("ports") or [{"containerPort": 8080}])[0]["containerPort"]
            self.services[f"{name}-predictor"] = {
                "kind": "Service", "metadata": {"name": f"{name}-predictor"},
                "spec": {"selector": {"serving.kserve.io/inferenceservice": name},
                         "ports": [{"name": "http", "port": 80, "targetPort": port}]}}
            owner = {"kind": "Deployment", "metadata": {"name": f"{name}-predictor"}}
            out.append((owner, {"metadata": {"labels": labels}, "spec": spec}))
        return out

    def start(self, names: list[str] | None = None, order: list[str] | None = None):
        """Create the pods (backends first when `order` says so, so gateway args can name their ports)."""
        workloads = [o for o in self.objects if o.get("kind") in self.WORKLOADS
                     and (names is None or dig(o, "metadata", "name") in names)]
        # Backends first, so a gateway's Service URLs map to ports that exist (pods start in this order).
        rank = {n: i for i, n in enumerate(order or [])}
        workloads.sort(key=lambda o: (dig(o, "spec", "template", "metadata", "labels", "app.kubernetes.io/component") == "gateway",
                                      rank.get(dig(o, "metadata", "name"), len(rank))))
        pods = self._kserve_pods(names) + [(o, dig(o, "spec", "template")) for o in workloads]
        for o, template in pods:
            pod = LocalPod(self, o, template)
            self.pods[pod.name] = pod
            if self.tiny_models:
                for c in pod.containers:
                    stage_tiny_model_for(c)
            pod.start()
        return self

    def wait_ready(self, timeout: float = 600, names: list[str] | None = None) -> float:
        t0 = time.monotonic()
        pods = [p for n, p in self.pods.items() if names is None or n in names]
        while time.monotonic() - t0 < timeout:
            if all(p.ready for p in pods):
                return time.monotonic() - t0
            failed = [f"{p.name}/{c.name}: {c.failed}" for p in pods for c in p.containers if c.failed]
            if failed:
                raise RunnerError("; ".join(failed) + "\n" + self.tail_logs())
            time.sleep(0.5)
        raise RunnerError(f"not ready after {timeout}s\n" + self.tail_logs())

    def tail_logs(self, lines: int = 30) -> str:
        out = []
        for p in self.pods.values():
            for c in p.containers:
                if c.log.exists():
                    text = c.log.read_text(errors="replace").splitlines()[-lines:]
                    out.append(f"--- {c.log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self, names: list[str] | None = None) -> dict:
        return {n: p.stop() for n, p in list(self.pods.items()) if names is None or n in names}

    def kill_all(self):
        for p in self.pods.values():
            p.terminating = True
            for c in p.containers:
                c.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill_all()


def stage_tiny_model_for(c: LocalContainer) -> str | None:
    """Put the tiny model where a vLLM container will look for its model: a local path (already mapped to a
    host folder) gets a model folder; a Hub id gets a Hub cache entry under the container's HF_HOME (the
    runner sets HF_HUB_OFFLINE=1, so nothing is downloaded). Returns what was staged."""
    if "vllm.entrypoints.openai.api_server" not in c.argv:
        return None
    argv = c.argv
    model = next((argv[i + 1] for i, a in enumerate(argv) if a == "--model"), None) or next(
        (a.split("=", 1)[1] for a in argv if a.startswith("--model=")), None)
    if not model:
        raise RunnerError(f"{c.pod.name}/{c.name}: no --model in {argv}")
    if model.startswith("/"):
        stage_model_dir(Path(model))
        return model
    hf_home = c.env.get("HF_HOME")
    if not hf_home:
        hf_home = str(c.pod.dir / "hf-home")
        c.env["HF_HOME"] = hf_home
    stage_model(Path(hf_home), model)
    return f"{model} (Hub cache in {hf_home})"


def stage_model(hf_home: Path, repo_id: str) -> None:
    """Write the tiny test model as a Hub cache entry for repo_id under hf_home (the engine loads it offline)."""
    hf_home.mkdir(parents=True, exist_ok=True)
    marker = hf_home / "hub" / ("models--" + repo_id.replace("/", "--")) / "refs" / "main"
    if marker.exists():
        return
    subprocess.run([str(engine_env.engine_python()), "-m", "llmcharts.tinymodel", str(hf_home), "--hub-repo", repo_id],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def stage_model_dir(path: Path) -> None:
    """Write the tiny test model as a plain model folder (for charts that load a local path)."""
    if (path / "config.json").exists():
        return
    if path.exists():
        shutil.rmtree(path)
    subprocess.run([str(engine_env.engine_python()), "-m", "llmcharts.tinymodel", str(path)],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def local_overlay(chart: Path, workdir: Path) -> Path:
    """values/local/cpu.yaml for a vLLM chart; for the umbrella, the same under its vllm key."""
    from . import paths
    overlay = paths.VALUES / "local" / "cpu.yaml"
    if chart.name != "llm-stack":
        return overlay
    import yaml
    nested = workdir / "cpu-under-vllm.yaml"
    nested.write_text(yaml.safe_dump({"vllm": yaml.safe_load(overlay.read_text())}))
    return nested


def wait_for_gateway_backends(base: str, timeout: float = 300) -> list[str]:
    """Until the gateway routes to every registered model (the registrar adds them, the router's health check
    admits them)."""
    import json
    import time
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            workers = json.loads(urllib.request.urlopen(base + "/workers", timeout=5).read()).get("workers", [])
            if workers and all(w.get("is_healthy") for w in workers):
                return [w["model_id"] for w in workers]
        except (OSError, ValueError):
            pass
        time.sleep(1)
    raise TimeoutError(f"the gateway at {base} did not admit its backends within {timeout:.0f}s")
