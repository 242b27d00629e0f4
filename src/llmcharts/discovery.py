"""Which charts and values files the harness runs: application charts, their ci values and presets.

Which charts and values files the harness runs: every application chart under charts/, with its
ci/*-values.yaml files and the presets in values/<chart>/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from . import paths


def all_charts() -> list[Path]:
    return sorted(p.parent for p in paths.CHARTS.glob("*/Chart.yaml"))


def app_charts() -> list[Path]:
    return [c for c in all_charts() if (yaml.safe_load((c / "Chart.yaml").read_text()) or {}).get("type", "application") != "library"]


def chart_dir(name: str) -> Path:
    """charts/<name>; a SystemExit that lists the charts when there is no such chart."""
    chart = paths.CHARTS / name
    if not (chart / "Chart.yaml").exists():
        raise SystemExit(f"unknown chart {name!r}; charts: {', '.join(c.name for c in app_charts())}")
    return chart


@dataclass(frozen=True)
class Case:
    chart: Path
    values: Path

    @property
    def id(self) -> str:
        return f"{self.chart.name}:{self.values.relative_to(paths.ROOT)}"

    @property
    def release(self) -> str:
        """A release name from the file name (what a user would type), within Helm's 53 characters."""
        stem = self.values.stem.replace("-values", "").replace(".", "-").replace("_", "-").lower()
        return stem[:40].strip("-") or "release"


def cases() -> list[Case]:
    out = []
    for chart in app_charts():
        files = sorted((chart / "ci").glob("*.yaml")) + sorted((paths.VALUES / chart.name).glob("*.yaml"))
        out += [Case(chart, f) for f in files]
    return out


def presets() -> list[Case]:
    return [c for c in cases() if paths.VALUES in c.values.parents]
