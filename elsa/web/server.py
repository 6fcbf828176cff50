"""Serving the labelling app: uvicorn on loopback by default, a token anywhere else."""

from __future__ import annotations

import secrets
import socket
import threading
import time
import webbrowser
from typing import Callable

from ..exceptions import InputError, ParameterError

DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    from .app import LOOPBACK_NAMES  # the app (Starlette, the session) is imported when it is served

    return host in LOOPBACK_NAMES or host.startswith("127.")


def check_port(host: str, port: int) -> int:
    """Bind ``host:port`` once to see that the labeller can listen there; returns the port
    (a free one for port 0). ``elsa label`` calls it before it creates a session, so a bad
    address leaves nothing behind."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ParameterError(f"--port must be 0-65535, got {port!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), port))
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise InputError(f"cannot listen on {host}:{port} ({why}); choose another --host or --port") from None
        return s.getsockname()[1]


def serve(session, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None,
          open_browser: bool = False, log: Callable[[str], None] = print) -> None:
    """Serve ``session`` until Ctrl-C; the next rounds are computed in the background.

    Binding anything but loopback needs an access token: ``token``, or one generated
    here and printed in the link.
    """
    import uvicorn

    from .app import create_app

    loopback = is_loopback(host)
    if token is not None and len(token) < 16:
        raise ParameterError("--token must be at least 16 characters")
    if not loopback and token is None:
        token = secrets.token_urlsafe(24)
    port = check_port(host, port)
    app = create_app(session, token=token, loopback_only=loopback)
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/" + (f"?token={token}" if token else "")
    session.start_background()
    log(f"labelling '{session.settings['target']}' in {session.folder}: open {url}")
    if not loopback:
        log(f"listening on {host}: anyone who can reach this machine needs the token above")
    log("answers are saved as you give them; stop with Ctrl-C and reopen with `elsa label --resume "
        f"{session.folder}`")
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on: that is the normal way to stop
        pass


class LiveServer:
    """The labelling app for ``session`` served on a free loopback port in a thread, for a
    notebook, a browser test or a benchmark: ``with LiveServer(session) as srv:`` then
    ``srv.url``. ``kw`` go to :func:`~elsa.web.app.create_app` (``token=``)."""

    def __init__(self, session, **kw):
        import uvicorn

        from .app import create_app

        self.config = uvicorn.Config(create_app(session, **kw), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = None

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
