"""Refuse work the machine cannot hold, before allocating it.

A request whose estimated peak memory exceeds what is available is bad input (exit 2
with the estimate), not a MemoryError half-way through. Available memory is the
operating system's estimate for new allocations (Linux ``MemAvailable`` in
``/proc/meminfo``), else the physical memory; ``OSTEO_MEMORY_LIMIT_GB`` overrides both
(e.g. to keep a batch worker within its share).
"""

from __future__ import annotations

import os
from pathlib import Path

from osteoimaging.errors import InputError

#: Share of the available memory one request may plan to use.
USABLE_FRACTION = 0.8


def available_bytes() -> int | None:
    """Bytes available for new allocations (None when the system does not say)."""
    limit = os.environ.get("OSTEO_MEMORY_LIMIT_GB")
    if limit:
        try:
            return int(float(limit) * 1024**3)
        except ValueError as exc:
            raise InputError(f"OSTEO_MEMORY_LIMIT_GB={limit!r} is not a number") from exc
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n: float) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1024:.0f} KiB"


def check_memory(needed: float, what: str, path: str | None = None) -> None:
    """InputError when ``needed`` bytes exceed the usable share of available memory."""
    available = available_bytes()
    if available is None or needed <= USABLE_FRACTION * available:
        return
    raise InputError(
        f"{what} needs about {format_bytes(needed)} of memory but "
        f"{format_bytes(available)} is available: use a coarser spacing or a mask of "
        "one vertebral body",
        path,
    )
