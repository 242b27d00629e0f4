"""Shared fixtures: the pinned helm binaries (dependencies built once per session), cached renders of every
chart x values file, and counters printed at the end of the run."""
from __future__ import annotations

import collections
import time

import pytest

from llmcharts import discovery, invariants, paths
from llmcharts.check import check
from llmcharts.helm import Helm, build_all_dependencies

STATS = collections.Counter()
_STARTED = time.monotonic()


@pytest.fixture(scope="session")
def helms() -> dict[str, Helm]:
    hs = {n: Helm(n) for n in paths.HELM_NAMES}
    build_all_dependencies(hs["helm3"], discovery.all_charts())
    return hs


@pytest.fixture(scope="session")
def crd_dirs():
    dirs = paths.crd_dirs()
    if not dirs:
        pytest.fail("no CRD directories: set LLMCHARTS_CRD_DIRS (CI uses ../shared/crds and ../shared/crds-compat)")
    return dirs


_reports: dict = {}


@pytest.fixture(scope="session")
def report_for(helms, crd_dirs):
    """report_for(case) -> llmcharts.check.Report, rendered once per session."""
    def get(case: discovery.Case):
        if case.id not in _reports:
            rep = check(case.chart, [case.values], list(helms.values()), release=case.release, crd_dirs=crd_dirs)
            STATS["renders"] += len(rep.renders)
            STATS["objects"] += len(rep.objects)
            STATS["schema validations"] += sum(len(r.validated_against) for r in rep.schema)
            STATS["schema errors"] += len(rep.schema_errors)
            STATS["invariant checks"] += len(invariants.ALL)
            STATS["invariant violations"] += len(rep.violations)
            _reports[case.id] = rep
        return _reports[case.id]
    return get


def pytest_terminal_summary(terminalreporter):
    if STATS["renders"]:
        cases = len(_reports)
        terminalreporter.write_sep("=", "render-and-check harness")
        terminalreporter.write_line(
            f"{cases} chart x values cases, {STATS['renders']} renders (helm 3 + helm 4), "
            f"{STATS['objects']} objects, {STATS['schema validations']} strict schema validations "
            f"(Kubernetes {' and '.join(paths.K8S_VERSIONS)} + CRDs), {STATS['schema errors']} schema errors, "
            f"{STATS['invariant checks']} invariant checks, {STATS['invariant violations']} violations")
    for key in sorted(k for k in STATS if k.startswith(("bad input", "drain", "e2e", "flags", "llm-stack"))):
        terminalreporter.write_line(f"{key}: {STATS[key]}")
    terminalreporter.write_line(f"suite wall time: {time.monotonic() - _STARTED:.1f}s")
