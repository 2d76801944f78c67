"""``python -m slicer_harness focal``: the FocalOsteoDefect flow end to end, as a user would.

Run from ``Testing/`` (``.ci/bundled-only`` does, in an environment of only what Slicer
bundles): Sample Data → click the body → Apply (the numba install declined: the measurement
runs without it) → segment, maps, legend, table → Save report (Jinja2 installed through
Slicer's real first-use path after the dialog is confirmed), Export table, the overlay PNG;
then the module is unloaded and its cleanup checked. Prints the timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import flows
from .session import VERSIONS, SlicerSession, missing_reason


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slicer_harness")
    parser.add_argument("flow", choices=["focal"])
    parser.add_argument("--version", default=VERSIONS[-1], choices=VERSIONS)
    parser.add_argument("--out", default="slicer-harness-out")
    parser.add_argument("--numba", default="Cancel", help="answer to the numba install dialog")
    parser.add_argument("--jinja2", default="Ok", help="answer to the Jinja2 install dialog")
    parser.add_argument(
        "--expect-dialogs",
        action="store_true",
        help="numba and Jinja2 are not installed: their dialogs must appear",
    )
    args = parser.parse_args(argv)
    reason = missing_reason(args.version)
    if reason:
        print(f"slicer_harness: {reason}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    out = Path(args.out).resolve()
    session = flows.start(SlicerSession(args.version))
    try:
        result = flows.focal_flow(
            session,
            out,
            numba_answer=args.numba if args.expect_dialogs else None,
            jinja_answer=args.jinja2 if args.expect_dialogs else None,
        )
        flows.check_cleanup(session)
    finally:
        session.close()
    for name, path in result.files.items():
        if not path.is_file() or path.stat().st_size == 0:
            print(f"slicer_harness: {name} was not written ({path})", file=sys.stderr)
            return 1
    summary = {
        "slicer": args.version,
        "seconds": {k: round(v, 1) for k, v in result.seconds.items()},
        "total_seconds": round(time.perf_counter() - start, 1),
        "dialogs_answered": [(t, b) for t, _, b in result.answered],
        "status_bar": result.status,
        "files": {k: str(v) for k, v in result.files.items()},
        "row": result.rows[0],
    }
    print(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
