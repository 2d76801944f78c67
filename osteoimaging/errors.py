"""Exceptions that carry a clear, one-line message for the user."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input: a message naming the file (when there is one) and the problem.

    The CLI turns it into exit code 2 with the message on stderr and no traceback;
    the Slicer modules show it in an error dialog.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else str(path)
        self.problem = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class CancelledError(RuntimeError):
    """Raised inside long computations when the progress callback asks to stop."""
