"""Validates rendered Ray Serve configs with the pinned Ray's own models, without starting Ray.

Validate rendered Ray Serve configs (a RayService's serveConfigV2, or the ray-llm chart's serve ConfigMap) with
the pinned Ray's own models, without starting Ray. KubeRay types serveConfigV2 as a plain string, so neither the
CRD nor the API server looks inside it; Ray reads it only at deploy time.

Runs inside the engine venv (it imports ray, and vllm through Ray Serve LLM). Reads JSON
[{"id": ..., "config": "<serve config YAML>"}] on stdin; writes one JSON line on stdout:
{"ray": <version>, "vllm": <version>, "gpu_accelerator_types": [...],
 "results": {id: {"errors": [...], "llm_configs": [...]}}}.

Checked, in the order Ray applies them when it deploys the config:
1. ray.serve.schema.ServeDeploySchema.model_validate: applications, http_options, proxy_location, ...
2. Unknown keys in the Serve part. Ray's Serve schemas ignore unknown keys (pydantic's default), so a misspelled
   key there (rout_prefix, num_replica) would be dropped silently; here every key must be a field of the model it
   sits in, recursively.
3. Applications built by ray.serve.llm:build_openai_app: LLMServingArgs.model_validate(args), which is what
   build_openai_app does first (LLMConfig forbids unknown keys; accelerator_type must be one of Ray's types);
   LLMConfig.get_engine_config() for every model, which rejects an engine_kwargs name vLLM does not know
   ("Unknown engine argument: <name>"); deployment_config and ingress_deployment_config against Serve's
   DeploymentSchema (keys and values; autoscaling_config against AutoscalingConfig), because Ray passes them to
   serve.deployment(...).options(**config), where an unknown key fails only at deploy time.
Each llm_config's result also reports what the engine will ask Ray for (num_devices, placement bundles).

Usage (engine venv): PYTHONPATH=src python -m llmcharts.ray_serve_check < configs.json
From the harness: llmcharts.ray_serve_check.run({id: config_yaml}) runs it in the engine venv."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
LLM_APP = "ray.serve.llm:build_openai_app"


# ----------------------------------------------------------------- harness side (no ray needed)

def run(configs: dict[str, str], python: Path | None = None, timeout: int = 900) -> dict:
    """Validate {id: serve config YAML} in one engine-venv process (imports take ~10 s); returns the parsed output."""
    if python is None:
        from . import engine_env
        python = engine_env.engine_python()
    payload = json.dumps([{"id": k, "config": v} for k, v in configs.items()])
    r = subprocess.run([str(python), "-m", "llmcharts.ray_serve_check"], input=payload, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"ray_serve_check failed (rc {r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- engine-venv side

def _models_in(annotation) -> list:
    """Pydantic model classes a field annotation can hold (through Optional/Union/List, not Dict values)."""
    from pydantic import BaseModel
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None or origin in (dict, typing.Dict):
        return []
    out = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def unknown_keys(model, data, path: str) -> list[str]:
    """Keys of `data` that are not fields (or aliases) of the pydantic `model`, recursively into nested models."""
    if not isinstance(data, dict):
        return []
    fields = model.model_fields
    by_name = {**{f.alias: f for f in fields.values() if f.alias}, **fields}
    errors = []
    for key, value in data.items():
        field = by_name.get(key)
        if field is None:
            errors.append(f"{path}.{key}: not a field of Ray's {model.__name__}; Ray ignores or rejects it "
                          f"(known: {', '.join(sorted(fields))})")
            continue
        for sub in _models_in(field.annotation)[:1]:
            if isinstance(value, dict):
                errors += unknown_keys(sub, value, f"{path}.{key}")
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    errors += unknown_keys(sub, item, f"{path}.{key}[{i}]")
    return errors


def _pydantic_errors(exc, path: str) -> list[str]:
    if hasattr(exc, "errors"):
        return [f"{path}.{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}".replace("..", ".")
                for e in exc.errors()]
    return [f"{path}: {exc}"]


def check_deployment_config(dc, path: str) -> list[str]:
    """A Serve deployment options dict (LLMConfig.deployment_config, ingress_deployment_config)."""
    from ray.serve.config import AutoscalingConfig
    from ray.serve.schema import DeploymentSchema
    if not isinstance(dc, dict):
        return [f"{path}: must be a mapping of Serve deployment options"]
    errors = unknown_keys(DeploymentSchema, dc, path)
    try:
        DeploymentSchema.model_validate({"name": "x", **dc})
    except Exception as e:  # noqa: BLE001 - pydantic ValidationError or Ray's ValueError
        errors += _pydantic_errors(e, path)
    if isinstance(dc.get("autoscaling_config"), dict):
        try:
            AutoscalingConfig.model_validate(dc["autoscaling_config"])
        except Exception as e:  # noqa: BLE001
            errors += _pydantic_errors(e, f"{path}.autoscaling_config")
    return errors


def check_llm_app(args, path: str) -> tuple[list[str], list[dict]]:
    from ray.serve.llm import LLMServingArgs
    errors, summaries = [], []
    try:
        serving = LLMServingArgs.model_validate(args)
    except Exception as e:  # noqa: BLE001
        return _pydantic_errors(e, path), []
    if isinstance(args.get("ingress_deployment_config"), dict) and args["ingress_deployment_config"]:
        errors += check_deployment_config(args["ingress_deployment_config"], f"{path}.ingress_deployment_config")
    for i, cfg in enumerate(serving.llm_configs):
        where = f"{path}.llm_configs[{i}]"
        errors += check_deployment_config(cfg.deployment_config or {}, f"{where}.deployment_config")
        try:
            engine = cfg.get_engine_config()
        except Exception as e:  # noqa: BLE001 - "Unknown engine argument: <name>" is a ValueError
            errors.append(f"{where}.engine_kwargs: {e}")
            continue
        bundles = list(engine.placement_bundles or [])
        summaries.append({
            "model_id": cfg.model_loading_config.model_id,
            "accelerator_type": cfg.accelerator_type,
            "tensor_parallel_size": cfg.engine_kwargs.get("tensor_parallel_size", 1),
            "pipeline_parallel_size": cfg.engine_kwargs.get("pipeline_parallel_size", 1),
            "num_devices": engine.num_devices,
            "placement_strategy": engine.placement_strategy,
            "bundles": len(bundles),
            "bundle_gpus": sum(b.get("GPU", 0) for b in bundles),
        })
    return errors, summaries


def check_config(text: str) -> dict:
    import yaml
    from ray.serve.schema import ServeDeploySchema
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        return {"errors": [f"not YAML: {e}"], "llm_configs": []}
    if not isinstance(doc, dict):
        return {"errors": ["the serve config is not a mapping"], "llm_configs": []}
    errors = unknown_keys(ServeDeploySchema, doc, "$")
    try:
        ServeDeploySchema.model_validate(doc)
    except Exception as e:  # noqa: BLE001
        errors += _pydantic_errors(e, "$")
    summaries = []
    for i, app in enumerate(doc.get("applications") or []):
        if isinstance(app, dict) and app.get("import_path") == LLM_APP:
            errs, sums = check_llm_app(app.get("args") or {}, f"$.applications[{i}].args")
            errors += errs
            summaries += sums
    return {"errors": errors, "llm_configs": summaries}


def gpu_accelerator_types() -> list[str]:
    """The accelerator_type values LLMConfig accepts for NVIDIA and AMD GPUs, in Ray's order."""
    import ray.util.accelerators.accelerators as acc
    from ray.llm._internal.serve.core.configs.accelerators import AcceleratorType
    nvidia = {getattr(acc, k) for k in dir(acc) if k.startswith("NVIDIA_")}
    return [t.value for t in AcceleratorType if t.value in nvidia or t.value.startswith("AMD-")]


def main() -> int:
    import ray
    cases = json.load(sys.stdin)
    results = {c["id"]: check_config(c["config"]) for c in cases}
    try:
        import vllm
        vllm_version = vllm.__version__
    except ImportError:  # pragma: no cover - Ray Serve LLM needs it for engine_kwargs
        vllm_version = None
    out = {"ray": ray.__version__, "vllm": vllm_version, "gpu_accelerator_types": gpu_accelerator_types(),
           "results": results}
    sys.stdout.write("\n" + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
