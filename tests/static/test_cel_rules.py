"""CEL rules (x-kubernetes-validations): every rule in schemas/crds is either evaluated or listed with its reason;
rules run with the API server's scoping, defaults and messages; and real renders broken in a way only a CEL rule
catches are refused with the rule's message, against every release that has the rule."""
import copy
import functools

import pytest

import render_cache
from query import find
from llmcharts import celrules, crds, discovery, paths, validate

from conftest import STATS

@functools.cache
def all_rules() -> list:
    """(schema, path, rule) for every rule in schemas/crds."""
    return [(e, where, r) for e in crds.catalog().all() for where, r in celrules.rules_in(e.schema)]


def test_every_rule_is_evaluated_or_listed_with_a_reason():
    rules = all_rules()
    evaluated = [r["rule"] for _, _, r in rules if celrules.not_evaluable(r["rule"]) is None]
    listed = [r["rule"] for _, _, r in rules if r["rule"] in celrules.NOT_EVALUATED]
    unlisted = sorted({f"{e.release} {e.kind} {where}: {r['rule']} ({celrules.not_evaluable(r['rule'])})"
                       for e, where, r in rules if celrules.not_evaluable(r["rule"]) and
                       r["rule"] not in celrules.NOT_EVALUATED})
    assert not unlisted, "rules neither evaluated nor listed in celrules.NOT_EVALUATED:\n" + "\n".join(unlisted)
    assert len(evaluated) + len(listed) == len(rules) > 200
    STATS["CEL rules in schemas/crds, evaluated"] = len(evaluated)
    STATS["CEL rules in schemas/crds, not evaluable (listed in celrules.NOT_EVALUATED with the reason)"] = len(listed)


def test_listed_rules_exist_and_really_cannot_run():
    texts = {r["rule"] for _, _, r in all_rules()}
    for rule, reason in celrules.NOT_EVALUATED.items():
        assert rule in texts, f"stale entry: {rule!r} is in no schema"
        assert celrules.not_evaluable(rule) and reason


def test_unlisted_unevaluable_rule_is_an_error_not_a_pass():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.name.lowerAscii() == self.name", "message": "lower case"}]}}}
    failures, n = celrules.evaluate(schema, {"spec": {"name": "x"}})
    assert n == 0 and "calls lowerAscii" in failures[0] and "not listed" in failures[0]


SCOPED = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "ports": {"type": "array", "x-kubernetes-validations": [
        {"rule": "self.all(a, self.exists_one(b, a.n == b.n))", "message": "unique"}],
        "items": {"type": "object",
                  "properties": {"n": {"type": "integer"}, "kind": {"type": "string", "default": "TCP"}},
                  "x-kubernetes-validations": [{"rule": "self.n > 0", "messageExpression": "'port ' + string(self.n)"},
                                               {"rule": "self.kind == 'TCP'", "message": "tcp only"}]}},
    "limits": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [
        {"rule": "self.endsWith('Gi')", "message": "in Gi", "fieldPath": ".value"}]}},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "x-kubernetes-validations": [
        {"rule": "self.a.b == 1", "message": "a.b is 1"}]},
    "immutable": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
}}}}


def test_rules_are_scoped_to_their_node_defaulted_and_messaged():
    good = {"spec": {"ports": [{"n": 1}, {"n": 2}], "limits": {"mem": "1Gi"}, "free": {"a": {"b": 1}},
                     "immutable": "x"}}
    failures, n = celrules.evaluate(SCOPED, good)
    # unique + 2 x (n > 0, kind defaulted to TCP) + 1 map value + 1 free-form; the transition rule is not run
    assert failures == [] and n == 7
    bad = {"spec": {"ports": [{"n": 0}, {"n": 0, "kind": "UDP"}], "limits": {"mem": "1G"}, "free": {"c": 1}}}
    failures, _ = celrules.evaluate(SCOPED, bad)
    text = "\n".join(failures)
    assert "spec.ports: unique" in text
    assert "spec.ports[0]: port 0" in text and "spec.ports[1]: port 0" in text  # messageExpression
    assert "spec.ports[1]: tcp only" in text and "spec.ports[0]: tcp only" not in text  # default applied
    assert "spec.limits[mem].value: in Gi" in text  # a map value's rule, with its fieldPath
    assert "spec.free: a.b is 1 (evaluation error:" in text  # no such key: an error, as in the API server
    assert len(failures) == 6, text


def test_absent_and_null_nodes_are_not_judged():
    assert celrules.evaluate(SCOPED, {"spec": {"free": None}}) == ([], 0)


def _render(helms, chart, values, kind):
    return find(render_cache.Chart(chart).objects(helms, paths.CHARTS / chart / "ci" / values), kind)


def _refused(obj, message):
    (rep,) = validate.validate_objects([obj], paths.K8S_VERSIONS)
    hits = [e for e in rep.errors if message in e]
    assert hits and len(hits) == len(rep.validated_against), (rep.validated_against, rep.errors)
    assert all(" CEL " in e for e in hits)
    return rep


def _pop_replicas(o, scaling):
    del o["spec"]["replicas"]
    o["spec"]["scaling"] = scaling


LLMISVC_BREAKS = [
    ("replicas and scaling", lambda o: o["spec"].update(scaling={"maxReplicas": 3, "wva": {"keda": {}}}),
     "replicas and scaling are mutually exclusive"),
    ("scaling without wva", lambda o: _pop_replicas(o, {"maxReplicas": 3}), "wva is required when scaling"),
    ("min over max", lambda o: _pop_replicas(o, {"minReplicas": 4, "maxReplicas": 3, "wva": {"hpa": {}}}),
     "minReplicas cannot exceed maxReplicas"),
    # minReplicas is absent: its default (1) applies before the rule, so 1 < 1 fails
    ("idle floor at the defaulted minimum", lambda o: _pop_replicas(
        o, {"maxReplicas": 3, "wva": {"keda": {"idleReplicaCount": 1}}}), "idleReplicaCount must be less than"),
]


@pytest.mark.parametrize("values", ["full-values.yaml", "cpu-values.yaml"])  # v1alpha2 and v1alpha1
@pytest.mark.parametrize("name,brk,message", LLMISVC_BREAKS, ids=[b[0] for b in LLMISVC_BREAKS])
def test_llminferenceservice_rule_fires(helms, values, name, brk, message):
    good = _render(helms, "kserve-llm", values, "LLMInferenceService")
    assert validate.validate_objects([good], paths.K8S_VERSIONS)[0].errors == []
    bad = copy.deepcopy(good)
    if values == "cpu-values.yaml":
        bad["spec"].setdefault("replicas", 1)
    brk(bad)
    _refused(bad, message)


def test_rayservice_managed_by_rule_fires_under_both_kuberay_releases(helms):
    bad = copy.deepcopy(_render(helms, "ray-llm", "full-values.yaml", "RayService"))
    bad["spec"]["rayClusterConfig"]["managedBy"] = "someone-else"
    rep = _refused(bad, "the managedBy field value must be either")
    assert sorted(rep.validated_against) == ["crd:kuberay@v1.3.2", "crd:kuberay@v1.7.0"]


@pytest.mark.parametrize("chart", ["vllm", "tgi"])
def test_scaledobject_min_over_max_rule_fires(helms, chart):
    bad = copy.deepcopy(_render(helms, chart, "keda-values.yaml", "ScaledObject"))
    bad["spec"]["minReplicaCount"], bad["spec"]["maxReplicaCount"] = 5, 2
    _refused(bad, "minReplicaCount must be less than or equal to maxReplicaCount")


def test_inferencepool_list_rule_fires():
    pool = {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool", "metadata": {"name": "p"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "targetPorts": [{"number": 8000}],
                     "endpointPickerRef": {"name": "epp", "port": {"number": 9002}}}}
    assert validate.validate_objects([pool], paths.K8S_VERSIONS)[0].errors == []
    pool["spec"]["targetPorts"].append({"number": 8000})
    _refused(pool, "port number must be unique")


def test_the_render_matrix_evaluates_cel_rules(report_for):
    """Rules do run on the charts' own renders (every custom resource of every case, both releases)."""
    total = sum(r.cel_rules for c in discovery.cases() for r in report_for(c).schema)
    kinds = {o["kind"] for c in discovery.cases() for o, r in zip(report_for(c).objects, report_for(c).schema)
             if r.cel_rules}
    assert total > 0 and {"LLMInferenceService", "ScaledObject"} <= kinds, (total, kinds)
