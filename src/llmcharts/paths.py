"""Where things are: the repository, the pinned tools, the custom-resource schemas and the Kubernetes range."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
VALUES = ROOT / "values"
TOOLS_BIN = ROOT / ".tools" / "bin"
CACHE = ROOT / ".cache"
# The custom-resource schemas, written by scripts/sync_crd_schemas.py from pinned upstream CRDs (see SOURCES.md there).
CRD_SCHEMAS = ROOT / "schemas" / "crds"

# Oldest and newest Kubernetes minor the charts support (README "Supported versions"). The oldest is set by
# the preStop sleep action (beta, on by default, since 1.30).
K8S_VERSIONS = ("1.30", "1.37")

# Helm binaries the harness renders with; every render must give identical objects under both.
HELM_NAMES = ("helm3", "helm4")


def helm_path(name: str) -> Path:
    return TOOLS_BIN / name


def crd_dirs() -> list[Path]:
    """Raw CRD directories that replace the in-repo schemas (schemas/crds), from LLMCHARTS_CRD_DIRS
    (os.pathsep-separated; each entry one set, e.g. a release's CRD files). Empty: use the in-repo schemas."""
    env = os.environ.get("LLMCHARTS_CRD_DIRS")
    if not env:
        return []
    dirs = [Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise SystemExit(f"LLMCHARTS_CRD_DIRS: not a directory: {', '.join(missing)}")
    return dirs
