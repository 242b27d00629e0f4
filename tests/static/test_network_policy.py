"""The rendered NetworkPolicies, judged by an evaluator of the API's rules (src/llmcharts/netpol.py): in every
llm-stack render the gateway reaches each engine it routes to, the release's test pods too, and a pod without the
gateway's labels, or with them in another namespace, is refused."""
import re

import pytest

import render_cache
from llmcharts import discovery, paths
from llmcharts.netpol import Peer, admits
from llmcharts.objects import dig, selector_matches
from llmcharts.pods import pod_templates, predictor_services

from conftest import STATS

NS = "ml"
STACK_CASES = [c for c in discovery.cases() if c.chart.name == "llm-stack"]


def routes(objects):
    """(backend source, engine pod template, port number) for each gateway backend that resolves to pods of this
    release: its Service (rendered, or the <name>-predictor KServe creates) and the pods it selects."""
    import query
    services = {dig(s, "metadata", "name"): s for s in objects if s.get("kind") == "Service"}
    services.update({dig(s, "metadata", "name"): s for s in predictor_services(objects)})
    out = []
    for b in query.gateway_config(objects)[1]["backends"]:
        name, port = b.get("service"), b.get("port")
        if b.get("url"):
            m = re.match(r"https?://([^.:/]+)\.([^.:/]+)\.svc[^:]*:(\d+)", b["url"])
            if not m or m.group(2) != NS:
                continue  # another namespace's model: not this release's policies
            name, port = m.group(1), int(m.group(3))
        svc = services.get(name)
        if svc is None:
            continue
        sport = next(p for p in svc["spec"]["ports"] if p["port"] == port)
        for pod in pod_templates(objects):
            if pod.partial or not selector_matches(svc["spec"].get("selector"), pod.labels):
                continue
            target = sport.get("targetPort", port)
            if isinstance(target, str):
                target = next(p["containerPort"] for c in pod.containers(init=False) for p in c.get("ports") or []
                              if p.get("name") == target)
            out.append((b["source"], pod, int(target)))
    return out


def gateway(objects):
    return next(p for p in pod_templates(objects) if p.labels.get("app.kubernetes.io/component") == "gateway")


@pytest.mark.parametrize("case", STACK_CASES, ids=lambda c: c.id)
def test_gateway_reaches_every_engine_and_nothing_else_does(case, helms):
    objects = render_cache.render(helms["helm4"], case.chart, [case.values], release=case.release,
                                  namespace=NS).objects
    if not any(o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-gateway") for o in objects):
        pytest.skip(f"{case.id} renders no gateway")
    gw = gateway(objects)
    found = routes(objects)
    for source, pod, port in found:
        ok, why = admits(objects, pod, port, Peer(gw.labels, NS), NS)
        assert ok, f"{case.id}: gateway -> {source} ({pod.name}) port {port}: {why}"
        if not any(o["kind"] == "NetworkPolicy" for o in objects):
            continue
        intruder = Peer({"app.kubernetes.io/name": "curl", "app": "intruder"}, NS)
        ok, why = admits(objects, pod, port, intruder, NS)
        assert not ok, f"{case.id}: a pod without the gateway's labels reaches {source} ({pod.name}): {why}"
        ok, why = admits(objects, pod, port, Peer(gw.labels, "elsewhere"), NS)
        assert not ok, f"{case.id}: a gateway-labelled pod of another namespace reaches {source}: {why}"
        tests = [p for p in pod_templates(objects) if p.labels.get("app.kubernetes.io/component") == "test"]
        assert all(admits(objects, pod, port, Peer(t.labels, NS), NS)[0] for t in tests), f"{case.id}: test pods refused"
        STATS["llm-stack: gateway -> engine paths judged over NetworkPolicies"] += 1


def test_the_full_stack_covers_every_engine(helms):
    objects = render_cache.render(helms["helm4"], paths.CHARTS / "llm-stack", [paths.CHARTS / "llm-stack" / "ci" /
                                  "full-values.yaml"], release="s", namespace=NS).objects
    assert {s for s, _, _ in routes(objects)} == {"vllm", "tgi", "kserve-llm", "ray-llm"}


def test_the_evaluator_admits_what_a_policy_opens(helms):
    """The same render with the vllm engine open to its whole namespace: the intruder of that namespace now gets in
    (the evaluator is not a constant 'refused')."""
    objects = render_cache.render(helms["helm4"], paths.CHARTS / "llm-stack", [paths.CHARTS / "llm-stack" / "ci" /
                                  "full-values.yaml"], release="s", namespace=NS).objects
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "s-vllm")
    policy["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]
    _, pod, port = next(r for r in routes(objects) if r[0] == "vllm")
    assert admits(objects, pod, port, Peer({"app": "intruder"}, NS), NS)[0]
    assert not admits(objects, pod, port, Peer({"app": "intruder"}, "elsewhere"), NS)[0]
