"""model.source, one shape in every engine chart: how each source renders in vllm, tgi, kserve-llm and ray-llm, and
the load budget derived from the model's size (the same formula as the planner's)."""
import json

import pytest

from llmcharts import paths, plan
from query import container, env, find, pod_spec
from render_cache import Chart

vllm = Chart("vllm", release="src")
tgi = Chart("tgi", release="src")
kserve = Chart("kserve-llm", release="src")
ray = Chart("ray-llm", base=[paths.CHARTS / "ray-llm" / "ci" / "minimal-values.yaml"], release="src")

S3 = {"uri": "s3://models/llama-3-8b", "credentials": {"secretName": "s3-keys"}}


def deployment(objs):
    return find(objs, "Deployment")


def test_s3_prefetch_runs_an_init_container_into_the_model_volume(helms):
    objs = vllm.objects(helms, model={"source": {**S3, "endpoint": "http://minio.storage:9000"}})
    pod = pod_spec(deployment(objs))
    fetch = pod["initContainers"][0]
    assert fetch["image"].startswith("docker.io/amazon/aws-cli:")
    assert fetch["command"] == ["aws", "s3", "sync", "s3://models/llama-3-8b", "/models/s3/models/llama-3-8b",
                                "--no-progress", "--only-show-errors", "--endpoint-url", "http://minio.storage:9000"]
    e = env(fetch)
    assert e["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {"name": "s3-keys", "key": "AWS_ACCESS_KEY_ID"}
    assert e["AWS_ENDPOINT_URL"]["value"] == "http://minio.storage:9000"
    assert {"name": "models", "mountPath": "/models"} in fetch["volumeMounts"]
    main = container(deployment(objs))
    assert main["args"][0] == "/models/s3/models/llama-3-8b"
    assert not any(k.startswith("AWS_") for k in env(main))  # the engine never sees the store's keys


def test_s3_stream_gives_vllm_the_url_and_the_keys(helms):
    objs = vllm.objects(helms, model={"source": {**S3, "load": "stream"}})
    pod = pod_spec(deployment(objs))
    assert "initContainers" not in pod
    main = container(deployment(objs))
    assert main["args"][0] == "s3://models/llama-3-8b" and "--load-format=runai_streamer" in main["args"]
    assert env(main)["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "s3-keys"
    assert main["args"][main["args"].index("--served-model-name") + 1] == "llama-3-8b"


def test_gs_goes_through_the_s3_interoperability_api(helms):
    objs = vllm.objects(helms, model={"source": {"uri": "gs://bucket/m", "load": "stream",
                                                 "credentials": {"secretName": "hmac"}}})
    main = container(deployment(objs))
    assert main["args"][0] == "s3://bucket/m"
    assert env(main)["AWS_ENDPOINT_URL"]["value"] == "https://storage.googleapis.com"


def test_pvc_source_is_mounted_read_only(helms):
    objs = vllm.objects(helms, model={"source": {"uri": "pvc://model-cache/llama-3-8b"}})
    pod = pod_spec(deployment(objs))
    assert {"name": "model-source", "persistentVolumeClaim": {"claimName": "model-cache", "readOnly": True}} in pod["volumes"]
    main = container(deployment(objs))
    assert {"name": "model-source", "mountPath": "/model-source", "readOnly": True} in main["volumeMounts"]
    assert main["args"][0] == "/model-source/llama-3-8b"


def test_oci_source_is_an_image_volume_from_kubernetes_1_33(helms):
    vals = {"model": {"source": {"uri": "oci://registry.example.com/models/llama:1.0"}}}
    new = helms["helm4"].template(paths.CHARTS / "vllm", [], kube_version="1.33", set_values=vals)
    assert new.ok, new.error
    pod = pod_spec(deployment(new.objects))
    assert {"name": "model-source", "image": {"reference": "registry.example.com/models/llama:1.0",
                                              "pullPolicy": "IfNotPresent"}} in pod["volumes"]
    assert container(deployment(new.objects))["args"][0] == "/model-source/models"
    old = helms["helm4"].template(paths.CHARTS / "vllm", [], kube_version="1.32", set_values=vals)
    assert not old.ok and "model.source.uri" in old.error and "1.33" in old.error


def test_tgi_prefetches_and_serves_the_local_copy(helms):
    objs = tgi.objects(helms, engine={"modelId": ""}, model={"source": S3})
    pod = pod_spec(deployment(objs))
    assert pod["initContainers"][0]["command"][3:5] == ["s3://models/llama-3-8b", "/data/s3/models/llama-3-8b"]
    assert "--model-id=/data/s3/models/llama-3-8b" in container(deployment(objs))["args"]


def test_kserve_source_becomes_the_storage_uri(helms):
    objs = kserve.objects(helms, storage={"credentialsSecret": "s3-keys"}, inferenceServices=[
        {"name": "a", "source": {"uri": "s3://models/llama-3-8b"}},
        {"name": "b", "source": {"uri": "hf://meta-llama/Llama-3.1-8B-Instruct", "revision": "a" * 40}},
        {"name": "c", "source": {"uri": "oci://registry.example.com/models/llama:1"}},
        {"name": "d", "storageUri": "pvc://cache/llama"}])
    uris = {o["metadata"]["name"]: o["spec"]["predictor"]["model"]["storageUri"]
            for o in objs if o["kind"] == "InferenceService"}
    assert uris == {"a": "s3://models/llama-3-8b", "b": f"hf://meta-llama/Llama-3.1-8B-Instruct:{'a' * 40}",
                    "c": "oci://registry.example.com/models/llama:1", "d": "pvc://cache/llama"}


def test_ray_fetches_s3_as_a_bucket_uri(helms, tmp_path):
    f = tmp_path / "src.yaml"
    f.write_text(json.dumps({"model": {"source": {**S3, "endpoint": "http://minio:9000"}}}))
    objs = ray.objects(helms, f)
    text = json.dumps(objs)
    assert '"bucket_uri": "s3://models/llama-3-8b"' in text.replace("\\", "") or "bucket_uri: s3://models/llama-3-8b" in text
    assert "AWS_ENDPOINT_URL" in text


def test_legacy_name_renders_as_before(helms):
    main = container(deployment(vllm.objects(helms, model={"name": "org/model", "revision": "v1"})))
    assert main["args"][0] == "org/model" and "--revision=v1" in main["args"]


@pytest.mark.parametrize("size", [1_000_000_000, 16_060_000_000, 141_000_000_000])
def test_startup_budget_is_the_planners(helms, size):
    """budgetSeconds null + model.sizeBytes: the chart derives the planner's budget (plan.py), and the Deployment's
    progressDeadlineSeconds lies above it (budget + 600 s; + the fetch time with a prefetch)."""
    want = plan.startup_budget_seconds(size)
    d = deployment(vllm.objects(helms, model={"name": "org/m", "sizeBytes": size}))
    probe = container(d)["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] == want
    assert d["spec"]["progressDeadlineSeconds"] == want + 600
    d = deployment(vllm.objects(helms, model={"sizeBytes": size, "source": S3}))
    assert d["spec"]["progressDeadlineSeconds"] == want + 600 + -(-size // int(plan.LOAD_BANDWIDTH_MBPS * 1e6))


def test_unknown_size_keeps_the_1800s_budget_and_a_set_one_wins(helms):
    d = deployment(vllm.objects(helms, model={"name": "org/m"}))
    assert container(d)["startupProbe"]["failureThreshold"] == 180 and d["spec"]["progressDeadlineSeconds"] == 2400
    d = deployment(vllm.objects(helms, model={"name": "org/m", "sizeBytes": 10 ** 12}, probes={"startup": {"budgetSeconds": 900}}))
    assert container(d)["startupProbe"]["failureThreshold"] == 90


def test_a_production_preset_refuses_an_unpinned_revision(helms):
    """The L4 preset is marked production (global.production) and pinned; the same preset with a branch is refused."""
    preset = paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml"
    assert "--revision=0e9e39f249a16976918f6564b8830bc894c89659" in container(deployment(vllm.objects(helms, preset)))["args"]
    err = vllm.error_everywhere(helms, preset, **{"model.revision": "main"})
    assert "model.revision" in err and "global.production" in err
