"""Where things are: the repository, the pinned tools, the CRD directories and the Kubernetes range."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
VALUES = ROOT / "values"
TOOLS_BIN = ROOT / ".tools" / "bin"

# Oldest and newest Kubernetes minor the charts support (README "Supported versions"). The oldest is set by
# the preStop sleep action (beta, on by default, since 1.30).
K8S_VERSIONS = ("1.30", "1.37")

# Helm binaries the harness renders with; every render must give identical objects under both.
HELM_NAMES = ("helm3", "helm4")


def helm_path(name: str) -> Path:
    return TOOLS_BIN / name


def crd_dirs() -> list[Path]:
    """CRD sets to validate custom resources against, from LLMCHARTS_CRD_DIRS (os.pathsep-separated).

    Each entry is one set (a directory tree of CRD YAML files, e.g. the current releases, or older ones for
    compatibility). Unset: ../shared/crds and ../shared/crds-compat beside the repository, where they exist.
    """
    env = os.environ.get("LLMCHARTS_CRD_DIRS")
    if env:
        dirs = [Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p]
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            raise SystemExit(f"LLMCHARTS_CRD_DIRS: not a directory: {', '.join(missing)}")
        return dirs
    shared = ROOT.parent / "shared"
    return [d for d in (shared / "crds", shared / "crds-compat") if d.is_dir()]
