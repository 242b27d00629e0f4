#!/usr/bin/env python3
"""Size every GPU preset in values/ with the planner and write the catalog (src/llmcharts/catalog.py).

    gen_catalog.py            write each preset's model profile, the presets the catalog adds (when missing) and
                              values/README.md
    gen_catalog.py --check    write nothing; exit 1 naming every stale file (also a test: tests/static/test_catalog.py)
"""
from __future__ import annotations

import argparse
import sys

from llmcharts import catalog


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if a profile, a preset or the README is stale")
    args = ap.parse_args(argv)
    stale = catalog.update(write=not args.check)
    for path in stale:
        print(f"gen_catalog: {'stale' if args.check else 'wrote'} {path}", file=sys.stderr if args.check else sys.stdout)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
