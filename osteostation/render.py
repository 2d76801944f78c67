"""Headless rendering: VTK's EGL render window on Mesa, no X server.

The views are Slicer's own slice views (trame-slicer), rendered off screen by VTK and
streamed to the page as images. The PyPI ``vtk`` wheel (9.4+) picks its OpenGL window at
run time; without a display it would first try X and print a warning before falling
back to EGL, so the station asks for EGL directly. On a machine without a GPU Mesa's
EGL renders on the CPU (llvmpipe): Debian's ``libegl1`` + ``libegl-mesa0`` +
``libgl1-mesa-dri``. ``VTK_DEFAULT_OPENGL_WINDOW`` set by the user wins (e.g.
``vtkOSOpenGLRenderWindow`` with ``libosmesa6``, or ``vtkXOpenGLRenderWindow`` under Xvfb).
"""

from __future__ import annotations

import os
import sys

ENV = "VTK_DEFAULT_OPENGL_WINDOW"


def configure_offscreen() -> str | None:
    """Ask VTK for its EGL window when there is no display; returns the choice in force."""
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless:
        os.environ.setdefault(ENV, "vtkEGLRenderWindow")
    return os.environ.get(ENV)


def renderer_description() -> str:
    """The OpenGL renderer VTK uses (e.g. ``llvmpipe``), for the log; empty if unknown."""
    import vtk

    window = vtk.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(8, 8)
    window.Render()
    text = window.ReportCapabilities() or ""
    window.Finalize()
    kind = type(window).__name__
    for line in text.splitlines():
        if line.lower().startswith("opengl renderer string"):
            return f"{kind}, {line.split(':', 1)[1].strip()}"
    return kind
