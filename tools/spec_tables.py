"""The command line of the table generators (gen_int32_fields, gen_input_facts): read a
CloudTower spec, build a table from it, write the table as JSON, say what it holds in one
line; a spec that cannot be read is one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable


def table_main(prog: str, description: str, default_out: Path, build: Callable[[dict], dict],
               summary: Callable[[dict], str], argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("spec")
    ap.add_argument("-o", "--output", default=str(default_out))
    a = ap.parse_args(argv)
    try:
        with open(a.spec) as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{prog}: cannot read {a.spec}: {e}", file=sys.stderr)
        return 2
    t = build(spec)
    Path(a.output).write_text(json.dumps(t, indent=1) + "\n")
    print(f"{a.output}: {summary(t)}")
    return 0
