"""Downloader middlewares that turn bad responses into a log line and a counter.

The web serves images as ``text/html``, lies about charsets, redirects in
circles and times out. Each case is logged once, in words, and counted under
``newscrawl/errors/<kind>``; none reaches a spider callback that would choke on
it, and none becomes an ERROR with a traceback.

- :class:`PortGuard` (after Scrapy's offsite middleware) refuses requests to an
  allowed host on a port that is neither a seed's nor 80/443.
- :class:`RedirectGuard` (before Scrapy's redirect middleware) stops redirect
  loops and counts redirect chains that exceed ``REDIRECT_MAX_TIMES``.
- :class:`ResponseGuard` (after decompression, retries and redirects) drops page
  responses that are not HTML text or have more elements than
  ``NEWSCRAWL_PAGE_MAX_ELEMENTS``, fixes a declared charset the body
  contradicts, counts HTTP errors, and logs download failures that retries could
  not cure.
"""

from __future__ import annotations

import codecs
import logging
import re
from typing import Any
from urllib.parse import urljoin

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom
from w3lib.url import canonicalize_url

from newscrawl.offsite import Destinations, host_port
from newscrawl.vocab import HTML_PAGE_KINDS, PAGE_KIND, STATS_ENCODING, STATS_ERRORS

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Share of decoded characters that may be controls or U+FFFD before a body counts as binary.
_MAX_JUNK = 0.05
_SAMPLE = 4096
# Controls but tab, newlines and form feed, and U+FFFD. A regex counts them at C speed:
# a Python loop over 4 KB of every page took a tenth of the reactor's time per page, and
# str.translate, 0.2 ms on a page that is not ASCII.
_JUNK_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")
# An HTML page with no declared charset that is not UTF-8 is read as windows-1252,
# as browsers do for Western pages (and ISO-8859-1 labels mean windows-1252 anyway).
LEGACY_ENCODING = "cp1252"

_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (DownloadTimeoutError, "timeout"),
    (DownloadCancelledError, "too_large"),
    (CannotResolveHostError, "dns"),
    (DownloadConnectionRefusedError, "connection_refused"),
    (ConnectError, "connection_refused"),
    (ResponseDataLossError, "data_loss"),
    (ConnectionDone, "connection_lost"),
    (ConnectionLost, "connection_lost"),
)


def failure_kind(exception: BaseException) -> str:
    """A short name for a download failure, used in stats keys and log lines."""
    for cls, kind in _FAILURES:
        if isinstance(exception, cls):
            return kind
    return type(exception).__name__.lower()


def _same_page(url: str, other: str) -> bool:
    return canonicalize_url(url) == canonicalize_url(other)


class _Guard:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    def _drop(self, request: Request, kind: str, reason: str) -> IgnoreRequest:
        """Log and count why ``request`` ends here; returns the exception to raise."""
        self.stats.inc_value(f"{STATS_ERRORS}/{kind}")
        logger.warning("Skipped %s: %s", request.url, reason, extra={"spider": self._spider})
        return IgnoreRequest(kind)

    @property
    def _spider(self) -> Spider | None:
        return self.crawler.spider


class PortGuard(_Guard):
    """Scrapy's OffsiteMiddleware compares hosts only: a link or redirect to
    ``localhost:5432`` passes when ``localhost`` is allowed. This refuses an allowed
    host on a port that is not a seed's or a web port (:mod:`newscrawl.offsite`).

    Stats: ``newscrawl/errors/offsite_port``.
    """

    _destinations: Destinations | None = None

    def process_request(self, request: Request) -> None:
        if self._destinations is None:
            self._destinations = Destinations.of_spider(self._spider)
        host, port = host_port(request.url)
        if self._destinations.in_domain(host) and port not in self._destinations.ports:
            reason = f"port {port} of {host} is not a seed's or a web port"
            if redirects := request.meta.get("redirect_urls"):
                reason += f" (redirected from {redirects[0]})"
            raise self._drop(request, "offsite_port", reason)


class RedirectGuard(_Guard):
    """Stops a redirect that leads back to a URL of its own chain (a loop), and counts
    chains that Scrapy's redirect middleware is about to abandon as too long.

    Stats: ``newscrawl/errors/redirect_loop``, ``newscrawl/errors/too_many_redirects``.
    """

    def __init__(self, crawler: Crawler, max_redirects: int) -> None:
        super().__init__(crawler)
        self.max_redirects = max_redirects

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuard:
        return cls(crawler, crawler.settings.getint("REDIRECT_MAX_TIMES"))

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        if any(_same_page(target, url) for url in chain):
            raise self._drop(request, "redirect_loop", f"redirect loop (back to {target})")
        if request.meta.get("redirect_times", 0) >= self.max_redirects:
            reason = f"more than {self.max_redirects} redirects (from {chain[0]})"
            raise self._drop(request, "too_many_redirects", reason)
        return response


class ResponseGuard(_Guard):
    """Checks page responses before spiders parse them, and accounts for failures.

    A parsed page costs memory per element (lxml's tree, then the page object's
    passes over it): an 8 MB page of a million elements took 1.6 GB, and the reactor
    thread for minutes (``python -m bench.page_memory``). A page with
    more start tags than ``NEWSCRAWL_PAGE_MAX_ELEMENTS`` (counted in the raw body,
    before anything parses it) is skipped.

    Stats under ``newscrawl/errors/``: ``not_html`` (binary or non-text body),
    ``too_many_elements``, ``http_<status>`` (an error status after retries), and one
    ``<kind>`` per download failure (``timeout``, ``too_large``, ``dns``,
    ``connection_refused``, ``data_loss``, ``connection_lost``, ...).
    ``newscrawl/encoding/corrected`` counts pages whose declared charset was wrong.
    """

    def __init__(self, crawler: Crawler, max_elements: int) -> None:
        """``max_elements``: 0 for no limit."""
        super().__init__(crawler)
        self.max_elements = max_elements

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResponseGuard:
        return cls(crawler, crawler.settings.getint("NEWSCRAWL_PAGE_MAX_ELEMENTS"))

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status >= 400:
            self.stats.inc_value(f"{STATS_ERRORS}/http_{response.status}")
            return response
        if request.meta.get(PAGE_KIND) not in HTML_PAGE_KINDS or response.status >= 300:
            return response
        if not isinstance(response, TextResponse):
            content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            raise self._drop(request, "not_html", f"not an HTML page ({content_type or 'no type'})")
        if self.max_elements and (elements := _start_tags(response.body)) > self.max_elements:
            reason = f"{elements:,} elements (NEWSCRAWL_PAGE_MAX_ELEMENTS={self.max_elements:,})"
            raise self._drop(request, "too_many_elements", reason)
        response = self._fix_encoding(response)
        sample = response.text[:_SAMPLE]
        junk = len(_JUNK_RE.findall(sample))
        if sample and junk > _MAX_JUNK * len(sample):
            raise self._drop(request, "not_html", "binary body served as text")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """A download failed for good (retries are done): say why, in one line.

        Requests without an errback then end quietly (Scrapy would log an ERROR with
        a traceback); a spider's errback still gets the original failure.
        """
        if isinstance(exception, IgnoreRequest):  # robots.txt, offsite: counted where decided
            return None
        kind = failure_kind(exception)
        error = self._drop(request, kind, f"download failed, {kind} ({exception!r})")
        if request.errback is None:
            raise error
        return None

    def _fix_encoding(self, response: TextResponse) -> TextResponse:
        """``response`` decoded with the charset its body is actually in.

        A body that is valid UTF-8 (and not plain ASCII) is UTF-8 whatever the
        header says: text in a legacy charset is practically never valid UTF-8. A
        body that is not valid in its declared charset is read with the charset its
        ``<meta>`` declares, or else windows-1252.
        """
        body = response.body
        if body.isascii() or read_bom(body)[0]:
            return response
        declared = codecs.lookup(response.encoding).name
        if _decodes(body, "utf-8"):
            actual = "utf-8"
        elif _decodes(body, declared) and _has_declared_encoding(response):
            return response
        else:
            meta = html_body_declared_encoding(body)
            actual = meta if meta and _decodes(body, meta) else LEGACY_ENCODING
        if codecs.lookup(actual).name == declared:
            return response
        self.stats.inc_value(f"{STATS_ENCODING}/corrected")
        logger.info(
            "Reading %s as %s, not %s as declared",
            response.url,
            actual,
            declared,
            extra={"spider": self._spider},
        )
        return response.replace(encoding=actual)


def _start_tags(body: bytes) -> int:
    """Start tags (and comments, doctypes) in an HTML body: ``<`` not followed by ``/``."""
    return body.count(b"<") - body.count(b"</")


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        codecs.decode(body, encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _has_declared_encoding(response: TextResponse) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return bool(
        http_content_type_encoding(content_type) or html_body_declared_encoding(response.body)
    )
