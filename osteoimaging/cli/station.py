"""``osteo station``: the browser reading station (needs the ``station`` extra).

Serves Slicer's slice views of the CTs under DATA_DIR to a web browser (trame-slicer);
a click on a vertebral body measures it with the one case pipeline. Binds 127.0.0.1
unless ``--host`` says otherwise; see docs/station.md before exposing it on a network.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "station",
        help="browser reading station: click vertebrae in Slicer's views in a web page",
        description="Serve the CT series under DATA_DIR (image files and DICOM series "
        "folders) in a web page with Slicer's axial, sagittal and coronal views; a click on "
        "a vertebral body measures it (GrowCut, focal osteoporosis defect maps, results row) "
        "with the same pipeline as 'osteo focal --seed'. Needs the 'station' extra.",
    )
    p.add_argument("data_dir", nargs="?", default=".", metavar="DATA_DIR",
                   help="folder with the CT series (only files under it are read) [.]")  # fmt: skip
    p.add_argument("--port", type=int, default=8080, help="port (0: any free port) [8080]")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind [127.0.0.1]; 0.0.0.0 exposes the station to the "
                   "network without authentication, see docs/station.md")  # fmt: skip
    p.add_argument("--no-warm-up", action="store_true",
                   help="skip loading ITK and numba before the first click")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from osteoimaging.cli.main import extra_message
    from osteoimaging.errors import InputError

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {args.port}")
    try:
        import osteostation.app  # noqa: F401  (trame, trame-slicer, slicer-core)
        from osteostation.server import serve
    except ImportError as exc:
        raise InputError(
            f"{extra_message('station', 'station')} ({exc.name or exc} is missing)"
        ) from exc
    from osteostation.paths import data_root

    return serve(data_root(args.data_dir), args.host, args.port, warm=not args.no_warm_up)
