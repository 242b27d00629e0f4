"""The render-time fit check (llm-common.sizing.*): the planner and the chart give the same numbers and verdict for
every known model config on every GPU of the table; Llama 3.1 70B bf16 is refused on one L4 and accepted on
4 x H100 by every engine chart, naming the fields; NOTES predict the KV cache and warn at low concurrency."""
import json

import pytest
import yaml

import render_cache
from llmcharts import modelcfg, paths, plan, plan_values

from conftest import STATS

DATA = paths.ROOT / "tests" / "data" / "model-configs"
MODELS = sorted(d.name for d in DATA.iterdir() if (d / "config.json").exists())

# Calls the helper once per case with a context made of the case's values, as a chart's validate would.
PROBE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: fits
data:
{{- range $i, $c := .Values.cases }}
{{- $ctx := dict }}
{{- include "llm-common.context.component" (dict "context" $ "values" $c "fieldPrefix" (printf "cases[%d]." $i) "out" $ctx) }}
  {{ printf "c%d" $i }}: {{ include "llm-common.sizing.fit" (dict "context" $ctx "profile" $c.profile "profileField" "profile"
      "engine" (include "llm-common.sizing.vllmEngine" (dict "context" $ctx) | fromJson)) | quote }}
{{- end }}
"""


def agreement_cases() -> list[tuple[dict, plan.Plan]]:
    """(chart values, the planner's plan) for every model config x GPU of the table x tensor parallel 1 and the
    smallest that fits x a short and the model's full context."""
    out = []
    for name in MODELS:
        model = modelcfg.load(str(DATA / name))
        for gpu, row in plan.gpu_table().items():
            smallest = plan.plan(model, gpu, max_model_len=4096).tensor_parallel_size
            for tp in sorted({1, smallest or max(plan.tp_candidates(model))}):
                for length in sorted({4096, model.max_position_embeddings or 4096}):
                    p = plan.plan(model, gpu, count=tp, max_model_len=length)
                    values = {"accelerator": {"type": row["vendor"], "count": tp, "product": gpu},
                              "engine": {"tensorParallelSize": tp, "pipelineParallelSize": 1, "maxModelLen": length,
                                         "gpuMemoryUtilization": p.gpu_memory_utilization},
                              "profile": plan_values.profile(p, model, name)}
                    out.append((values, p))
    return out


@pytest.mark.parametrize("helm_name", paths.HELM_NAMES)
def test_planner_and_chart_agree_on_every_model_and_gpu(helms, helm_name, tmp_path):
    cases = agreement_cases()
    chart = render_cache.library_probe(tmp_path / "fits", PROBE)
    values = tmp_path / "cases.yaml"
    values.write_text(yaml.safe_dump({"cases": [v for v, _ in cases]}))
    data = render_cache.render(helms[helm_name], chart, [values]).objects[0]["data"]
    verdicts = set()
    for i, (v, p) in enumerate(cases):
        fit = json.loads(data[f"c{i}"])
        where = f"{p.model} on {p.count} x {p.gpu} at {p.max_model_len}: chart {fit} planner {p.to_dict()}"
        assert fit["checked"], where
        assert fit["weightsPerGpu"] == p.weights_bytes_per_gpu, where
        assert fit["kvBytesPerToken"] == p.kv_bytes_per_token_per_gpu, where
        assert fit["kvCacheBytes"] == p.kv_cache_bytes_per_gpu, where
        assert fit["fits"] == p.fits, where
        assert fit["tokens"] == p.kv_cache_tokens, where
        assert abs(fit["concurrency"] - p.max_concurrent_sequences) < 0.01, where
        verdicts.add(p.fits)
    assert verdicts == {True, False}, "the cases must include fits and misfits"
    STATS[f"fit check: planner = chart ({helm_name})"] += len(cases)


PROFILE = {tp: plan_values.profile(plan.plan(modelcfg.load(str(DATA / "llama-3.1-70b")), "NVIDIA-H100-80GB-HBM3",
                                             count=tp, max_model_len=8192),
                                   modelcfg.load(str(DATA / "llama-3.1-70b")), "meta-llama/Llama-3.1-70B-Instruct")
           for tp in (1, 4)}


def engine_values(chart: str, product: str, count: int, profile: dict) -> dict:
    """Llama 3.1 70B bf16 at 8192 tokens on `count` x `product`, in each engine chart's own values."""
    acc = {"type": "nvidia", "count": count, "product": product}
    big = {"resources": {"limits": {"memory": "256Gi"}}, "shm": {"sizeLimit": "16Gi"}} if count > 1 else {}
    if chart == "vllm":
        return {"model": {"name": "meta-llama/Llama-3.1-70B-Instruct", "profile": profile}, "accelerator": acc,
                "engine": {"tensorParallelSize": count, "maxModelLen": 8192}, **big}
    if chart == "tgi":
        return {"model": {"profile": profile}, "accelerator": acc, **big,
                "engine": {"modelId": "meta-llama/Llama-3.1-70B-Instruct", "numShard": count, "maxTotalTokens": 8192}}
    if chart == "kserve-llm":
        return {"accelerator": acc, "engine": {"tensorParallelSize": count, "maxModelLen": 8192}, **big,
                "inferenceServices": [{"name": "llama-70b", "storageUri": "hf://meta-llama/Llama-3.1-70B-Instruct",
                                       "profile": profile}]}
    return {"model": {"id": "llama-70b", "source": "meta-llama/Llama-3.1-70B-Instruct", "profile": profile},
            "engine": {"tensorParallelSize": count, "maxModelLen": 8192},
            "worker": {"accelerator": acc, **big}}


PROFILE_FIELD = {"vllm": "model.profile", "tgi": "model.profile", "kserve-llm": "inferenceServices[0].profile",
                 "ray-llm": "model.profile"}
CHARTS = list(PROFILE_FIELD)


@pytest.mark.parametrize("chart", CHARTS)
def test_llama_70b_bf16_on_one_l4_is_refused_naming_the_fields(chart, helms, tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump(engine_values(chart, "NVIDIA-L4", 1, PROFILE[1])))
    tp = {"tgi": "engine.numShard"}.get(chart, "engine.tensorParallelSize")
    prefix = {"ray-llm": "worker."}.get(chart, "")
    for r in render_cache.everywhere(helms, paths.CHARTS / chart, [f]):
        assert not r.ok and r.stdout.strip() == "", f"{r.helm} rendered a 70B bf16 model on one L4"
        for field in (PROFILE_FIELD[chart], f"{PROFILE_FIELD[chart]}.weightsBytes", tp, f"{prefix}accelerator.count",
                      f"{prefix}accelerator.product", "131.4 GiB", "NVIDIA-L4"):
            assert field in r.error, f"{r.helm}: {field!r} not in {r.error}"


@pytest.mark.parametrize("chart", CHARTS)
def test_llama_70b_bf16_on_4_h100_is_accepted_and_notes_predict_its_kv_cache(chart, helms, tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump(engine_values(chart, "NVIDIA-H100-80GB-HBM3", 4, PROFILE[4])))
    for r in render_cache.everywhere(helms, paths.CHARTS / chart, [f]):
        assert r.ok, r.error
    p = plan.plan(modelcfg.load(str(DATA / "llama-3.1-70b")), "H100", count=4, max_model_len=8192)
    dry = helms["helm4"].install_dry_run(paths.CHARTS / chart, [f], "fit", "default", kubeconfig=tmp_path / "none")
    notes = dry.stdout.split("NOTES:", 1)[1]
    assert f"Predicted KV cache: {p.kv_cache_tokens} tokens per replica" in notes, notes
    assert f"{p.max_concurrent_sequences:.2f} sequences of 8192 tokens" in notes and "WARNING" not in notes


def test_notes_warn_when_few_max_length_sequences_fit(helms, tmp_path):
    model = modelcfg.load(str(DATA / "llama-3.1-8b"))
    for length, warned in ((4096, False), (16384, True)):
        p = plan.plan(model, "L4", count=1, max_model_len=length)
        assert p.fits and (p.max_concurrent_sequences < 4) == warned, p.max_concurrent_sequences
        f = tmp_path / f"v{length}.yaml"
        f.write_text(yaml.safe_dump({"model": {"name": "meta-llama/Llama-3.1-8B-Instruct",
                                               "profile": plan_values.profile(p, model, "x")},
                                     "accelerator": {"type": "nvidia", "count": 1, "product": "NVIDIA-L4"},
                                     "engine": {"maxModelLen": length}}))
        r = helms["helm4"].install_dry_run(paths.CHARTS / "vllm", [f], "fit", "default", kubeconfig=tmp_path / "none")
        assert r.returncode == 0, r.stderr
        assert ("WARNING: fewer than 4 sequences of the maximum length" in r.stdout) == warned, r.stdout


def test_the_model_context_length_sizes_the_kv_cache_when_the_engine_sets_none(helms, tmp_path):
    model = modelcfg.load(str(DATA / "llama-3.1-8b"))
    p = plan.plan(model, "L4", count=1, max_model_len=8192)
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({"model": {"name": "m", "profile": plan_values.profile(p, model, "m")},
                                 "accelerator": {"type": "nvidia", "count": 1, "product": "NVIDIA-L4"}}))
    err = render_cache.Chart("vllm").error_everywhere(helms, f)
    assert "the model's own context length, 131072 (model.profile.contextLength" in err, err
    assert "Set engine.maxModelLen to a shorter length" in err, err


def test_no_check_without_a_known_gpu_product_and_notes_say_why(helms, tmp_path):
    model = modelcfg.load(str(DATA / "llama-3.1-70b"))
    p = plan.plan(model, "L4", count=1, max_model_len=8192)
    for acc, why in (({"type": "nvidia", "count": 1}, "set accelerator.product"),
                     ({"type": "nvidia", "count": 1, "product": "NVIDIA-Future-GPU"}, "is not in the llm-common GPU table")):
        f = tmp_path / "v.yaml"
        f.write_text(yaml.safe_dump({"model": {"name": "m", "profile": plan_values.profile(p, model, "m")},
                                     "accelerator": acc, "engine": {"maxModelLen": 8192}}))
        r = helms["helm4"].install_dry_run(paths.CHARTS / "vllm", [f], "fit", "default", kubeconfig=tmp_path / "none")
        assert r.returncode == 0, r.stderr
        assert "Fit not checked" in r.stdout and why in r.stdout, r.stdout


def test_the_umbrella_notes_show_each_engines_fit(helms, tmp_path):
    """llm-stack shows its vllm and tgi subcharts' fit (Helm prints only the umbrella's NOTES)."""
    model = modelcfg.load(str(DATA / "llama-3.1-8b"))
    p = plan.plan(model, "L4", count=1, max_model_len=4096)
    prof = plan_values.profile(p, model, "meta-llama/Llama-3.1-8B-Instruct")
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({
        "vllm": {"enabled": True, "model": {"name": "meta-llama/Llama-3.1-8B-Instruct", "profile": prof},
                 "accelerator": {"type": "nvidia", "count": 1, "product": "NVIDIA-L4"}, "engine": {"maxModelLen": 4096}},
        "tgi": {"enabled": True, "model": {"profile": prof}, "engine": {"modelId": "other/model", "maxTotalTokens": 4096},
                "accelerator": {"type": "nvidia", "count": 1, "product": "NVIDIA-L4"}}}))
    r = helms["helm4"].install_dry_run(paths.CHARTS / "llm-stack", [f], "fit", "default", kubeconfig=tmp_path / "none")
    assert r.returncode == 0, r.stderr
    notes = r.stdout.split("NOTES:", 1)[1]
    for field in ("vllm.model.profile", "tgi.model.profile"):
        assert f"Fit ({field}, vLLM's memory model)" in notes, notes
    assert notes.count(f"Predicted KV cache: {p.kv_cache_tokens} tokens per replica") == 2, notes
