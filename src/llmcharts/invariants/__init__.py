"""Invariants: rules every rendered release must satisfy, run on every chart x values file.

registry.py holds the registry (@invariant, ALL, run_all); pod_rules.py, release_rules.py and rollout_rules.py the
rules."""
from . import pod_rules, release_rules, rollout_rules  # noqa: F401 (importing a rule module registers its rules)
from .registry import ALL, Invariant, Violation, invariant, run_all

__all__ = ["ALL", "Invariant", "Violation", "invariant", "run_all"]
