"""Start the station: ``osteo station DATA_DIR [--port N] [--host 127.0.0.1]``."""

from __future__ import annotations

import logging
import sys

from osteoimaging.log import logger

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def serve(
    data_dir,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    output_dir=None,
    warm: bool = True,
) -> int:
    """Run the station until interrupted (blocking). ``port`` 0 picks a free port.

    The address is printed once the server listens (``station: http://HOST:PORT/``).
    """
    from osteostation.app import StationApp
    from osteostation.render import configure_offscreen, renderer_description

    configure_offscreen()
    for name in ("trame_server", "trame_client", "trame_rca", "trame_slicer", "wslink", "aiohttp"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    app = StationApp(data_dir, output_dir=output_dir, warm=warm)
    logger.info("station: rendering with %s", renderer_description())

    def announce(**_):
        print(f"station: http://{host}:{app.server.port}/", flush=True)

    app.ctrl.on_server_ready.add(announce)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "station: listening on %s without authentication; put it behind a reverse proxy "
            "that authenticates (docs/station.md)",
            host,
        )
    # trame reads its own options from sys.argv; ours are already parsed.
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        app.server.start(
            host=host,
            port=port,
            open_browser=False,
            show_connection_info=False,
            timeout=0,
        )
    finally:
        sys.argv = argv
        app.executor.shutdown(wait=False, cancel_futures=True)
        app.session.close()
    return 0
