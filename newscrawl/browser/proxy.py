"""The browser's only way out: an HTTP proxy on the loopback that applies the crawl's rules.

A rendered page runs the site's scripts: they can navigate, fetch, open frames and
WebSockets, and servers can redirect any of those anywhere. Playwright's request
routing misses redirect hops and requests of other pages (popups, workers), so the
check sits where nothing passes around it: Chromium is launched with this proxy
(Playwright then proxies loopback traffic too), and every connection, each hop of
a redirect included, is checked by :class:`~newscrawl.offsite.Destinations` before
it is opened. The proxy resolves host names itself and connects to the address it
checked, so a name cannot resolve to a public address for the check and a private
one for the request. Refused requests get a 403 from the proxy, are counted
(``newscrawl/browser/refused``) and logged.

Plain HTTP is forwarded one request per connection (``Connection: close`` both
ways, so Chromium never sends a second request down a tunnel to the first
server); ``CONNECT`` (HTTPS, WebSockets) is checked and then tunnelled unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit

from newscrawl.offsite import DEFAULT_PORTS, Destinations

REFUSED_HEADER = "X-Newscrawl-Refused"
_HOP_HEADERS = {"connection", "proxy-connection", "keep-alive", "proxy-authorization"}
_HEAD_LIMIT = 64 * 1024  # bytes of request or response head
_CHUNK = 64 * 1024


class Refused(Exception):
    """A request the crawl's rules do not allow."""


class GuardProxy:
    """Forwards what ``destinations`` allow; calls ``on_refused(url, reason)`` for the rest,
    except requests to ``blocked`` hosts (the browser's own services), refused unannounced.
    With ``onsite_only`` every request must be onsite, not only the page's own URL."""

    def __init__(
        self,
        destinations: Destinations,
        on_refused: Callable[[str, str], None],
        blocked: frozenset[str] = frozenset(),
        onsite_only: bool = False,
    ) -> None:
        self.destinations = destinations
        self.on_refused = on_refused
        self.blocked = blocked
        self.onsite_only = onsite_only
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; the proxy's URL."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._forward(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the browser or the server went away, or sent no HTTP: nothing to save
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *headers = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        if method == "CONNECT":
            url = f"https://{target}/"
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or 443
        else:
            url = target
            parts = urlsplit(target)
            host, port = parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
            if parts.scheme != "http":
                raise ValueError(f"not a proxy request: {request_line}")
        try:
            address = await self._allowed_address(host, port)
        except OSError:  # the name does not resolve: no request to refuse
            await _bad_gateway(writer)
            return
        except Refused as refused:
            if host not in self.blocked:
                self.on_refused(url, str(refused))
            body = f"Refused by newscrawl: {refused}\n".encode()
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                + f"{REFUSED_HEADER}: 1\r\nContent-Length: {len(body)}\r\n".encode()
                + b"Connection: close\r\n\r\n"
                + body
            )
            await writer.drain()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                address, port, limit=_HEAD_LIMIT
            )
        except OSError:
            await _bad_gateway(writer)
            return
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await self._pipe_both(reader, writer, upstream_reader, upstream_writer)
                return
            path = parts.path or "/"
            if parts.query:
                path += f"?{parts.query}"
            upstream_writer.write(_head(f"{method} {path} {version}", headers))
            upload = asyncio.create_task(_pipe(reader, upstream_writer))
            try:
                response = await upstream_reader.readuntil(b"\r\n\r\n")
                status_line, *response_headers = response[:-4].decode("latin-1").split("\r\n")
                writer.write(_head(status_line, response_headers))
                await _pipe(upstream_reader, writer)
            finally:
                upload.cancel()
        finally:
            upstream_writer.close()

    async def _allowed_address(self, host: str, port: int) -> str:
        if host in self.blocked:
            raise Refused(f"{host} is one of the browser's own services")
        if self.onsite_only and not self.destinations.onsite(host, port):
            raise Refused(f"{host}:{port} is off the site")
        addresses, refusal = await self.destinations.resolve(host, port)
        if refusal is not None:
            raise Refused(refusal)
        return str(addresses[0])

    @staticmethod
    async def _pipe_both(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        """Tunnel bytes both ways until either side closes."""
        pipes = [
            asyncio.create_task(_pipe(reader, upstream_writer)),
            asyncio.create_task(_pipe(upstream_reader, writer)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()


async def _bad_gateway(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()


def _head(first_line: str, headers: list[str]) -> bytes:
    """A message head with hop-by-hop headers replaced by ``Connection: close``."""
    kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in _HOP_HEADERS]
    return "\r\n".join([first_line, *kept, "Connection: close", "", ""]).encode("latin-1")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
