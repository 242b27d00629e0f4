"""The cluster through the kubernetes Python client: pods, nodes, events and logs, failure diagnostics, scheduling
decisions, and a local port-forward to a Service's pod (the API server's WebSocket port-forward)."""
from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward


@dataclass
class Kube:
    """The typed APIs for one kubeconfig (one cluster)."""
    api: k8s.ApiClient

    @classmethod
    def from_kubeconfig(cls, path: str | None) -> "Kube":
        return cls(k8s_config.new_client_from_config(config_file=path))

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api)

    @property
    def custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api)

    def plain(self, obj) -> dict:
        """An API object as the JSON dict kubectl would print (camelCase keys)."""
        return self.api.sanitize_for_serialization(obj)

    # ------------------------------------------------------------------ reads

    def pods(self, namespace: str, selector: str = "") -> list[dict]:
        return [self.plain(p) for p in self.core.list_namespaced_pod(namespace, label_selector=selector).items]

    def pod(self, namespace: str, name: str) -> dict:
        return self.plain(self.core.read_namespaced_pod(name, namespace))

    def node(self, name: str) -> dict:
        return self.plain(self.core.read_node(name))

    def nodes(self, selector: str = "") -> list[dict]:
        return [self.plain(n) for n in self.core.list_node(label_selector=selector).items]

    def events(self, namespace: str, involved: str | None = None) -> list[dict]:
        sel = f"involvedObject.name={involved}" if involved else None
        items = [self.plain(e) for e in self.core.list_namespaced_event(namespace, field_selector=sel).items]
        return sorted(items, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    def logs(self, namespace: str, pod: str, container: str, tail: int = 200, previous: bool = False) -> str:
        try:
            return self.core.read_namespaced_pod_log(pod, namespace, container=container, tail_lines=tail,
                                                     previous=previous)
        except ApiException as e:
            return f"(no logs: {e.status} {e.reason})"

    # ------------------------------------------------------------------ diagnostics

    def diagnostics(self, namespace: str) -> str:
        """Recent events of the namespace, then for every pod that is not Ready or has restarted: its conditions,
        container states, and the logs of each container (the previous run's too, after a restart)."""
        out = [f"===== events in {namespace}"]
        for e in self.events(namespace)[-40:]:
            obj = e.get("involvedObject") or {}
            out.append(f"{e.get('type')} {e.get('reason')} {obj.get('kind')}/{obj.get('name')}: {e.get('message')}")
        for pod in self.pods(namespace):
            name, status = pod["metadata"]["name"], pod.get("status") or {}
            ready = {c["type"]: c["status"] for c in status.get("conditions") or []}.get("Ready")
            states = status.get("containerStatuses") or []
            restarts = sum(c.get("restartCount", 0) for c in states)
            if ready == "True" and not restarts:
                continue
            out.append(f"===== pod {namespace}/{name} phase={status.get('phase')} ready={ready} restarts={restarts}")
            out += [f"condition {c['type']}={c['status']} {c.get('reason') or ''} {c.get('message') or ''}"
                    for c in status.get("conditions") or []]
            for cs in (status.get("initContainerStatuses") or []) + states:
                out.append(f"container {cs['name']}: {cs.get('state')}")
                out.append(self.logs(namespace, name, cs["name"]))
                if cs.get("restartCount"):
                    out.append(f"--- {cs['name']}, previous run:\n" + self.logs(namespace, name, cs["name"], 100, True))
        return "\n".join(out)[-30000:]

    # ------------------------------------------------------------------ scheduling

    def scheduling_decision(self, namespace: str, name: str, timeout: int = 120) -> dict:
        """The pod once the scheduler has decided: PodScheduled True, or False with reason Unschedulable."""
        deadline = time.monotonic() + timeout
        while True:
            pod = self.pod(namespace, name)
            cond = scheduled_condition(pod)
            if cond and (cond["status"] == "True" or cond.get("reason") == "Unschedulable"):
                return pod
            if time.monotonic() > deadline:
                raise AssertionError(f"{namespace}/{name}: no scheduling decision in {timeout}s: {pod.get('status')}")
            time.sleep(2)

    def failed_scheduling_events(self, namespace: str, pod: str) -> list[str]:
        return [e.get("message") or "" for e in self.events(namespace, pod) if e.get("reason") == "FailedScheduling"]

    # ------------------------------------------------------------------ a Service's endpoint

    def service_pod(self, namespace: str, service: str, port: int) -> tuple[str, int]:
        """A Ready pod behind the Service and the container port its `port` targets."""
        svc = self.plain(self.core.read_namespaced_service(service, namespace))
        sp = next(p for p in svc["spec"]["ports"] if p["port"] == port)
        sel = ",".join(f"{k}={v}" for k, v in (svc["spec"].get("selector") or {}).items())
        for pod in self.pods(namespace, sel):
            if {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}.get("Ready") != "True":
                continue
            target = sp.get("targetPort", port)
            if isinstance(target, str):  # a named port
                target = next(cp["containerPort"] for c in pod["spec"]["containers"] for cp in c.get("ports") or []
                              if cp.get("name") == target)
            return pod["metadata"]["name"], int(target)
        raise AssertionError(f"Service {namespace}/{service} has no Ready pod behind it")


def scheduled_condition(pod: dict) -> dict | None:
    return next((c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == "PodScheduled"), None)


class PortForward:
    """A local listener on 127.0.0.1 whose every connection is relayed to a pod port through the API server (the
    client's WebSocket port-forward); a context manager giving http://127.0.0.1:<port>."""

    def __init__(self, kube: Kube, namespace: str, pod: str, port: int):
        self.kube, self.namespace, self.pod, self.port = kube, namespace, pod, port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()

    def __enter__(self) -> str:
        threading.Thread(target=self._accept, daemon=True).start()
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __exit__(self, *exc):
        self.stopped.set()
        self.listener.close()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                local, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(local,), daemon=True).start()

    def _relay(self, local: socket.socket):
        pf = portforward(self.kube.core.connect_get_namespaced_pod_portforward, self.pod, self.namespace,
                         ports=str(self.port))
        remote = pf.socket(self.port)
        try:
            while not self.stopped.is_set():
                readable, _, _ = select.select([local, remote], [], [], 1.0)
                for src, dst in ((local, remote), (remote, local)):
                    if src in readable:
                        data = src.recv(65536)
                        if not data:
                            return
                        dst.sendall(data)
        except OSError:
            return
        finally:
            local.close()
            pf.close()
