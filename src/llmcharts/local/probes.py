"""A container probe as the kubelet runs it: httpGet, tcpSocket or exec, with its timeout.

A container probe as the kubelet runs it: an HTTP GET on the pod's address (2xx/3xx passes), a TCP connect, or
a command run in the container's environment, each within timeoutSeconds."""
from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass

from .images import RunnerError, local_argv


@dataclass
class Probe:
    kind: str
    spec: dict
    container: "LocalContainer"  # noqa: F821 (pod.py)

    def get(self, key: str, default):
        return self.spec.get(key, default)

    def check(self) -> bool:
        timeout = float(self.get("timeoutSeconds", 1))
        c = self.container
        if "httpGet" in self.spec:
            port = c.port_number(self.spec["httpGet"].get("port"))
            url = f"http://{c.pod.ip}:{port}{self.spec['httpGet'].get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return 200 <= r.status < 400
            except (urllib.error.URLError, OSError, ValueError):
                return False
        if "tcpSocket" in self.spec:
            try:
                with socket.create_connection((c.pod.ip, c.port_number(self.spec["tcpSocket"].get("port"))),
                                              timeout=timeout):
                    return True
            except OSError:
                return False
        if "exec" in self.spec:
            argv = [c.map_arg(str(a)) for a in local_argv(c.spec, list(self.spec["exec"].get("command") or []))]
            try:
                return subprocess.run(argv, env=c.env(), capture_output=True, timeout=timeout).returncode == 0
            except subprocess.TimeoutExpired:
                return False
        raise RunnerError(f"{c.pod.name}/{c.name}: {self.kind}: no httpGet, tcpSocket or exec")
