"""The custom-resource schemas in schemas/crds: small, deterministic, covering every supported release, with a
SOURCES table that names each upstream input; and exactly what scripts/sync_crd_schemas.py makes from those
inputs (the drift test needs the upstream files: $LLMCHARTS_CRD_UPSTREAM or .cache/crd-upstream)."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

from llmcharts import crds, paths, validate

SCRIPT = paths.ROOT / "scripts" / "sync_crd_schemas.py"
spec = importlib.util.spec_from_file_location("sync_crd_schemas", SCRIPT)
sync = sys.modules.setdefault("sync_crd_schemas", importlib.util.module_from_spec(spec))
spec.loader.exec_module(sync)

INDEX = json.loads((paths.CRD_SCHEMAS / "index.json").read_text())
FILES = sorted(f for f in paths.CRD_SCHEMAS.rglob("*.json") if f.name != "index.json")


def run_script(*args, **env):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_folder_is_a_few_megabytes():
    size = sum(f.stat().st_size for f in paths.CRD_SCHEMAS.rglob("*") if f.is_file())
    assert size < 5_000_000, f"schemas/crds is {size / 1e6:.1f} MB"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(paths.CRD_SCHEMAS)))
def test_schema_file_is_compact_and_canonical(path):
    text = path.read_text()
    schema = json.loads(text)
    assert text == sync.dump(schema), "not in the script's stable format (sorted keys, one value per line)"
    assert sync.compact(schema) == schema, "a schema node still has a description"
    assert schema.get("type") == "object" and "spec" in schema.get("properties", {})


def test_index_and_files_agree():
    assert sorted(paths.CRD_SCHEMAS / e["file"] for e in INDEX) == FILES
    for e in INDEX:
        assert e["file"].startswith(e["release"] + "/" + e["apiVersion"].split("/")[0] + "/"), e


def test_every_supported_release_is_there():
    """Both KServe and both KubeRay releases the README supports, and every other CRD the charts (or KServe's
    LLMInferenceService) create."""
    have = {(e["apiVersion"], e["kind"], e["release"]) for e in INDEX}
    want = {(f"serving.kserve.io/{v}", k, r) for r in ("kserve@v0.15.2", "kserve@v0.20.0")
            for v, k in (("v1beta1", "InferenceService"), ("v1alpha1", "ServingRuntime"),
                         ("v1alpha1", "ClusterServingRuntime"))}
    want |= {("serving.kserve.io/v1alpha1", "LLMInferenceService", "kserve@v0.20.0"),
             ("serving.kserve.io/v1alpha2", "LLMInferenceService", "kserve@v0.20.0")}
    want |= {("ray.io/v1", k, r) for k in ("RayService", "RayCluster") for r in ("kuberay@v1.3.2", "kuberay@v1.7.0")}
    want |= {("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "lws@v0.10.0"),
             ("inference.networking.k8s.io/v1", "InferencePool", "gateway-api-inference-extension@v1.6.0"),
             ("inference.networking.x-k8s.io/v1alpha2", "InferencePool", "gateway-api-inference-extension@v1.4.0"),
             ("monitoring.coreos.com/v1", "ServiceMonitor", "prometheus-operator@v0.93.0"),
             ("monitoring.coreos.com/v1", "PodMonitor", "prometheus-operator@v0.93.0"),
             ("keda.sh/v1alpha1", "ScaledObject", "keda@v2.20.2"),
             ("gateway.networking.k8s.io/v1", "HTTPRoute", "gateway-api@v1.6.1")}
    assert want <= have, sorted(want - have)


def test_sources_table_names_every_input():
    rows = [line.split("|")[1:-1] for line in (paths.CRD_SCHEMAS / "SOURCES.md").read_text().splitlines()
            if line.startswith("| ") and "`" in line]
    cells = [[c.strip().strip("`") for c in row] for row in rows]
    assert [(c[0], c[1], c[2], c[3], c[4]) for c in cells] == \
        [(p.repo, p.tag, p.commit, p.path, p.sha256) for p in sync.PINS]
    assert all(len(c[2]) == 40 and len(c[4]) == 64 for c in cells)
    releases = {e["release"] for e in INDEX}
    assert releases == {p.release for p in sync.PINS}


def test_compact_keeps_what_validates():
    schema = {"description": "x", "type": "object", "x-kubernetes-validations": [{"rule": "true"}],
              "properties": {"description": {"type": "string", "description": "a field named description"},
                             "items": {"type": "array", "items": {"type": "string", "description": "y"}}}}
    assert sync.compact(schema) == {"type": "object", "x-kubernetes-validations": [{"rule": "true"}],
                                    "properties": {"description": {"type": "string"},
                                                   "items": {"type": "array", "items": {"type": "string"}}}}


def test_in_repo_catalog_is_the_default():
    cat = crds.catalog()
    assert cat.where == "schemas/crds"
    releases = [e.release for e in cat.lookup({"apiVersion": "ray.io/v1", "kind": "RayService"})]
    assert sorted(releases) == ["kuberay@v1.3.2", "kuberay@v1.7.0"]


def test_raw_crd_directories_override_the_in_repo_schemas(tmp_path):
    """LLMCHARTS_CRD_DIRS: CRD YAML files, one set per directory (named after it), schema and CEL rules alike."""
    schema = json.loads((paths.CRD_SCHEMAS / "keda@v2.20.2" / "keda.sh" / "scaledobject_v1alpha1.json").read_text())
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "scaledobjects.keda.sh"},
           "spec": {"group": "keda.sh", "scope": "Namespaced",
                    "names": {"kind": "ScaledObject", "plural": "scaledobjects"},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": schema}}]}}
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keda.yaml").write_text(yaml.safe_dump(crd))
    obj = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"},
           "spec": {"scaleTargetRef": {"name": "d"}, "minReplicaCount": 3, "maxReplicaCount": 2,
                    "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}}
    (rep,) = validate.validate_objects([obj], paths.K8S_VERSIONS, [tmp_path / "mine"])
    assert rep.validated_against == ["crd:mine"]
    assert any("minReplicaCount must be less than or equal to maxReplicaCount" in e for e in rep.errors), rep.errors
    (rep,) = validate.validate_objects([{**obj, "kind": "RayService", "apiVersion": "ray.io/v1"}], paths.K8S_VERSIONS,
                                       [tmp_path / "mine"])
    assert rep.errors and "no schema for ray.io/v1 RayService" in rep.errors[0] and str(tmp_path) in rep.errors[0]


def test_schemas_match_what_the_script_makes_from_its_inputs():
    """Every input that is here is checked (CI has most of them beside the checkout; a machine with internet gets
    all with --download); when none is, the test is skipped and says how to get them."""
    r = run_script("--check")
    if r.returncode == 2 and "inputs missing" in r.stderr:
        partial = run_script("--check-available")
        if partial.returncode == 2:
            pytest.skip("the upstream CRD files are not here (set LLMCHARTS_CRD_UPSTREAM to a directory holding them, "
                        "or run scripts/sync_crd_schemas.py --download once): " + r.stderr.splitlines()[1].strip())
        assert partial.returncode == 0, partial.stdout + partial.stderr
        return
    assert r.returncode == 0, r.stdout + r.stderr


def test_script_refuses_an_input_whose_sha256_differs(tmp_path):
    """A file named like a pinned input but with other bytes is not used (and said so), wherever it is found."""
    pin = next(p for p in sync.PINS if p.path.endswith("keda.sh_scaledobjects.yaml"))
    fake = tmp_path / "keda" / "keda.sh_scaledobjects.yaml"
    fake.parent.mkdir()
    fake.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")
    r = run_script("--from", str(tmp_path), "--check", "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert f"{pin.path}: no file with sha256 {pin.sha256} (refused, sha256 differs: {fake})" in r.stderr


def test_script_check_names_a_drifted_file(tmp_path):
    """--check compares the whole folder: a hand edit, a stray file and a missing file are each named."""
    if run_script("--check").returncode == 2:
        pytest.skip("the upstream CRD files are not here (see the drift test above)")
    out = tmp_path / "crds"
    subprocess.run(["cp", "-r", str(paths.CRD_SCHEMAS), str(out)], check=True)
    (out / FILES[0].relative_to(paths.CRD_SCHEMAS)).write_text("{}\n")
    (out / "stray.json").write_text("{}\n")
    (out / "index.json").unlink()
    r = run_script("--check", "--out", str(out))
    assert r.returncode == 1
    for what in (f"differs: {FILES[0].relative_to(paths.CRD_SCHEMAS)}", "not produced by the inputs: stray.json",
                 "missing: index.json"):
        assert what in r.stderr, r.stderr
