"""Entry point of ``osteo``: discovers sub-command modules and maps errors to exit codes.

Exit codes: 0 success; 1 unexpected failure; 2 bad input or usage (one line on stderr,
no traceback unless ``--debug``); 3 a batch finished but some cases failed (``errors.csv``);
130 cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from osteoimaging._version import __version__
from osteoimaging.errors import CancelledError, InputError
from osteoimaging.log import logger

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The full parser: every ``osteoimaging.cli.<module>.register`` adds its commands."""
    parser = argparse.ArgumentParser(
        prog="osteo",
        description="OsteoImaging: quantitative osteoporosis imaging on routine CT and MRI.",
    )
    parser.add_argument("--version", action="version", version=f"osteo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import osteoimaging.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in {"main"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"osteoimaging.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _utf8_streams() -> None:
    """Print ×, ³ and – even when the terminal's locale is C/ASCII."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logger.setLevel(level)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        result = args.func(args)
        return EXIT_OK if result is None else int(result)
    except InputError as exc:
        if args.debug:
            raise
        print(f"osteo: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CancelledError:
        print("osteo: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("osteo: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"osteo: unexpected error: {type(exc).__name__}: {exc} (run with --debug for "
            "the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
