"""Invariants on rollouts: a Deployment's progress deadline covers its pods' startup budget.

Invariants on rollouts. Kubernetes marks a Deployment's rollout failed (Progressing=False,
ProgressDeadlineExceeded) when no new pod became available within spec.progressDeadlineSeconds (default 600 s;
pkg/controller/deployment/progress.go), which Helm 4's waiter and Argo CD report as a failed release. A pod is not
available before its startup probe passes, and its init containers (a model prefetch) run before that, so the
deadline must lie above the time the pod is allowed to take."""
from __future__ import annotations

from ..objects import dig, ref
from .registry import Violation, invariant

DEFAULT_PROGRESS_DEADLINE = 600  # apps/v1 DeploymentSpec default


def startup_budget(container: dict) -> int:
    """Seconds a container may take to pass its startup probe: initialDelaySeconds + failureThreshold x
    periodSeconds (Kubernetes' defaults: 0, 3 and 10); 0 without a startup probe."""
    p = container.get("startupProbe")
    if not p:
        return 0
    return int(p.get("initialDelaySeconds", 0)) + int(p.get("failureThreshold", 3)) * int(p.get("periodSeconds", 10))


@invariant
def progress_deadline_covers_startup(objects):
    """Every Deployment with a startup probe has progressDeadlineSeconds (600 when unset) above its startup budget."""
    for d in (o for o in objects if o.get("kind") == "Deployment"):
        containers = dig(d, "spec", "template", "spec", "containers", default=[]) or []
        budget = max((startup_budget(c) for c in containers), default=0)
        if not budget:
            continue
        deadline = int(dig(d, "spec", "progressDeadlineSeconds", default=DEFAULT_PROGRESS_DEADLINE))
        if deadline <= budget:
            yield Violation("progress_deadline_covers_startup", ref(d),
                            f"progressDeadlineSeconds {deadline} is not above the startup budget {budget}s: the "
                            f"rollout would be reported failed (ProgressDeadlineExceeded) while the model loads")
