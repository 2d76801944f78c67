"""Entry point of ``osteo``: imports only the chosen sub-command and maps errors to exit codes.

Exit codes: 0 success; 1 unexpected failure (a bug: please report it with ``--debug``);
2 bad input or usage, including a missing optional extra, an output path that cannot be
written and a request larger than the machine's memory (one line on stderr; ``--debug``
adds the traceback but keeps the code); 3 a batch finished but some cases failed
(``errors.csv``); 130 cancelled (Ctrl-C).

Start-up is lazy: ``osteo --version`` and ``osteo --help`` import no sub-command module
(nor numpy or SimpleITK); ``osteo CMD ...`` imports only ``osteoimaging.cli.CMD``. The
table :data:`COMMANDS` lists every command with its one-line help (a test checks that it
matches each module's ``register``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from dataclasses import dataclass

from osteoimaging._version import __version__
from osteoimaging.errors import CancelledError, InputError
from osteoimaging.log import logger

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


@dataclass(frozen=True)
class Command:
    """A sub-command: its module, its one-line help and the extra it needs (if any)."""

    module: str
    help: str
    extra: str | None = None


#: Every ``osteo`` sub-command (the module's ``register`` must use the same name and help).
COMMANDS: dict[str, Command] = {
    "batch": Command(
        "osteoimaging.cli.batch",
        "run a measurement on every case of a manifest (resumable, on Dask)",
        "cohort",
    ),
    "calibrate": Command(
        "osteoimaging.cli.calibrate",
        "create a calibration profile from a phantom (or reference tissues)",
    ),
    "demo": Command("osteoimaging.cli.demo", "run on the bundled synthetic vertebra"),
    "focal": Command(
        "osteoimaging.cli.focal", "focal osteoporosis defect maps and values of vertebral bodies"
    ),
    "info": Command("osteoimaging.cli.info", "print an image's geometry, value range and modality"),
    "phantom": Command(
        "osteoimaging.cli.phantom", "write a synthetic vertebra CT, its body mask and truth"
    ),
    "radiomics": Command(
        "osteoimaging.cli.radiomics",
        "lumbar MRI radiomics: features, LASSO radscore, ROC/DeLong, reports",
        "radiomics",
    ),
    "screen": Command(
        "osteoimaging.cli.screen",
        "opportunistic osteoporosis screening on chest CT (CNN, SMI, L1 rule)",
        "screen",
    ),
    "segment": Command(
        "osteoimaging.cli.segment", "segment a vertebral body from one seed point (GrowCut)"
    ),
    "station": Command(
        "osteoimaging.cli.station",
        "browser reading station: click vertebrae in Slicer's views in a web page",
        "station",
    ),
    "stats": Command(
        "osteoimaging.cli.stats",
        "cohort statistics: reproducibility, correlation, groups, association, report",
        "cohort",
    ),
    "validate": Command(
        "osteoimaging.cli.validate",
        "rerun the validation studies (reproducibility, microarchitecture, …; source "
        "checkout only)",
        "studies",  # its tables use osteoimaging.stats (pandas), binarisation scikit-image
    ),
}

#: Distribution names whose import name differs (for mapping a missing module to its extra).
_IMPORT_NAMES = {
    "pyradiomics-bhklab": ("radiomics",),
    "pyradiomics": ("radiomics",),
    "scikit-learn": ("sklearn",),
    "scikit-image": ("skimage",),
    "pyyaml": ("yaml",),
    "slicer-core": ("slicer", "vtk", "mrml"),
    "dask": ("dask", "distributed"),
    "pillow": ("PIL",),
}
#: Used when the package metadata is unavailable (running from a source tree).
_FALLBACK_EXTRAS = {
    "pandas": ("cohort", "radiomics"),
    "dask": ("cohort",),
    "distributed": ("cohort",),
    "statsmodels": ("cohort",),
    "radiomics": ("radiomics",),
    "sklearn": ("radiomics",),
    "yaml": ("radiomics",),
    "slicer": ("slicer",),
    "vtk": ("slicer",),
}


def _extras_by_module() -> dict[str, tuple[str, ...]]:
    """Top-level import name → the extras that provide it (from the installed metadata)."""
    import re
    from importlib import metadata

    try:
        requirements = metadata.requires("osteoimaging") or []
    except metadata.PackageNotFoundError:
        return dict(_FALLBACK_EXTRAS)
    found: dict[str, list[str]] = {}
    for req in requirements:
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", req)
        name = re.match(r"\s*([A-Za-z0-9._-]+)", req)
        if not extra or not name or extra.group(1) in ("test", "all"):
            continue
        dist = re.sub(r"[-_.]+", "-", name.group(1)).lower()
        if dist == "osteoimaging":
            continue
        for module in _IMPORT_NAMES.get(dist, (dist.replace("-", "_"),)):
            found.setdefault(module, [])
            if extra.group(1) not in found[module]:
                found[module].append(extra.group(1))
    return {k: tuple(v) for k, v in found.items()} or dict(_FALLBACK_EXTRAS)


def missing_extra(exc: ModuleNotFoundError, command: str | None) -> str | None:
    """The extra that would provide the module ``exc`` misses, or None (then it is a bug)."""
    top = (exc.name or "").split(".")[0]
    extras = _extras_by_module().get(top)
    if not extras:
        return None
    # The command's own extra installs everything the command needs (it may pull the
    # module in through another extra, as 'studies' does with 'cohort').
    preferred = COMMANDS[command].extra if command in COMMANDS else None
    return preferred or extras[0]


def extra_message(command: str, extra: str) -> str:
    """The one line printed when a command needs an extra that is not installed."""
    return f"osteo {command} needs the '{extra}' extra: pip install 'osteoimaging[{extra}]'"


def chosen_command(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (the first argument that is not an option)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser: every command listed (one-line help); only ``command`` fully registered.

    ``command=None`` registers none (enough for ``--help`` and ``--version``). The chosen
    command's module is imported here; a ModuleNotFoundError propagates to :func:`main`.
    """
    parser = argparse.ArgumentParser(
        prog="osteo",
        description="OsteoImaging: quantitative osteoporosis imaging on routine CT and MRI.",
    )
    parser.add_argument("--version", action="version", version=f"osteo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, spec in COMMANDS.items():
        if name == command:
            importlib.import_module(spec.module).register(sub)
        else:
            sub.add_parser(name, help=spec.help, description=spec.help)
    return parser


def _utf8_streams() -> None:
    """Print ×, ³ and – even when the terminal's locale is C/ASCII."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


def _fail(message: str, code: int, debug: bool) -> int:
    """One line on stderr (after the traceback with ``--debug``); the exit code."""
    if debug:
        traceback.print_exc()
    print(f"osteo: {message}", file=sys.stderr)
    return code


def _parse(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace] | int:
    """Parse ``argv``; an int is an exit code (a command whose extra is missing)."""
    command = chosen_command(argv)
    try:
        parser = build_parser(command)
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc, command)
        if command is None or extra is None:
            raise
        rest = argv[argv.index(command) + 1 :]
        if "-h" in rest or "--help" in rest:  # the summary, and what to install
            spec = COMMANDS[command]
            argparse.ArgumentParser(
                prog=f"osteo {command}",
                description=f"{spec.help}.\n\nNot installed: {extra_message(command, extra)}",
                formatter_class=argparse.RawDescriptionHelpFormatter,
            ).print_help()
            return EXIT_OK
        print(f"osteo: error: {extra_message(command, extra)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return parser, parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    argv = sys.argv[1:] if argv is None else list(argv)
    command = chosen_command(argv)
    debug = "--debug" in (argv[: argv.index(command)] if command else argv)
    try:
        parsed = _parse(argv)
    except ModuleNotFoundError as exc:
        return _fail(f"unexpected error: {type(exc).__name__}: {exc}", EXIT_FAILURE, debug)
    if isinstance(parsed, int):
        return parsed
    parser, args = parsed
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
        return _fail(f"error: {exc}", EXIT_BAD_INPUT, args.debug)
    except (CancelledError, KeyboardInterrupt) as exc:
        detail = f": {exc}" if str(exc) else ""
        return _fail(f"cancelled{detail}", EXIT_CANCELLED, args.debug)
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc, args.command)
        if extra is None:
            return _fail(_unexpected(exc), EXIT_FAILURE, args.debug)
        return _fail(f"error: {extra_message(args.command, extra)}", EXIT_BAD_INPUT, args.debug)
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        return _fail(
            f"error: not enough memory for this request{detail}; use a smaller image or "
            "coarser parameters",
            EXIT_BAD_INPUT,
            args.debug,
        )
    except OSError as exc:
        if exc.filename is None:
            return _fail(_unexpected(exc), EXIT_FAILURE, args.debug)
        return _fail(
            f"error: {exc.filename}: cannot use this path ({exc.strerror or exc})",
            EXIT_BAD_INPUT,
            args.debug,
        )
    except Exception as exc:
        return _fail(_unexpected(exc), EXIT_FAILURE, args.debug)


def _unexpected(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return f"unexpected error: {text} (run with --debug for the traceback)"


if __name__ == "__main__":
    sys.exit(main())
