"""Run the feedback page under uvicorn: in the foreground (``owner-tui feedback serve``) or
on a background thread (the open TUI, the tests).

It listens on localhost unless told otherwise: a non-loopback address needs
``[feedback] public = true`` or ``--public``, because it puts a form on the shop's network.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path

from owner_tui.config import Config


class ServeError(Exception):
    """A reason the page cannot start, in words an owner understands."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, public: bool) -> None:
    if not is_loopback(host) and not public:
        raise ServeError(f"refusing to listen on {host}: that puts the form on the network. Set "
                         "[feedback] public = true (or pass --public) if that is what you want.")


def page_url(config: Config, host: str, port: int) -> str:
    fb = config.feedback
    if fb.url:
        return fb.url
    scheme = "https" if fb.tls_cert else "http"
    if host in ("0.0.0.0", "::"):
        host = _lan_address() or host
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}/"


def _lan_address() -> str:
    """The address other devices on the network reach this one at (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET: routing decision only
            return s.getsockname()[0]
    except OSError:
        return ""


def uvicorn_config(app, config: Config, host: str, port: int, *, sock: socket.socket | None = None):
    import uvicorn

    fb = config.feedback
    tls = {}
    if fb.tls_cert:
        for what in (fb.tls_cert, fb.tls_key):
            if not Path(what).expanduser().is_file():
                raise ServeError(f"[feedback] certificate file {what} does not exist")
        tls = {"ssl_certfile": str(Path(fb.tls_cert).expanduser()), "ssl_keyfile": str(Path(fb.tls_key).expanduser())}
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                          date_header=False, proxy_headers=False, lifespan="on", limit_concurrency=200,
                          timeout_keep_alive=5, h11_max_incomplete_event_size=16 * 1024, **tls)


def build_site(store_path: Path, config: Config, *, business: str = "", clock=None, on_stored=None,
               alert=None):
    from owner_tui.sources.feedback.app import FeedbackSite, create_app

    site = FeedbackSite(store_path=Path(store_path), config=config, business=business, clock=clock,
                        on_stored=on_stored, alert=alert, tls=bool(config.feedback.tls_cert))
    return create_app(site)


class BackgroundServer:
    """uvicorn on a thread, for the TUI and the tests: ``start()`` returns once it listens
    (the port is known even when 0 asked for any free one); ``stop()`` shuts it down."""

    def __init__(self, store_path: Path, config: Config, *, host: str | None = None, port: int | None = None,
                 public: bool = False, **site) -> None:
        import uvicorn

        self.host = host or config.feedback.host
        check_bind(self.host, public or config.feedback.public)
        self.sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((self.host, config.feedback.port if port is None else port))
        except OSError as exc:
            self.sock.close()
            raise ServeError(f"cannot listen on {self.host}:{port}: {exc.strerror or exc}") from None
        self.port = self.sock.getsockname()[1]
        self.config = config
        app = build_site(store_path, config, **site)
        self.server = uvicorn.Server(uvicorn_config(app, config, self.host, self.port))
        self.thread = threading.Thread(target=self._run, name="feedback-server", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # reported by start()
            self.error = exc

    @property
    def url(self) -> str:
        return page_url(self.config, self.host, self.port)

    def start(self, timeout: float = 10.0) -> "BackgroundServer":
        if not self.thread.is_alive() and not self.server.started:
            self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error or not self.thread.is_alive():
                raise ServeError(f"the feedback page did not start: {self.error}")
            if time.monotonic() > deadline:
                raise ServeError("the feedback page did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
