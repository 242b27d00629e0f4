"""Pod addresses on this machine: each local pod gets its own loopback address.

Pod addresses on this machine: every local pod gets its own loopback address (127.x.y.z, all routed to `lo` on
Linux), as every pod gets its own IP in a cluster, and what a container reads as "this pod" is mapped to it: the
wildcard to the pod's IP, 127.0.0.1 and localhost to a second address that stands for the pod's own `lo` (the runner
gives it to no other pod, no Service and no probe). What binds only to the pod's loopback is therefore off the
network, as in a cluster; what binds to the wildcard is reached from inside the pod at the pod's IP, not at
127.0.0.1 (a cluster would answer both; the charts' containers talk to a sibling at the address it binds)."""
from __future__ import annotations

import random
import re
import socket
import threading

# A host written as the pod itself: the wildcard, loopback or localhost, followed by a (non-zero) port. Port 0 is
# left alone (HAProxy's "server 0.0.0.0:0" means "the address set per request").
_HOST_PORT = re.compile(r"(?<![\w.-])(0\.0\.0\.0|127\.0\.0\.1|localhost)(?=:[1-9])")
# The same as a whole value: --host=0.0.0.0, or an argument or env value that is only the address.
_BARE = re.compile(r"^(--[\w-]+=)?(0\.0\.0\.0|127\.0\.0\.1|localhost)$")


def map_pod_address(value: str, ip: str, bare: bool = True, lo: str | None = None) -> str:
    """The pod's own addresses in one argument, env value (bare=True) or file (bare=False): the wildcard -> the pod's
    IP; loopback and localhost -> the pod's loopback address `lo` (its IP when none is given). A pod's loopback is
    its own: other pods reach it only at its IP, so a server bound to loopback is not on the network."""
    def one(addr: str) -> str:
        return ip if addr == "0.0.0.0" else (lo or ip)

    value = _HOST_PORT.sub(lambda m: one(m.group(1)), value)
    if bare:
        m = _BARE.match(value)
        if m:
            value = (m.group(1) or "") + one(m.group(2))
    return value


def map_mount_paths(value: str, mounts: dict) -> str:
    """Mount paths in one value -> their host folders (mount path -> host folder), in one pass, longest mount path
    first: a host folder put in is never mapped again (a host folder under /tmp, with a volume at /tmp)."""
    if not mounts:
        return value
    alt = "|".join(re.escape(m) for m in sorted(mounts, key=len, reverse=True))
    return re.sub(rf"(^|[=:,\s])({alt})(?=/|$|[,\s:])", lambda m: m.group(1) + str(mounts[m.group(2)]), value)


class AddressPool:
    """Loopback addresses for one runner: 127.<a>.<b>.1 for its API server, then two per pod (its IP, and its own
    loopback, which only its containers are given). A random /24 keeps runners of parallel test sessions apart."""

    def __init__(self):
        self.prefix = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}"
        self._next = 2
        self._lock = threading.Lock()
        self.api = f"{self.prefix}.1"

    def take(self) -> str:
        with self._lock:
            if self._next > 254:
                raise RuntimeError("more than 253 local pod addresses")
            ip = f"{self.prefix}.{self._next}"
            self._next += 1
            return ip


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def port_taken(ip: str, port: int) -> bool:
    """Would a server fail to bind ip:port (something listens there, or on the wildcard address)?"""
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError:
            return True
    return False
