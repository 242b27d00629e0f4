"""Write a generated file, or (--check) report it stale: what every generator in scripts/ ends with."""
from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(out: Path, text: str, tool: str, check: bool) -> int:
    """check: exit status 1 naming `out` when it differs from `text`; else write it when it differs. Returns 0/1."""
    same = out.exists() and out.read_text() == text
    if check:
        if not same:
            print(f"{tool}: {out} is stale: run scripts/{tool}.py", file=sys.stderr)
        return 0 if same else 1
    if not same:
        out.write_text(text)
        print(f"{tool}: wrote {out}")
    return 0
