"""Which pods the rendered NetworkPolicies let reach a pod: the API's ingress rules, evaluated over objects.

A small evaluator of networking.k8s.io/v1 NetworkPolicy ingress, as the API documents it (and every conforming
network plugin enforces it): a pod is isolated for ingress when a policy of its namespace selects it with Ingress
among its policyTypes (absent policyTypes: Ingress, plus Egress when the policy has egress rules); an isolated pod
admits a connection when some selecting policy has a rule whose ports include the destination port (none listed: all)
and whose peers include the source (none listed: everyone). A podSelector peer means pods of the policy's own
namespace; a namespaceSelector peer, every pod of the namespaces it selects (with a podSelector beside it: only
those pods). ipBlock peers are about cluster-external addresses and never match a pod here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .objects import PodTemplate, dig, selector_matches


@dataclass
class Peer:
    """A pod that opens a connection: its labels, namespace and that namespace's labels."""
    labels: dict
    namespace: str
    namespace_labels: dict = field(default_factory=dict)

    def ns_labels(self) -> dict:
        # Every namespace carries kubernetes.io/metadata.name (set by the API server since 1.21).
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def _selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector: empty or absent ({}) selects everything."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return True
    return selector_matches(selector, labels)


def _policy_types(policy: dict) -> list[str]:
    spec = policy.get("spec") or {}
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else []))


def _port_matches(rule_ports: list | None, port: int, names: dict, protocol: str) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        number = names.get(want) if isinstance(want, str) and not want.isdigit() else int(want)
        if number is not None and number <= port <= int(p.get("endPort") or number):
            return True
    return False


def _peer_matches(peer: dict, src: Peer, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None:
        return src.namespace == policy_ns and _selects(pod_sel, src.labels)
    return _selects(ns_sel, src.ns_labels()) and (pod_sel is None or _selects(pod_sel, src.labels))


def namespace_of(obj: dict, default: str) -> str:
    return dig(obj, "metadata", "namespace", default=None) or default


def admits(objects: list[dict], dst: PodTemplate, port: int, src: Peer, namespace: str = "default",
           protocol: str = "TCP") -> tuple[bool, str]:
    """Whether the rendered NetworkPolicies let src open port on a pod of dst (in namespace, unless dst's owner names
    its own), and why."""
    dst_ns = namespace_of(dst.owner, namespace)
    names = {p["name"]: p["containerPort"] for c in dst.containers(init=False) for p in c.get("ports") or []
             if p.get("name")}
    selecting = [o for o in objects if o.get("kind") == "NetworkPolicy" and namespace_of(o, namespace) == dst_ns
                 and "Ingress" in _policy_types(o) and _selects(dig(o, "spec", "podSelector"), dst.labels)]
    if not selecting:
        return True, "no NetworkPolicy selects the pod: it admits everyone"
    for policy in selecting:
        for rule in dig(policy, "spec", "ingress", default=[]) or []:
            peers = rule.get("from")
            if _port_matches(rule.get("ports"), port, names, protocol) and (
                    not peers or any(_peer_matches(p, src, dst_ns) for p in peers)):
                return True, f"admitted by NetworkPolicy {dig(policy, 'metadata', 'name')}"
    return False, f"refused: selected by {[dig(p, 'metadata', 'name') for p in selecting]}, no rule admits it"
