"""Serve a :class:`SampleSite` over HTTP on the loopback interface.

Tests and benchmarks need a real HTTP server (real sockets, headers, HEAD,
404s) that they start and stop themselves, and need to know exactly which
URLs a crawl fetched; ``hits`` records that.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Protocol

from newscrawl.demo import feeds
from newscrawl.demo.site import (
    DEFAULT_ARTICLES,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_SEED,
    Resource,
    SampleSite,
    not_found,
)


class Site(Protocol):
    """What a server serves: :class:`SampleSite`, or any test site with this method."""

    def render(self, path_with_query: str, host: str = DEFAULT_HOST) -> Resource | None: ...


class _Hits(Counter[str]):
    """A Counter whose increments are atomic across server threads."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def record(self, path: str) -> None:
        with self._lock:
            self[path] += 1


class SiteServer:
    """A threaded HTTP server for one site; use as a context manager."""

    def __init__(
        self, site: Site, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0
    ) -> None:
        """``delay``: seconds each response waits, so a test can act while a crawl runs."""
        self.site = site
        self.delay = delay
        self.hits = _Hits()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str)  # an IP server's address (bytes only for AF_UNIX)
        return f"http://{host}:{port}"

    def start(self) -> SiteServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="daily8-sample", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as crawlers use it
            server_version = "Daily8Sample"

            def do_GET(self) -> None:
                self._respond(send_body=True)

            def do_HEAD(self) -> None:
                self._respond(send_body=False)

            def _respond(self, send_body: bool) -> None:
                server.hits.record(self.path)
                if server.delay:
                    time.sleep(server.delay)
                host = self.headers.get("Host") or server.url.removeprefix("http://")
                resource = (
                    feeds.render(server.site, self.path, host)
                    or server.site.render(self.path, host)
                    or not_found()
                )
                self.send_response_only(resource.status)
                for name, value in resource.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if send_body:
                    self.wfile.write(resource.body)

            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet: a crawl makes thousands of requests."""

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the sample Daily8-style site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--articles", type=int, default=DEFAULT_ARTICLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    with SiteServer(SampleSite(args.articles, args.seed), args.host, args.port) as server:
        print(f"Serving {args.articles} articles at {server.url}/en (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
