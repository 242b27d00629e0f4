"""Checks a chart with values files: helm 3 and 4 agree, strict schemas pass, every invariant holds.

Render one chart with one set of values files under every pinned helm (concurrently), and check the result:
helm 3 and helm 4 give identical objects, every object validates strictly (Kubernetes schemas for the
oldest and newest supported minor, every release's CRD schema and CEL rules for custom resources), and every
invariant holds."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import invariants, paths, validate
from .discovery import chart_dir
from .helm import Helm, Render, build_all_dependencies, template_all


def _key(o: dict) -> tuple:
    return (o.get("apiVersion", ""), o.get("kind", ""), (o.get("metadata") or {}).get("namespace", ""),
            (o.get("metadata") or {}).get("name", ""))


@dataclass
class Report:
    chart: str
    values: list[str]
    renders: dict[str, Render] = field(default_factory=dict)
    render_errors: list[str] = field(default_factory=list)
    helm_diffs: list[str] = field(default_factory=list)
    schema: list[validate.ObjectReport] = field(default_factory=list)
    violations: list[invariants.Violation] = field(default_factory=list)

    @property
    def objects(self) -> list[dict]:
        first = next(iter(self.renders.values()), None)
        return first.objects if first else []

    @property
    def schema_errors(self) -> list[str]:
        return [f"{r.ref}: {e}" for r in self.schema for e in r.errors]

    @property
    def ok(self) -> bool:
        return not (self.render_errors or self.helm_diffs or self.schema_errors or self.violations)

    def summary(self) -> str:
        lines = [f"chart {self.chart} with {', '.join(self.values) or '(defaults)'}"]
        for name, r in self.renders.items():
            lines.append(f"  render {name}: {'ok, ' + str(len(r.objects)) + ' objects' if r.ok else 'FAILED'}")
        lines += [f"  render error: {e}" for e in self.render_errors]
        lines += [f"  helm 3 vs 4: {d}" for d in self.helm_diffs]
        checked = sum(len(r.validated_against) for r in self.schema)
        rules = sum(r.cel_rules for r in self.schema)
        lines.append(f"  schema: {len(self.schema)} objects, {checked} validations, {rules} CEL rule evaluations, "
                     f"{len(self.schema_errors)} errors")
        lines += [f"    {e}" for e in self.schema_errors]
        lines.append(f"  invariants: {len(invariants.ALL)} checked, {len(self.violations)} violations")
        lines += [f"    {v}" for v in self.violations]
        lines.append("  result: " + ("OK" if self.ok else "FAILED"))
        return "\n".join(lines)


def check(chart: Path, values: list[Path], helms: list[Helm], release: str = "check",
          namespace: str = "llm-test", crd_dirs=None) -> Report:
    renders = template_all(helms, chart, values, release=release, namespace=namespace)
    return judge(chart, values, renders, crd_dirs)


def judge(chart: Path, values: list[Path], renders: list[Render], crd_dirs=None) -> Report:
    """The checks on renders already made (one per helm): agreement, strict schemas with CEL rules, invariants.
    crd_dirs: raw CRD directories instead of the in-repo schemas (default: LLMCHARTS_CRD_DIRS, else in-repo)."""
    rep = Report(chart.name, [str(v) for v in values])
    for r in renders:
        rep.renders[r.helm] = r
        if not r.ok:
            rep.render_errors.append(f"{r.helm}: {r.error}")
    if rep.render_errors:
        return rep
    base = {_key(o): o for o in renders[0].objects}
    for other in renders[1:]:
        theirs = {_key(o): o for o in other.objects}
        for k in sorted(set(base) | set(theirs), key=str):
            if base.get(k) != theirs.get(k):
                rep.helm_diffs.append(f"{'/'.join(k[1:])}: {renders[0].helm} and {other.helm} differ")
    rep.schema = validate.validate_objects(rep.objects, paths.K8S_VERSIONS,
                                           paths.crd_dirs() if crd_dirs is None else crd_dirs)
    rep.violations = invariants.run_all(rep.objects)
    return rep


def check_command(chart: str, values: list[str], helm: str = "both", release: str = "check",
                  namespace: str = "default", show: bool = False) -> int:
    """`llmcharts check`: the report of charts/<chart> with these values under one helm or both; exit status 0 when
    everything passes."""
    helms = [Helm(n) for n in (paths.HELM_NAMES if helm == "both" else [helm])]
    path = chart_dir(chart)
    build_all_dependencies(helms[0], [path])
    rep = check(path, [Path(f) for f in values], helms, release=release, namespace=namespace)
    if show and rep.renders:
        print(next(iter(rep.renders.values())).stdout)
    print(rep.summary())
    return 0 if rep.ok else 1
