"""The planner meets the charts: one GPU table read by Python and included by helm, and values files written by
`llmcharts plan --write-values` that render and check under both helms, with a profile that matches its schema."""
import copy
import re
import shutil
import subprocess
import sys

import jsonschema
import pytest
import yaml

import render_cache
from llmcharts import cli, discovery, modelcfg, paths, plan
from llmcharts.pods import pod_templates

sys.path.insert(0, str(paths.ROOT / "scripts"))
import gen_schemas  # noqa: E402

DATA = paths.ROOT / "tests" / "data" / "model-configs"
PIECE = paths.ROOT / "schemas" / "model-profile.schema.yaml"


def test_python_reads_the_gpu_table():
    table = plan.gpu_table()
    for product in ("NVIDIA-L4", "NVIDIA-A10G", "NVIDIA-L40S", "NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-SXM4-80GB",
                    "NVIDIA-A100-80GB-PCIe", "NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-NVL",
                    "NVIDIA-H200", "NVIDIA-B200", "AMD_Instinct_MI300X_OAM"):
        assert product in table
    aliases = [a for row in table.values() for a in row["aliases"]]
    assert len(aliases) == len(set(aliases)), "an alias names two rows"
    for label, row in table.items():
        assert row["vendor"] in ("nvidia", "amd") and isinstance(row["memoryMiB"], int), label
        # the driver reports a little less than the datasheet's GB (ECC, firmware); never more
        assert 0.9 < row["memoryMiB"] * 2 ** 20 / (row["datasheetGB"] * 1e9) < 1.1, label


@pytest.mark.parametrize("helm_name", paths.HELM_NAMES)
def test_helm_includes_the_same_table(helms, helm_name, tmp_path):
    chart = render_cache.library_probe(tmp_path / "gpus",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gpus\ndata:\n"
        "  table: {{ include \"llm-common.gpus.table\" (dict \"context\" .) | fromYaml | toJson | quote }}\n"
        "  l4: {{ (get (include \"llm-common.gpus.table\" (dict \"context\" .) | fromYaml) \"NVIDIA-L4\").memoryMiB | quote }}\n")
    r = render_cache.render(helms[helm_name], chart)
    data = r.objects[0]["data"]
    assert yaml.safe_load(data["table"]) == plan.gpu_table()
    assert data["l4"] == str(plan.gpu_table()["NVIDIA-L4"]["memoryMiB"])


def test_every_gpu_product_our_values_name_is_a_node_label_in_the_table():
    """The product is what the pods' nodeSelector asks for: the label value nodes carry (a row of the table), never
    a planner alias such as MI300X (no node has amd.com/gpu.product-name=MI300X)."""
    named = {}
    for f in list(paths.VALUES.rglob("*.yaml")) + list(paths.CHARTS.glob("*/ci/*.yaml")):
        for product in re.findall(r"^\s*(?:product|gpuProduct):\s*\"?([A-Za-z0-9_.-]+)", f.read_text(), re.M):
            named.setdefault(product, []).append(str(f.relative_to(paths.ROOT)))
    assert named, "no accelerator.product in values/ or ci/"
    table = plan.gpu_table()
    bad = {p: files for p, files in named.items() if p not in table}
    assert not bad, f"not a node label value of the GPU table (charts/llm-common/templates/_gpus.tpl): {bad}"


def profile_schema() -> dict:
    doc = yaml.safe_load(PIECE.read_text())
    return gen_schemas.strict(gen_schemas.resolve(doc["$defs"]["profile"], PIECE, doc))


def strip_profile(values: dict, chart: str) -> tuple[dict, dict]:
    """(values without the profile, the profile)."""
    values = copy.deepcopy(values)
    if chart == "kserve-llm":
        return values, values["inferenceServices"][0].pop("profile")
    prof = values["model"].pop("profile")
    if not values["model"]:
        del values["model"]
    return values, prof


# (chart, test-data config, the Hub id it is staged as in a local Hub cache, planner arguments)
CASES = [("vllm", "llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", ["--gpu", "NVIDIA-L4", "--max-model-len", "8192"]),
         ("vllm", "llama-3.1-70b", "meta-llama/Llama-3.1-70B-Instruct",
          ["--gpu", "H100", "--count", "4", "--max-model-len", "16384"]),
         ("tgi", "mistral-7b-v0.3", "mistralai/Mistral-7B-Instruct-v0.3", ["--gpu", "A10G", "--max-model-len", "4096"]),
         ("kserve-llm", "qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", ["--gpu", "L4", "--max-model-len", "8192"]),
         ("ray-llm", "mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1",
          ["--gpu", "NVIDIA-A100-SXM4-80GB", "--max-model-len", "32768"]),
         ("vllm", "gemma-2-9b", "google/gemma-2-9b-it", ["--gpu", "MI300X", "--max-model-len", "8192"])]


def stage(tmp_path, monkeypatch, config: str, hub_id: str) -> str:
    """Put a test config in a Hub cache under HF_HOME, as a download of hub_id would."""
    snap = tmp_path / "hf" / "hub" / ("models--" + hub_id.replace("/", "--")) / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    shutil.copy(DATA / config / "config.json", snap / "config.json")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return hub_id


@pytest.mark.parametrize("chart, model, hub_id, args", CASES, ids=[f"{c}-{m}" for c, m, _, _ in CASES])
def test_written_values_render_and_carry_a_valid_profile(chart, model, hub_id, args, helms, crd_dirs, tmp_path,
                                                         monkeypatch, capsys):
    out = tmp_path / f"{chart}.yaml"
    rc = cli.main(["plan", "--model", stage(tmp_path, monkeypatch, model, hub_id), *args, "--write-values", chart,
                   "-o", str(out)])
    assert rc == 0, capsys.readouterr()
    text = out.read_text()
    assert text.startswith(f"# chart: {chart}\n") and "KV cache tokens per replica" in text
    lint = subprocess.run([sys.executable, "-m", "yamllint", "-s", "-c", str(paths.ROOT / ".ct" / "lintconf.yaml"),
                           str(out)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout  # as a preset in values/ would be linted
    values, prof = strip_profile(yaml.safe_load(text), chart)
    jsonschema.Draft7Validator(profile_schema()).validate(prof)
    chart_dir = paths.CHARTS / chart
    rep = render_cache.report(helms, chart_dir, [out], crd_dirs, release="plan")  # with its profile: fit-checked
    assert rep.ok, rep.summary()
    assert hub_id in yaml.safe_dump(rep.objects)  # the model the chart loads is the one planned
    opt = dict(zip(args[::2], args[1::2]))
    count = plan.plan(modelcfg.load(hub_id), opt["--gpu"], max_model_len=int(opt["--max-model-len"]),
                      count=int(opt["--count"]) if "--count" in opt else None).count
    assert values["engine"].get("tensorParallelSize", values["engine"].get("numShard")) == count
    gpus = [int(v) for pod in pod_templates(rep.objects) for c in pod.containers()
            for k, v in ((c.get("resources") or {}).get("limits") or {}).items() if k.endswith("/gpu")]
    assert gpus and set(gpus) == {count}, gpus


def test_a_local_folder_needs_a_model_name_to_write_values(tmp_path, capsys):
    out = tmp_path / "v.yaml"
    args = ["plan", "--model", str(DATA / "llama-3.1-8b"), "--gpu", "L4", "--max-model-len", "8192",
            "--write-values", "vllm", "-o", str(out)]
    assert cli.main(args) == 2 and "--model-name" in capsys.readouterr().err and not out.exists()
    assert cli.main(args + ["--model-name", "/models/llama"]) == 0
    assert yaml.safe_load(out.read_text())["model"]["name"] == "/models/llama"


def test_profile_schema_refuses_a_broken_profile(tmp_path, capsys):
    out = tmp_path / "v.yaml"
    assert cli.main(["plan", "--model", str(DATA / "llama-3.1-8b"), "--gpu", "L4", "--max-model-len", "8192",
                     "--write-values", "vllm", "-o", str(out), "--model-name", "meta-llama/Llama-3.1-8B"]) == 0
    _, prof = strip_profile(yaml.safe_load(out.read_text()), "vllm")
    validator = jsonschema.Draft7Validator(profile_schema())
    for broken in ({k: v for k, v in prof.items() if k != "weightsBytes"}, {**prof, "weightsBytes": 0},
                   {**prof, "kvBytesPerTokens": 1}, {**prof, "slidingWindowLayers": 3}):
        assert list(validator.iter_errors(broken)), broken


def test_every_chart_plan_writes_is_an_app_chart():
    from llmcharts.plan_values import CHARTS
    assert set(CHARTS) <= {c.name for c in discovery.app_charts()}


def test_fp8_quantization_is_written_as_the_engine_flag(tmp_path, capsys):
    """--quantization fp8 sizes the weights in fp8 and makes the chart render --quantization fp8 (vLLM quantizes at
    load); an AWQ checkpoint is detected by vLLM, so no flag is written for it."""
    for method, flag in (("fp8", "fp8"), ("awq", None)):
        out = tmp_path / f"{method}.yaml"
        assert cli.main(["plan", "--model", str(DATA / "llama-3.1-70b"), "--gpu", "H100", "--count", "4",
                         "--max-model-len", "8192", "--quantization", method, "--write-values", "vllm", "-o", str(out),
                         "--model-name", "meta-llama/Llama-3.1-70B-Instruct"]) == 0, capsys.readouterr()
        values = yaml.safe_load(out.read_text())
        assert values["engine"].get("quantization") == flag
        assert values["model"]["profile"]["weightsBytes"] < 0.6 * 141e9
