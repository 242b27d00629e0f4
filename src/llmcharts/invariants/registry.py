"""The invariant registry: @invariant registers a rule, run_all runs every rule on a render.

The invariant registry: a rule is a function over a release's rendered objects that yields Violations; @invariant
registers it (ALL) and run_all runs every rule."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True)
class Violation:
    invariant: str
    obj: str
    message: str

    def __str__(self):
        return f"[{self.invariant}] {self.obj}: {self.message}"


Invariant = Callable[[list], Iterator[Violation]]
ALL: dict[str, Invariant] = {}


def invariant(fn: Invariant) -> Invariant:
    """Register an invariant under its function name."""
    ALL[fn.__name__] = fn
    return fn


def run_all(objects: list[dict]) -> list[Violation]:
    out = []
    for fn in ALL.values():
        out += list(fn(objects))
    return out
