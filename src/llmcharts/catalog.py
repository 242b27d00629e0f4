"""The values catalog: each GPU preset's model profile from the planner, new presets, and values/README.md.

Every GPU preset in values/<chart>/ is sized by the planner from a published model config (tests/data/model-configs)
with the preset's own engine values (GPUs, tensor parallel, context, memory utilisation, KV-cache dtype, fp8), and
carries the result as its model profile (the chart's fit check reads it). values/catalog.yaml says which config
sizes which preset; the presets it marks `new` are written whole by the planner (plan_values) when missing, and never
overwritten afterwards (others edit presets too), so only their profile block is kept current. values/README.md is
written from the presets: each row with the planner's KV cache tokens and concurrency at the preset's context.
scripts/gen_catalog.py runs it; tests/static/test_catalog.py fails when a profile or the README is stale."""
from __future__ import annotations

import re
from dataclasses import dataclass
import yaml

from . import modelcfg, paths, plan, plan_values

DATA = paths.ROOT / "tests" / "data" / "model-configs"


@dataclass(frozen=True)
class Spec:
    """A GPU preset values/<file>, sized from DATA/<config> (an entry of values/catalog.yaml). New presets
    (new=True) are written from hub, gpu, count and length; existing ones are read."""
    file: str
    config: str
    model: str                       # the catalog's model column
    hardware: str = ""
    seed: str = ""
    new: bool = False
    hub: str = ""
    gpu: str = ""
    count: int = 1
    length: int = 0
    quantization: str | None = None
    kv_cache_dtype: str = "auto"
    check_on: str = ""


def load_specs() -> list[Spec]:
    """values/catalog.yaml: one entry per GPU preset (its comments say what each key means)."""
    out = []
    for entry in yaml.safe_load((paths.VALUES / "catalog.yaml").read_text())["presets"]:
        new = entry.pop("new", None)
        out.append(Spec(**entry, **(new or {}), new=bool(new)))
    return out


SPECS = load_specs()
BY_FILE = {s.file: s for s in SPECS}


def chart_of(spec: Spec) -> str:
    return spec.file.split("/")[0]


def engine_args(chart: str, values: dict) -> dict:
    """The planner's arguments from a preset's values: its GPUs, tensor parallel size, context and memory flags."""
    if chart == "kserve-llm":
        item = (values.get("inferenceServices") or [{}])[0]
        values = {**values, "engine": {**(values.get("engine") or {}), **(item.get("engine") or {})},
                  "accelerator": {**(values.get("accelerator") or {}), **(item.get("accelerator") or {})}}
    acc = (values.get("worker") or {}).get("accelerator") if chart == "ray-llm" else values.get("accelerator")
    e = values.get("engine") or {}
    if chart == "tgi":
        return {"count": e.get("numShard", 1), "max_model_len": e.get("maxTotalTokens"), "util": 0.9,
                "product": (acc or {}).get("product")}
    out = {"count": e.get("tensorParallelSize", 1), "max_model_len": e.get("maxModelLen"),
           "util": e.get("gpuMemoryUtilization") or 0.9, "product": (acc or {}).get("product"),
           "kv_cache_dtype": e.get("kvCacheDtype") or "auto", "pp": e.get("pipelineParallelSize") or 1}
    for key, arg in (("maxNumSeqs", "max_num_seqs"), ("maxNumBatchedTokens", "max_num_batched_tokens")):
        if e.get(key):
            out[arg] = e[key]
    if e.get("quantization") == "fp8":
        out["quantization"] = "fp8"
    return out


def model_name(chart: str, values: dict) -> str:
    if chart == "vllm":
        return values["model"]["name"]
    if chart == "tgi":
        return values["engine"]["modelId"]
    if chart == "ray-llm":
        return values["model"].get("source") or values["model"]["id"]
    return values["inferenceServices"][0]["storageUri"].removeprefix("hf://")


def plan_for(spec: Spec, values: dict | None = None) -> tuple[plan.Plan, modelcfg.Model, dict]:
    """The planner's plan for a preset (from its values, or from the spec for a new one), the model, the args."""
    model = modelcfg.load(str(DATA / spec.config))
    if values is None:
        args = {"count": spec.count, "max_model_len": spec.length, "util": 0.9, "product": spec.gpu,
                "kv_cache_dtype": spec.kv_cache_dtype}
        if spec.quantization:
            args["quantization"] = spec.quantization
    else:
        args = engine_args(chart_of(spec), values)
        if spec.quantization and "quantization" not in args:
            args["quantization"] = spec.quantization
    kw = {k: v for k, v in args.items() if k not in ("product", "pp")}
    p = plan.plan(model, args["product"] or spec.check_on, **kw)
    return p, model, args


def profile_for(spec: Spec, values: dict) -> dict:
    p, model, _ = plan_for(spec, values)
    return plan_values.profile(p, model, model_name(chart_of(spec), values))


def command(spec: Spec) -> str:
    out = f"llmcharts plan --model tests/data/model-configs/{spec.config} --gpu {spec.gpu}"
    out += f" --count {spec.count} --max-model-len {spec.length}"
    out += f" --quantization {spec.quantization}" if spec.quantization else ""
    out += f" --kv-cache-dtype {spec.kv_cache_dtype}" if spec.kv_cache_dtype != "auto" else ""
    return out + f" --model-name {spec.hub} --write-values {chart_of(spec)} -o values/{spec.file}"


def write_new(spec: Spec) -> str:
    p, model, _ = plan_for(spec)
    return plan_values.render(chart_of(spec), p, model, spec.hub, command(spec), f"values/{spec.file}")


# -- the profile block of a preset, replaced in place (the rest of the file is left as it is)

def _block(lines: list[str], start: int, indent: int) -> int:
    """The end (exclusive) of the block whose key is at lines[start], children indented more than `indent`."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def set_profile(text: str, chart: str, profile: dict) -> str:
    """The preset text with `profile` at model.profile (inferenceServices[0].profile in kserve-llm)."""
    lines = text.split("\n")
    if chart == "kserve-llm":
        top = lines.index("inferenceServices:")
        start = next(i for i in range(top + 1, len(lines)) if lines[i].lstrip().startswith("- "))
        indent = len(lines[start]) - len(lines[start].lstrip())
        key_indent = indent + 2
    else:
        if "model:" not in lines:
            at = lines.index("engine:")
            lines[at:at] = ["model:", ""]
        start, indent, key_indent = lines.index("model:"), 0, 2
    end = _block(lines, start, indent)
    for i in range(start + 1, end):
        if lines[i] == " " * key_indent + "profile:":
            lines[i:_block(lines, i, key_indent)] = []
            end = _block(lines, start, indent)
            break
    block = yaml.safe_dump({"profile": profile}, sort_keys=False, default_flow_style=False).rstrip("\n").split("\n")
    lines[end:end] = [" " * key_indent + l for l in block]
    return "\n".join(lines)


# -- values/README.md

INTRO = """# Values catalog

<!-- Generated by scripts/gen_catalog.py (src/llmcharts/catalog.py) from the presets: edit them or the catalog's
     specs, then run it (tests/static/test_catalog.py fails when this file is stale). -->

Presets platform teams copy and override: one file per model x engine x hardware. Each file starts with the
chart it targets, the hardware, the exact `helm install` command and why every setting is what it is. Every
file here is rendered with helm 3 and helm 4, validated and checked by the harness on every CI run
(`tests/static/test_render_matrix.py`), and every vLLM command line is parsed by the pinned vLLM's own parser
(`tests/engine/test_engine_flags.py`).

Every GPU preset carries its model's profile (`model.profile`; `inferenceServices[].profile` in kserve-llm):
weights and KV-cache bytes that `llmcharts plan` computed from the model's published `config.json`
(`tests/data/model-configs`), which the chart's fit check compares with the GPUs the preset asks for. The last
columns are the planner's prediction for one replica at the preset's context length (vLLM {vllm}'s memory
model): KV cache tokens, and how many sequences of that length fit at once. DeepSeek-R1 distills are sized from
their base model's config (the same architecture). Presets marked *planner* were written by
`llmcharts plan --write-values` (the command is in their header); [catalog.yaml](catalog.yaml) says which config
sizes which preset.

| preset | chart | model | hardware | from the seed | context | KV cache tokens | sequences at once |
|---|---|---|---|---|---|---|---|
"""

PRODUCTION = """
A preset marked `global.production: true` (today: {presets}) must pin its Hub model to a commit; the charts refuse
it otherwise, naming the revision to set.
"""

OUTRO = """
`local/cpu.yaml` is not a preset but an overlay: on top of any vLLM preset it changes only what a CPU node needs
(the end-to-end tests and the local `scripts/deploy` use it).
"""

# Presets without a GPU (or an umbrella over several): listed, not sized.
OTHERS = {
    "llm-stack/seed-gateway.yaml": ("the four above, by model name", "gateway pods (CPU)", "the API gateway"),
    "vllm/qwen2.5-0.5b-cpu.yaml": ("Qwen2.5-0.5B-Instruct", "CPU only", ""),
    "llm-stack/cpu-local.yaml": ("gateway + Qwen2.5-0.5B on vLLM", "CPU only",
                                 "(what `scripts/deploy` runs locally)"),
}


def readme() -> str:
    rows = []
    for spec in SPECS:
        values = yaml.safe_load((paths.VALUES / spec.file).read_text())
        p, _, args = plan_for(spec, values)
        hardware = spec.hardware or f"{p.count} x {p.gpu}"
        note = " *planner*" if spec.new else ""
        # The planner sizes tensor parallelism within a node; pipeline stages split the layers further.
        numbers = f"{p.kv_cache_tokens:,} | {p.max_concurrent_sequences:.1f}" if args.get("pp", 1) == 1 else \
            "pipeline parallel: not sized | "
        rows.append(f"| [{spec.file}]({spec.file}) | {chart_of(spec)} | {spec.model}{note} | {hardware} | {spec.seed} "
                    f"| {p.max_model_len:,} | {numbers} |")
    for file, (model, hardware, seed) in OTHERS.items():
        rows.append(f"| [{file}]({file}) | {file.split('/')[0]} | {model} | {hardware} | {seed} | | | |")
    production = sorted(str(f.relative_to(paths.VALUES)) for f in paths.VALUES.glob("*/*.yaml")
                        if ((yaml.safe_load(f.read_text()) or {}).get("global") or {}).get("production"))
    marked = PRODUCTION.replace("{presets}", ", ".join(f"`{f}`" for f in production)) if production else ""
    return INTRO.replace("{vllm}", plan.VLLM_VERSION) + "\n".join(rows) + "\n" + marked + OUTRO


def update(write: bool) -> list[str]:
    """Bring every preset's profile, the new presets and the README up to date; the stale paths (written when
    `write`)."""
    stale = []
    for spec in SPECS:
        path = paths.VALUES / spec.file
        if not path.exists():
            stale.append(str(path.relative_to(paths.ROOT)))
            if write:
                path.write_text(write_new(spec))
            continue
        text = path.read_text()
        want = set_profile(text, chart_of(spec), profile_for(spec, yaml.safe_load(text)))
        if want != text:
            stale.append(str(path.relative_to(paths.ROOT)))
            if write:
                path.write_text(want)
    path = paths.VALUES / "README.md"
    if path.read_text() != readme():
        stale.append(str(path.relative_to(paths.ROOT)))
        if write:
            path.write_text(readme())
    return stale
