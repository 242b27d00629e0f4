"""Stages the tiny test model where a local vLLM container looks for its weights.

The tiny test model staged where a local vLLM container looks for its weights (a Hub cache entry or a model
folder), so a preset's arguments run unchanged, offline."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .. import engine_env
from .images import RunnerError

SRC = Path(__file__).resolve().parents[2]


def stage_tiny_model_for(c) -> str | None:
    """Put the tiny model where a vLLM container will look for its model: a local path (already mapped to a
    host folder) gets a model folder; a Hub id gets a Hub cache entry under the container's HF_HOME (the
    runner sets HF_HUB_OFFLINE=1, so nothing is downloaded). Returns what was staged."""
    argv = c.argv()
    if "vllm.entrypoints.openai.api_server" not in argv:
        return None
    model = next((argv[i + 1] for i, a in enumerate(argv) if a == "--model"), None) or next(
        (a.split("=", 1)[1] for a in argv if a.startswith("--model=")), None)
    if not model:
        raise RunnerError(f"{c.pod.name}/{c.name}: no --model in {argv}")
    for i, a in enumerate(argv):  # --lora-modules name=path ...: a tiny adapter at each path
        if a == "--lora-modules":
            for spec in argv[i + 1:]:
                if spec.startswith("-"):
                    break
                path = spec.split("=", 1)[1] if "=" in spec else ""
                if path.startswith("/") and not (Path(path) / "adapter_config.json").exists():
                    _tinymodel(path, "--lora")
    if model.startswith("/"):
        stage_model_dir(Path(model))
        return model
    hf_home = c.env().get("HF_HOME")
    if not hf_home:
        hf_home = c.env_overrides["HF_HOME"] = str(c.pod.dir / "hf-home")
    revision = next((argv[i + 1] for i, a in enumerate(argv) if a == "--revision"), None) or next(
        (a.split("=", 1)[1] for a in argv if a.startswith("--revision=")), None)
    stage_model(Path(hf_home), model, revision)
    return f"{model} (Hub cache in {hf_home})"


def _tinymodel(*args: str) -> None:
    subprocess.run([str(engine_env.engine_python()), "-m", "llmcharts.tinymodel", *args], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(SRC)})


def stage_model(hf_home: Path, repo_id: str, revision: str | None = None) -> None:
    """Write the tiny test model as a Hub cache entry for repo_id under hf_home (the engine loads it offline), at
    the pinned revision when the release names one (a 40-hex commit; else the entry's default, 0...0)."""
    hf_home.mkdir(parents=True, exist_ok=True)
    revision = revision if revision and len(revision) == 40 else None
    entry = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    if not (entry / "snapshots" / (revision or "0" * 40)).exists():
        _tinymodel(str(hf_home), "--hub-repo", repo_id, *(["--revision", revision] if revision else []))


def stage_model_dir(path: Path) -> None:
    """Write the tiny test model as a plain model folder (for charts that load a local path)."""
    if (path / "config.json").exists():
        return
    if path.exists():
        shutil.rmtree(path)
    _tinymodel(str(path))
