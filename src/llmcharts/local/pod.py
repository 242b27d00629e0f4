"""One local pod run as the kubelet runs it: processes, probes, restarts, graceful deletion.

One local pod, run the way the kubelet runs it: its containers are processes with the rendered command, env
and volumes on the pod's own address; probes gate readiness; a container that exits or fails its startup or
liveness probe is restarted per restartPolicy with the kubelet's back-off; deletion runs preStop, the image's stop
signal and SIGKILL at the grace period. Init containers run first, one after another, each to completion."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..objects import dig
from .images import RunnerError, image_for, local_argv
from .probes import Probe
from . import rootfs
from .net import map_mount_paths, map_pod_address

# Kubelet restart back-off: 10 s doubling to 5 min; the first restart is immediate, and a container that ran for
# 10 minutes starts over (pkg/kubelet/kubelet.go: backOffPeriod, MaxContainerBackOff).
BACKOFF_INITIAL, BACKOFF_MAX, BACKOFF_RESET = 10.0, 300.0, 600.0


@dataclass
class LocalContainer:
    pod: "LocalPod"
    spec: dict
    log: Path
    proc: subprocess.Popen | None = None
    started: bool = False      # startup probe passed
    ready: bool = False
    restarts: int = 0
    state: str = "waiting"
    failed: str = ""           # a permanent failure (the pod cannot start this container)
    events: list = field(default_factory=list)
    env_overrides: dict = field(default_factory=dict)  # set by the runner (e.g. HF_HOME for a staged model)

    @property
    def name(self) -> str:
        return self.spec.get("name", "")

    @property
    def ports(self) -> dict:
        return {p["name"]: p["containerPort"] for p in self.spec.get("ports") or [] if p.get("name")}

    def port_number(self, port) -> int:
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        if port not in self.ports:
            raise RunnerError(f"{self.pod.name}/{self.name}: port {port!r} is not a declared container port")
        return self.ports[port]

    def event(self, what: str, detail=None) -> None:
        self.events.append((time.monotonic(), what, detail))

    # -- what the process sees

    def map_arg(self, v: str) -> str:
        return self.pod.map_value(self.spec, v)

    def argv(self) -> list:
        return [self.map_arg(a) for a in local_argv(self.spec)]

    def env(self) -> dict:
        runner = self.pod.runner
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOSTNAME": self.pod.name,
               **runner.kube_env(), **runner.extra_env}
        env.update(rootfs.tmpdir_env(self.pod, self.spec))
        for e in self.spec.get("env") or []:
            env[e["name"]] = self.map_arg(self.pod.env_value(self.spec, e))
        return {**env, **self.env_overrides}

    # -- the process

    def spawn(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        argv, env = rootfs.argv_for(self.pod, self.spec, self.argv()), self.env()
        with open(self.log, "ab") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} start #{self.restarts}: {' '.join(argv)}\n".encode())
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = self.ready = False
        self.state = "running"
        self.event("started", self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig: int) -> None:
        """A signal goes to the main process, as the runtime sends it to PID 1; SIGKILL takes the whole process
        group, as the runtime kills the container's cgroup."""
        if not self.proc:
            return
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, sig)
            elif self.alive():
                self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def pre_stop_seconds(self) -> float:
        pre = dig(self.spec, "lifecycle", "preStop", default={}) or {}
        if pre.get("exec") or pre.get("httpGet"):
            raise RunnerError(f"{self.pod.name}/{self.name}: only the sleep preStop action runs locally")
        return float(dig(pre, "sleep", "seconds", default=0))

    def terminate(self, grace: float, started_at: float | None = None) -> dict:
        """Kill the container gracefully: preStop, the image's stop signal, SIGKILL at the grace period."""
        t0 = started_at if started_at is not None else time.monotonic()
        self.ready = False
        pre = self.pre_stop_seconds()
        if pre:
            time.sleep(max(0.0, min(pre, grace - (time.monotonic() - t0))))
        t_sig = time.monotonic()
        self.send(image_for(self.spec).stop_signal)
        killed = False
        try:
            if self.proc:
                self.proc.wait(timeout=max(grace - (time.monotonic() - t0), 0))
        except subprocess.TimeoutExpired:
            killed = True
        self.send(signal.SIGKILL)  # the container is gone once its main process exits: so are its children
        if self.proc:
            self.proc.wait()
        return {"preStop": pre, "sigterm_at": t_sig - t0, "exited_after": time.monotonic() - t0, "sigkill": killed}

    # -- the kubelet's loop

    def _spawned(self) -> bool:
        try:
            self.spawn()
            return True
        except RunnerError as e:
            self.failed, self.state = str(e), "failed"
            return False

    def _back_off(self, step: int, code) -> int:
        """Wait the kubelet's restart back-off (none before the first restart); the next step."""
        delay = 0.0 if step == 0 else min(BACKOFF_INITIAL * 2 ** (step - 1), BACKOFF_MAX)
        self.restarts += 1
        self.state = f"back-off {delay:.0f}s (exit {code})"
        self.event("restarting", delay)
        end = time.monotonic() + delay
        while time.monotonic() < end and not self.pod.deleting:
            time.sleep(0.1)
        return step + 1

    def run(self) -> None:
        backoff_step = 0
        while not self.pod.deleting and self._spawned():
            t_start = time.monotonic()
            self._probe_loop()
            if self.pod.deleting:
                return
            if self.alive():  # a probe failed: killed as the kubelet kills it, preStop and grace included
                self.terminate(self.pod.grace)
            code = self.proc.returncode
            self.event("exited", code)
            policy = self.pod.spec.get("restartPolicy", "Always")
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                self.state = f"terminated ({code})"
                return
            if time.monotonic() - t_start >= BACKOFF_RESET:
                backoff_step = 0
            backoff_step = self._back_off(backoff_step, code)

    def run_to_completion(self) -> bool:
        """An init container: run until it exits 0, restarted with the kubelet's back-off after a failure (unless
        restartPolicy is Never, which fails the pod). True when it completed."""
        backoff_step = 0
        while not self.pod.deleting and self._spawned():
            code = self.proc.wait()
            self.event("exited", code)
            if code == 0:
                self.state = "completed"
                return True
            if self.pod.spec.get("restartPolicy", "Always") == "Never":
                self.failed, self.state = f"init container exited {code}", "failed"
                return False
            backoff_step = self._back_off(backoff_step, code)
        return False

    def _probe_loop(self) -> None:
        """Startup probe, then readiness and liveness, until the process exits, a probe fails it, or the pod is
        deleted."""
        probes = {k: Probe(k, self.spec[k], self) for k in ("startupProbe", "readinessProbe", "livenessProbe")
                  if self.spec.get(k)}
        t_start = time.monotonic()
        due = {k: t_start + float(p.get("initialDelaySeconds", 0)) for k, p in probes.items()}
        fails = {k: 0 for k in probes}
        succ = 0
        self.started = "startupProbe" not in probes
        while not self.pod.deleting and self.alive():
            now = time.monotonic()
            if not self.started:
                p = probes["startupProbe"]
                if now >= due[p.kind]:
                    due[p.kind] = now + float(p.get("periodSeconds", 10))
                    if p.check():
                        self.started = True
                        self.event("startup probe passed")
                        for k in ("readinessProbe", "livenessProbe"):
                            if k in probes:
                                due[k] = max(now, t_start + float(probes[k].get("initialDelaySeconds", 0)))
                    else:
                        fails[p.kind] += 1
                        if fails[p.kind] >= int(p.get("failureThreshold", 3)):
                            self.event("startup probe failed", fails[p.kind])
                            return
            else:
                if "readinessProbe" not in probes:
                    self.ready = True
                for kind in ("readinessProbe", "livenessProbe"):
                    p = probes.get(kind)
                    if p is None or now < due[kind]:
                        continue
                    due[kind] = now + float(p.get("periodSeconds", 10))
                    ok = p.check()
                    fails[kind] = 0 if ok else fails[kind] + 1
                    if kind == "readinessProbe":
                        succ = succ + 1 if ok else 0
                        if ok and succ >= int(p.get("successThreshold", 1)):
                            self.ready = True
                        elif fails[kind] >= int(p.get("failureThreshold", 3)):
                            self.ready = False
                    elif fails[kind] >= int(p.get("failureThreshold", 3)):
                        self.event("liveness probe failed", fails[kind])
                        self.ready = False
                        return
            time.sleep(0.1)
        self.ready = False


class LocalPod:
    def __init__(self, runner, owner: dict, name: str, template: dict, ip: str, lo: str | None = None):
        self.runner = runner
        self.owner = owner
        self.name = name
        self.ip = ip
        self.lo = lo or ip  # the pod's own loopback (net.map_pod_address)
        self.labels = dig(template, "metadata", "labels", default={}) or {}
        self.spec = template.get("spec") or {}
        self.dir = runner.workdir / "pods" / name
        self.deleting = False
        self.deleted = False
        self.grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
        self.volumes = {v["name"]: self._volume(v) for v in self.spec.get("volumes") or []}
        self.containers = [LocalContainer(self, c, runner.workdir / "logs" / f"{name}-{c.get('name')}.log")
                           for c in self.spec.get("containers") or []]
        self.init_containers = [LocalContainer(self, c, runner.workdir / "logs" / f"{name}-{c.get('name')}.log")
                                for c in self.spec.get("initContainers") or []]
        self.started_at = time.monotonic()
        self._threads: list[threading.Thread] = []
        self._links: set[Path] = set()

    # -- volumes and values

    def _volume(self, vol: dict) -> Path:
        r = self.runner
        if "persistentVolumeClaim" in vol:
            d = r.workdir / "pvc" / vol["persistentVolumeClaim"]["claimName"]
        elif "hostPath" in vol:
            d = r.workdir / "hostpath" / vol["hostPath"]["path"].strip("/")
        else:
            d = self.dir / "volumes" / vol["name"]
        d.mkdir(parents=True, exist_ok=True)
        if "configMap" in vol:
            self._write_items(d, r.configmap_data(vol["configMap"]["name"], vol["configMap"].get("optional")),
                              vol["configMap"].get("items"))
        elif "secret" in vol:
            self._write_items(d, r.secrets.get(vol["secret"]["secretName"], {}), vol["secret"].get("items"))
        elif "projected" in vol:
            for src in vol["projected"].get("sources") or []:
                if "serviceAccountToken" in src:
                    (d / src["serviceAccountToken"]["path"]).write_text(r.issue_token(self))
                elif "configMap" in src:
                    # kube-root-ca.crt exists in every namespace of a cluster; the local API server needs no CA.
                    optional = src["configMap"].get("optional") or src["configMap"]["name"] == "kube-root-ca.crt"
                    self._write_items(d, r.configmap_data(src["configMap"]["name"], optional), src["configMap"].get("items"))
                elif "secret" in src:
                    self._write_items(d, r.secrets.get(src["secret"]["name"], {}), src["secret"].get("items"))
                elif "downwardAPI" in src:
                    for item in src["downwardAPI"].get("items") or []:
                        (d / item["path"]).write_text(self.field_value(dig(item, "fieldRef", "fieldPath")))
        return d

    def _write_items(self, d: Path, data: dict, items: list | None) -> None:
        for key, rel in ([(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]):
            if key in data:
                (d / rel).parent.mkdir(parents=True, exist_ok=True)
                (d / rel).write_text(map_pod_address(str(data[key]), self.ip, bare=False, lo=self.lo))

    def mounts(self, container: dict) -> list[tuple[str, Path]]:
        out = [((m["mountPath"].rstrip("/") or "/"), self.volumes[m["name"]] / m.get("subPath", ""))
               for m in container.get("volumeMounts") or []]
        return sorted(out, key=lambda x: -len(x[0]))

    def map_value(self, container: dict, v: str) -> str:
        """A value as this process must see it: mount paths -> their host folders, the pod's own address -> its
        IP, Service URLs -> a ready pod behind the Service."""
        v = map_mount_paths(v, dict(self.mounts(container)))
        return self.runner.map_service_urls(map_pod_address(v, self.ip, lo=self.lo))

    def field_value(self, path: str | None) -> str:
        return {"metadata.name": self.name, "metadata.namespace": self.runner.namespace, "status.podIP": self.ip,
                "spec.nodeName": "localhost", "spec.serviceAccountName": self.spec.get("serviceAccountName", "default")
                }.get(path or "", "")

    def env_value(self, c: dict, e: dict) -> str:
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
        path = dig(e, "valueFrom", "fieldRef", "fieldPath")
        if path:
            return self.field_value(path)
        raise RunnerError(f"{self.name}/{c.get('name')}: env {e['name']}: unsupported valueFrom {e['valueFrom']}")

    # -- lifecycle

    def start(self) -> None:
        """Init containers one after another, each to completion; then the containers, as the kubelet starts them."""
        def run():
            for ic in self.init_containers:
                if not ic.run_to_completion():
                    return
            for c in self.containers:
                t = threading.Thread(target=c.run, daemon=True, name=f"kubelet-{self.name}-{c.name}")
                t.start()
                self._threads.append(t)
        threading.Thread(target=run, daemon=True, name=f"kubelet-{self.name}").start()

    @property
    def phase(self) -> str:
        """Where the pod is in its start: fetching (an init container, e.g. the model prefetch, runs), loading (the
        startup probe has not passed: the engine loads the model), probes (started, not yet ready), ready."""
        done = sum(1 for ic in self.init_containers if ic.state == "completed")
        if done < len(self.init_containers):
            ic = self.init_containers[done]
            return f"fetching ({ic.name} {done + 1}/{len(self.init_containers)}: {ic.state})"
        if self.ready:
            return "ready"
        if any(not c.started for c in self.containers):
            return "loading (startup probe)"
        return "probes (readiness)"

    @property
    def ready(self) -> bool:
        return not self.deleting and all(c.ready for c in self.containers)

    def failures(self) -> list[str]:
        return [f"{self.name}/{c.name}: {c.failed}" for c in self.init_containers + self.containers if c.failed]

    def delete(self) -> dict:
        """Graceful deletion: the pod leaves its Services' endpoints at once (terminating), every container runs its
        preStop and gets its stop signal; SIGKILL when the grace period is over. Returns the timings."""
        t0 = time.monotonic()
        self.deleting = True
        for c in self.containers:
            c.ready = False
        results = {}
        for ic in self.init_containers:  # a running init container is stopped at once
            ic.send(signal.SIGKILL)

        def one(c):
            results[c.name] = c.terminate(self.grace, started_at=t0) if c.proc else {"sigkill": False}

        threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in self.containers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.deleted = True
        rootfs.unlink(self)
        main = next(iter(results.values()), {})
        return {"preStop": main.get("preStop", 0), "sigterm_at": main.get("sigterm_at", 0),
                "exited_after": time.monotonic() - t0, "sigkill": any(r.get("sigkill") for r in results.values()),
                "grace": self.grace, "containers": results}

    def kill(self) -> None:
        self.deleting = True
        for c in self.init_containers + self.containers:
            c.ready = False
            c.send(signal.SIGKILL)
        rootfs.unlink(self)
