#!/usr/bin/env python3
"""Write the custom-resource schemas the harness validates against (schemas/crds/) from pinned upstream CRD files.

    sync_crd_schemas.py --from DIR [--from DIR2]   take the pinned files from DIR (any layout: files are found by
                                                  sha256, e.g. a checkout's config/crd or a CI machine's CRD folder)
    sync_crd_schemas.py --download                fetch the pinned files from their release commits (needs internet);
                                                  they are kept in .cache/crd-upstream/ for later runs
    sync_crd_schemas.py --check [...]             write nothing; exit 1 and name what differs if schemas/crds/ is not
                                                  exactly what the inputs give (the drift test runs this)

Without --from, $LLMCHARTS_CRD_UPSTREAM (os.pathsep-separated directories) and .cache/crd-upstream/ are searched.
A file whose sha256 is not the pinned one is never used. Output (deterministic: sorted keys, one JSON document
per group/kind/version per release, descriptions stripped, `x-kubernetes-validations` kept):

    schemas/crds/<release>/<group>/<kind>_<version>.json   the version's openAPIV3Schema
    schemas/crds/index.json                                 apiVersion/kind -> release, file, plural, scope
    schemas/crds/SOURCES.md                                 project, tag, commit, upstream path, sha256 per input
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from llmcharts.crds import compact

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas" / "crds"
CACHE = ROOT / ".cache" / "crd-upstream"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Pin:
    release: str   # the folder under schemas/crds/: <project>@<tag>
    repo: str      # github owner/name
    tag: str
    commit: str    # the tag's commit: the download URL uses it, so a moved tag cannot change the input
    path: str      # the file at that commit
    sha256: str

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"


_KSERVE_20 = ("kserve@v0.20.0", "kserve/kserve", "v0.20.0", "1fb781055dd1567164358233e1125142ca6ef1fe")
_KSERVE_15 = ("kserve@v0.15.2", "kserve/kserve", "v0.15.2", "d623ea29e4a7312e509829f9104209cd6f820268")
_RAY_17 = ("kuberay@v1.7.0", "ray-project/kuberay", "v1.7.0", "59d663aeec13760646da3db9c1cf8cfe883e30b7")
_RAY_13 = ("kuberay@v1.3.2", "ray-project/kuberay", "v1.3.2", "66e4132c0d3f0fe1f258004073284583994b2341")
_PROM = ("prometheus-operator@v0.93.0", "prometheus-operator/prometheus-operator", "v0.93.0",
         "f8fafd475f3d132e239432ae6172de60a6cb6516")

# Every CRD the charts render (and the ones KServe's LLMInferenceService brings: LeaderWorkerSet, InferencePool),
# at both supported releases where the README claims two (KServe 0.15 and 0.20, KubeRay 1.3 and 1.7).
PINS = (
    Pin(*_KSERVE_20, "config/crd/full/serving.kserve.io_servingruntimes.yaml",
        "380a3e1e1444cef9b8b88819596692728868205a2147dc66423be469a4a7bbb1"),
    Pin(*_KSERVE_20, "config/crd/full/serving.kserve.io_clusterservingruntimes.yaml",
        "c6f6bbb1b4b11afd1e38bd6d7255a8795b86efa2b7d14946ccff9d23592e6846"),
    Pin(*_KSERVE_20, "config/crd/full/serving.kserve.io_inferenceservices.yaml",
        "57c3bf13f77de94678bf2ae3748056ec071ad2b9e88d6a28f44fb4710758fcff"),
    Pin(*_KSERVE_20, "config/crd/full/llmisvc/serving.kserve.io_llminferenceservices.yaml",
        "4377745d253c5c6407ccd46aecdfadcea160ba77a0976dd2d112f0ca9a1ac53f"),
    Pin(*_KSERVE_15, "config/crd/full/serving.kserve.io_servingruntimes.yaml",
        "361eb7b56c3335e114cec9edc22ca1b40029cf0d487dad5a366baccaf3c66cd6"),
    Pin(*_KSERVE_15, "config/crd/full/serving.kserve.io_clusterservingruntimes.yaml",
        "2f81f42bcc4949664e1d983712a9f16d60f8befe45a1993a934d4b952ad7f2b3"),
    Pin(*_KSERVE_15, "config/crd/full/serving.kserve.io_inferenceservices.yaml",
        "43bcb3aef9c6308135ef122f48800230058b710eae98c26ff03da29940525e4e"),
    Pin(*_RAY_17, "ray-operator/config/crd/bases/ray.io_rayclusters.yaml",
        "c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1"),
    Pin(*_RAY_17, "ray-operator/config/crd/bases/ray.io_rayservices.yaml",
        "0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab"),
    Pin(*_RAY_13, "ray-operator/config/crd/bases/ray.io_rayclusters.yaml",
        "fe2dc05df802e2aa2f1940c0f102bd0ad47887bdf50b9fb86dab8f86c90cdab2"),
    Pin(*_RAY_13, "ray-operator/config/crd/bases/ray.io_rayservices.yaml",
        "95d57238ca86e3201091b7ab53cda7bce9a7d27d69daebe2717b2f54a3a94e3f"),
    Pin("lws@v0.10.0", "kubernetes-sigs/lws", "v0.10.0", "2161f38ff333f9e24d3c44adef7cd5d9787cac00",
        "config/crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml",
        "c5dcad8ed943e495490241f00b9a1b45d51203b6d484020db3636d5bf553568e"),
    # GAIE v1.6.0 ships only the GA v1 InferencePool; the alpha v1alpha2 one last shipped in v1.4.0.
    Pin("gateway-api-inference-extension@v1.6.0", "kubernetes-sigs/gateway-api-inference-extension", "v1.6.0",
        "992e5c292afb248801ce8d9234eb5b9d28eea231", "config/crd/bases/inference.networking.k8s.io_inferencepools.yaml",
        "55e0dbf39c50c4bbdd60106493a4573df4bb44479f9ce46762f1af718883e5cd"),
    Pin("gateway-api-inference-extension@v1.4.0", "kubernetes-sigs/gateway-api-inference-extension", "v1.4.0",
        "6e787dd396f0228c31cf6fc5187a13c6b4991a0b",
        "config/crd/bases/inference.networking.x-k8s.io_inferencepools.yaml",
        "449c5135bf65fdef2f5b925cc1632c0ac23f75e0e1f77aa6e21caadc4703f1e3"),
    Pin(*_PROM, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"),
    Pin(*_PROM, "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
        "45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"),
    Pin("keda@v2.20.2", "kedacore/keda", "v2.20.2", "68a5b5028f35b22d50597c69819ab32c4e92f21a",
        "config/crd/bases/keda.sh_scaledobjects.yaml",
        "af35555862a83933b074af14ad439c4b4ceabaf4daa3e9338e9b23e36d308d80"),
    # The llm-stack gateway's HTTPRoute (gateway.httpRoute): Gateway API's standard channel.
    Pin("gateway-api@v1.6.1", "kubernetes-sigs/gateway-api", "v1.6.1", "8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3",
        "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
        "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852"),
)

# Served versions the charts never render, left out to keep the folder small: KubeRay's v1alpha1 (deprecated
# upstream; the ray-llm chart renders ray.io/v1).
SKIP_VERSIONS = {("ray.io", "v1alpha1")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def search_dirs(args_from: list[str]) -> list[Path]:
    if args_from:
        return [Path(d) for d in args_from]
    env = os.environ.get("LLMCHARTS_CRD_UPSTREAM", "")
    return [Path(d) for d in env.split(os.pathsep) if d] + [CACHE]


def locate(dirs: list[Path]) -> tuple[dict, list[str]]:
    """Pin -> a file with the pinned sha256 under one of dirs, and what is missing or altered."""
    pinned = {p.sha256 for p in PINS}
    names = {Path(p.path).name for p in PINS}
    by_sha: dict[str, Path] = {}
    refused: list[Path] = []
    for d in dirs:
        for f in sorted(d.rglob("*.y*ml")) if d.is_dir() else []:
            if f.name in names or f.parent == CACHE:
                h = sha256(f)
                if h in pinned:
                    by_sha.setdefault(h, f)
                else:
                    refused.append(f)
    found, problems = {}, []
    for p in PINS:
        if p.sha256 in by_sha:
            found[p] = by_sha[p.sha256]
        else:
            same_name = [str(f) for f in refused if f.name == Path(p.path).name]
            problems.append(f"{p.release} {p.path}: no file with sha256 {p.sha256}"
                            + (f" (refused, sha256 differs: {', '.join(same_name)})" if same_name else ""))
    return found, problems


def download(missing: list[Pin]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for p in missing:
        with urllib.request.urlopen(p.url, timeout=60) as r:  # noqa: S310 (pinned https URL)
            data = r.read()
        got = hashlib.sha256(data).hexdigest()
        if got != p.sha256:
            raise SystemExit(f"sync_crd_schemas: {p.url}: sha256 {got}, pinned {p.sha256}; not used")
        (CACHE / f"{p.sha256}.yaml").write_bytes(data)
        print(f"sync_crd_schemas: downloaded {p.url}", file=sys.stderr)


def dump(doc) -> str:
    """Stable formatting: sorted keys, one value per line, no indent (diffs stay readable, the folder small)."""
    return json.dumps(doc, sort_keys=True, indent=0, separators=(",", ":"), ensure_ascii=False) + "\n"


def build(found: dict, out: Path, pins: tuple = PINS) -> None:
    index = []
    rows = ["# Custom-resource schemas: sources", "",
            "Written by `scripts/sync_crd_schemas.py` from the upstream files below (exact bytes, checked by sha256;",
            "every upstream repository is Apache-2.0). Each `<release>/<group>/<kind>_<version>.json` is the",
            "version's `openAPIV3Schema` with descriptions stripped; `x-kubernetes-validations` (CEL) are kept.", "",
            "| Project | Release | Commit | Upstream path | sha256 | Schemas |", "|---|---|---|---|---|---|"]
    for p in pins:
        written = []
        for doc in yaml.load_all(found[p].read_text(), Loader=_Loader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for ver in spec["versions"]:
                schema = (ver.get("schema") or {}).get("openAPIV3Schema")
                if not ver.get("served") or not schema or (spec["group"], ver["name"]) in SKIP_VERSIONS:
                    continue
                rel = f"{p.release}/{spec['group']}/{spec['names']['kind'].lower()}_{ver['name']}.json"
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_text(dump(compact(schema)))
                index.append({"apiVersion": f"{spec['group']}/{ver['name']}", "kind": spec["names"]["kind"],
                              "release": p.release, "file": rel, "plural": spec["names"]["plural"],
                              "namespaced": spec.get("scope") == "Namespaced"})
                written.append(f"`{spec['names']['kind']}` {ver['name']}")
        rows.append(f"| {p.repo} | `{p.tag}` | `{p.commit}` | `{p.path}` | `{p.sha256}` | {', '.join(written)} |")
    index.sort(key=lambda e: (e["apiVersion"], e["kind"], e["release"]))
    (out / "index.json").write_text(dump(index))
    (out / "SOURCES.md").write_text("\n".join(rows) + "\n")


def differences(a: Path, b: Path) -> list[str]:
    files = lambda d: {f.relative_to(d).as_posix() for f in d.rglob("*") if f.is_file()}  # noqa: E731
    fa, fb = files(a), files(b)
    return ([f"missing: {f}" for f in sorted(fb - fa)] + [f"not produced by the inputs: {f}" for f in sorted(fa - fb)]
            + [f"differs: {f}" for f in sorted(fa & fb) if (a / f).read_bytes() != (b / f).read_bytes()])


def check_available(found: dict, out: Path) -> list[str]:
    """With some inputs absent: every file, index entry and SOURCES row the present inputs make must be in out as
    made (what the absent inputs made cannot be checked here)."""
    with tempfile.TemporaryDirectory() as tmp:
        build(found, Path(tmp), pins=tuple(p for p in PINS if p in found))
        made = Path(tmp)
        diff = [f"differs or missing: {f.relative_to(made).as_posix()}" for f in sorted(made.rglob("*.json"))
                if f.name != "index.json" and (not (out / f.relative_to(made)).is_file()
                                               or (out / f.relative_to(made)).read_bytes() != f.read_bytes())]
        have = json.loads((out / "index.json").read_text()) if (out / "index.json").is_file() else []
        diff += [f"index.json lacks {e['apiVersion']} {e['kind']} ({e['release']})"
                 for e in json.loads((made / "index.json").read_text()) if e not in have]
        rows = set((out / "SOURCES.md").read_text().splitlines()) if (out / "SOURCES.md").is_file() else set()
        diff += [f"SOURCES.md lacks: {r}" for r in (made / "SOURCES.md").read_text().splitlines()
                 if r.startswith("| ") and not r.startswith("| Project") and r not in rows]
    return diff


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="from_", action="append", default=[], metavar="DIR")
    ap.add_argument("--download", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--check-available", action="store_true",
                    help="check what the inputs that are here make, and name the absent ones (exit 0 if no drift)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    found, problems = locate(search_dirs(args.from_))
    if problems and args.download:
        download([p for p in PINS if p not in found])
        found, problems = locate([*search_dirs(args.from_), CACHE])
    if problems and args.check_available and found:
        diff = check_available(found, args.out)
        print(f"sync_crd_schemas: checked {len(found)} of {len(PINS)} inputs; absent, not checked here:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        if diff:
            print(f"sync_crd_schemas: {args.out} drifted from its inputs (rerun the script):\n  " + "\n  ".join(diff),
                  file=sys.stderr)
            return 1
        return 0
    if problems:
        print("sync_crd_schemas: inputs missing:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        build(found, Path(tmp))
        if args.check:
            diff = differences(args.out, Path(tmp)) if args.out.is_dir() else [f"{args.out} does not exist"]
            if diff:
                print(f"sync_crd_schemas: {args.out} drifted from its inputs (rerun the script):\n  "
                      + "\n  ".join(diff), file=sys.stderr)
                return 1
            print(f"sync_crd_schemas: {args.out} matches its {len(PINS)} pinned inputs")
            return 0
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(tmp, args.out)
    print(f"sync_crd_schemas: wrote {args.out} from {len(PINS)} pinned inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
