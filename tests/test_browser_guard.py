"""The browser cannot be steered inside: one real ``scrapy crawl news`` with Chromium.

The seed site on 127.0.0.1 serves app shells whose scripts fetch, redirect,
frame, open WebSockets to and navigate to two servers standing in for what a
crawler must never reach: a private network (127.0.0.2, on the seed's own port
number, so only its address tells it apart) and a local service (127.0.0.1 on
another port, as PostgreSQL would be). Neither may see a single request, and no
stored record may hold their text; the seed site itself is loopback and is
crawled as usual. The Scrapy path is checked in the same crawl: a link and a
redirect to ``localhost:<service port>`` (``localhost`` is an allowed domain)
are refused for their port.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newscrawl import browser
from newscrawl.browser.proxy import REFUSED_HEADER, GuardProxy
from newscrawl.offsite import Destinations
from tests.support.crawl import CrawlResult, run_crawl

SECRET = "INTERNAL-ONLY-TEXT"
STORY = [
    "The harbour reopened on Monday after a week of repairs to its northern wall. " * 2,
    "Fishing boats were the first to leave, followed by the morning ferry to the islands. " * 2,
    "The council said the work came in under budget and ahead of the storm season. " * 2,
]
SHELL = """<!doctype html><html><head><title>App</title>
<meta property="og:type" content="article"></head>
<body><div id="root"></div><script>{script}</script></body></html>"""
RENDER_STORY = """
fetch('/api/story.json').then(r => r.json()).then(story => {{
  document.getElementById('root').innerHTML =
    '<article><h1>' + story.headline + '</h1><time datetime="2025-05-01T08:00:00Z">1 May</time>'
    + '<p>' + story.body.join('</p><p>') + '</p></article>';
  const steal = url => fetch(url).then(r => r.text()).then(text => {{
    const p = document.createElement('p'); p.textContent = text;
    document.querySelector('article').appendChild(p);
  }}).catch(() => {{}});
  steal('{private}/secret.json'); steal('/bounce'); steal('{service}/secret.json');
  const frame = document.createElement('iframe'); frame.src = '{private}/secret';
  document.body.appendChild(frame);
  try {{ new WebSocket('{private_ws}/socket'); }} catch (e) {{}}
}});
"""
NAVIGATE = "location.href = '{private}/secret';"


class Recorder(ThreadingHTTPServer):
    """A loopback HTTP server that records the paths it was asked for."""

    def __init__(self, host: str, port: int, routes: dict[str, tuple[int, str, str]]) -> None:
        self.hits: list[str] = []
        self.routes = routes
        super().__init__((host, port), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        status, content_type, body = self.server.routes.get(
            self.path, (200, "text/html", f"<html><body><p>{SECRET}</p></body></html>")
        )
        data = body.encode()
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body)
            data = b""
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Guarded:
    site: Recorder
    private: Recorder
    service: Recorder
    result: CrawlResult


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    if browser.resolve_executable(None) is None:
        pytest.fail(f"no Chromium: {browser.INSTALL_HINT}")
    site = Recorder("127.0.0.1", 0, {})
    seed_port = site.server_address[1]
    private = Recorder("127.0.0.2", seed_port, {})  # the seed's port, another address
    service = Recorder("127.0.0.1", 0, {})
    local_service = f"http://localhost:{service.server_address[1]}"
    story = {"headline": "Harbour reopens after repairs", "body": STORY}
    fields = {
        "private": private.url,
        "private_ws": private.url.replace("http:", "ws:"),
        "service": service.url,
    }
    site.routes.update(
        {
            "/": (
                200,
                "text/html",
                "<html><body><h1>News</h1>"
                '<a href="/news/2025/05/01/harbour-reopens.html">Harbour</a>'
                '<a href="/news/2025/05/01/app-navigates-away.html">Away</a>'
                '<a href="/news/2025/05/01/moved-story.html">Moved</a>'
                f'<a href="{local_service}/news/2025/05/01/local-service.html">Local</a>'
                "</body></html>",
            ),
            "/news/2025/05/01/harbour-reopens.html": (
                200,
                "text/html",
                SHELL.format(script=RENDER_STORY.format(**fields)),
            ),
            "/news/2025/05/01/app-navigates-away.html": (
                200,
                "text/html",
                SHELL.format(script=NAVIGATE.format(**fields)),
            ),
            "/api/story.json": (200, "application/json", json.dumps(story)),
            "/bounce": (302, "text/plain", f"{private.url}/bounced.json"),
            "/news/2025/05/01/moved-story.html": (302, "text/plain", f"{local_service}/secret"),
        }
    )
    try:
        result = run_crawl(
            "news",
            tmp_path_factory.mktemp("guard"),
            args={"start_urls": f"{site.url}/", "allowed_domains": "127.0.0.1,localhost"},
            settings={"NEWSCRAWL_STORE_ENABLED": "False", "ROBOTSTXT_OBEY": "False"},
            timeout=90,
        )
        yield Guarded(site, private, service, result)
    finally:
        for server in (site, private, service):
            server.shutdown()
            server.server_close()


def warnings(result: CrawlResult) -> list[str]:
    return [line for line in result.log.splitlines() if "] WARNING:" in line]


def test_a_rendered_page_cannot_reach_a_private_address_or_a_local_service(
    guarded: Guarded,
) -> None:
    assert guarded.private.hits == []
    assert guarded.service.hits == []
    assert SECRET not in json.dumps(guarded.result.items)
    assert guarded.result.returncode == 0, guarded.result.log[-3000:]


def test_the_seed_site_renders_as_usual_without_what_was_refused(guarded: Guarded) -> None:
    result = guarded.result
    (item,) = result.items
    assert item["url"].endswith("/news/2025/05/01/harbour-reopens.html")
    assert item["headline"] == "Harbour reopens after repairs"
    assert item["articleBody"].startswith(STORY[0].strip())
    assert result.stat("newscrawl/browser/rendered") == 2  # the story, and the page sent away
    # The private JSON, the redirect hop of /bounce, the service, the frame, the WebSocket,
    # and the navigation away (each at least once: Chromium may retry).
    assert result.stat("newscrawl/browser/refused") >= 6
    refused = [line for line in warnings(result) if "Refused a browser request" in line]
    assert len(refused) == result.stat("newscrawl/browser/refused")
    assert any(f"{guarded.private.url}/bounced.json" in line for line in refused)
    assert any("private address (127.0.0.2)" in line for line in refused)


def test_a_page_the_browser_was_sent_away_from_is_skipped_with_one_line(guarded: Guarded) -> None:
    result = guarded.result
    assert result.stat("newscrawl/browser/offsite_page") == 1
    (line,) = [line for line in warnings(result) if "sent off the site" in line]
    assert "app-navigates-away" in line
    assert f"{guarded.private.url}/secret" in line


def test_scrapy_refuses_an_allowed_host_on_another_port(guarded: Guarded) -> None:
    result = guarded.result
    assert result.stat("newscrawl/errors/offsite_port") == 2  # the link and the redirect
    skipped = [line for line in warnings(result) if "is not a seed's or a web port" in line]
    assert any("local-service.html" in line for line in skipped)
    assert any("moved-story.html" in line for line in skipped)


# -- the rule, without a crawl -----------------------------------------------------------


def test_the_rule_allows_the_seeds_own_address_and_web_ports_elsewhere() -> None:
    from ipaddress import ip_address

    rule = Destinations.of(["http://127.0.0.1:8008/en"], ["127.0.0.1", "example.com"])
    assert rule.refusal("127.0.0.1", 8008, [ip_address("127.0.0.1")]) is None  # the seed
    assert "port 5432" in (rule.refusal("127.0.0.1", 5432, [ip_address("127.0.0.1")]) or "")
    assert "private" in (rule.refusal("127.0.0.2", 8008, [ip_address("127.0.0.2")]) or "")
    for address in ("10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "0.0.0.0"):
        assert rule.refusal("cdn.example", 443, [ip_address(address)]), address
    assert rule.refusal("cdn.example", 443, [ip_address("::ffff:10.0.0.1")])  # mapped IPv4
    # A name with one private address among public ones is refused.
    public, private = ip_address("93.184.216.34"), ip_address("10.1.2.3")
    assert rule.refusal("cdn.example", 443, [public]) is None
    assert rule.refusal("cdn.example", 443, [public, private])
    assert rule.onsite("www.example.com", 443) and rule.onsite("127.0.0.1", 8008)
    assert not rule.onsite("127.0.0.1", 5432) and not rule.onsite("example.org", 443)


def test_the_proxy_forwards_what_the_rule_allows_and_refuses_the_rest() -> None:
    """The proxy alone, spoken to as Chromium does (absolute-form requests, CONNECT)."""
    site = Recorder("127.0.0.1", 0, {"/page": (200, "text/plain", "onsite")})
    private = Recorder("127.0.0.2", site.server_address[1], {})
    refused: list[tuple[str, str]] = []

    async def ask(proxy_url: str, request: str) -> bytes:
        host, port = proxy_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request.encode())
        answer = await reader.read()
        writer.close()
        return answer

    async def exchange() -> list[bytes]:
        rule = Destinations.of([f"{site.url}/"], ["127.0.0.1"])

        def note(url: str, reason: str) -> None:
            refused.append((url, reason))

        proxy, strict = GuardProxy(rule, note), GuardProxy(rule, note, onsite_only=True)
        url, strict_url = await proxy.start(), await strict.start()
        offsite = "GET http://no-such-host.invalid/ HTTP/1.1\r\nHost: x\r\n\r\n"
        try:
            return [
                await ask(url, f"GET {site.url}/page HTTP/1.1\r\nHost: x\r\n\r\n"),
                await ask(url, f"GET {private.url}/secret HTTP/1.1\r\nHost: x\r\n\r\n"),
                await ask(url, f"CONNECT {private.url[7:]} HTTP/1.1\r\n\r\n"),
                await ask(url, offsite),
                await ask(strict_url, offsite),
            ]
        finally:
            await proxy.close()
            await strict.close()

    try:
        onsite, secret, tunnel, unknown, strict_offsite = asyncio.run(exchange())
    finally:
        for server in (site, private):
            server.shutdown()
            server.server_close()
    assert onsite.startswith(b"HTTP/1.0 200") and onsite.endswith(b"onsite")
    assert b"connection: close" in onsite.lower()  # never a second request down this socket
    assert secret.startswith(b"HTTP/1.1 403") and REFUSED_HEADER.encode() in secret
    assert tunnel.startswith(b"HTTP/1.1 403")
    assert unknown.startswith(b"HTTP/1.1 502")  # not resolvable: no request to refuse
    assert strict_offsite.startswith(b"HTTP/1.1 403")  # onsite_only: refused before resolving
    assert site.hits == ["/page"] and private.hits == []
    assert [url for url, _ in refused] == [
        f"{private.url}/secret",
        f"https://{private.url[7:]}/",
        "http://no-such-host.invalid/",
    ]
