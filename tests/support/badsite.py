"""A site of bad input, served on 127.0.0.1: one awkward case per page.

Every case is an article URL linked from the home page (``/en``), so a real
``scrapy crawl daily8`` meets them all. Article pages are the sample site's
Daily8 markup (:mod:`newscrawl.demo.site`), each damaged in one way; other cases
misbehave at the HTTP level (status, headers, redirects, slowness, a connection
cut short). :attr:`Case.outcome` says what the crawler must make of each: a
stored record, or a drop counted under a stats key.

Serve it with :class:`newscrawl.demo.server.SiteServer`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from newscrawl.demo.site import Resource, SampleSite, StorySpec

STORED = "stored"
TIMEOUT = 2.0  # the DOWNLOAD_TIMEOUT a crawl of this site must use
MAX_SIZE = 200_000  # the DOWNLOAD_MAXSIZE a crawl of this site must use
CRAWL_SETTINGS = {
    "DOWNLOAD_TIMEOUT": str(TIMEOUT),
    "DOWNLOAD_MAXSIZE": str(MAX_SIZE),
    "RETRY_TIMES": "1",
}
INJECTION = "O'Brien: \"'); DROP TABLE articles; --\" 100% \\ $1 %s {0} ; SELECT pg_sleep(9)"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


@dataclass(frozen=True)
class Case:
    """One bad page: where it is, and what a crawl must make of it.

    ``outcome`` is :data:`STORED`, or the stats key that counts the page's drop. For
    a stored page, ``expected`` holds record values to check (``body_starts``: a
    prefix of ``articleBody``); the headline defaults to the story's.
    """

    name: str
    path: str
    outcome: str
    story: StorySpec
    expected: dict[str, Any] = field(default_factory=dict)


def _case_id(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()  # 32 hex digits, as Daily8 ids


def _ok(page: str | bytes, content_type: str = "text/html; charset=utf-8") -> Resource:
    body = page.encode() if isinstance(page, str) else page
    return Resource(200, _headers(content_type, len(body)), body)


def _headers(content_type: str, length: int, **extra: str) -> dict[str, str]:
    return {
        "Date": formatdate(usegmt=True),
        "Content-Type": content_type,
        "Content-Length": str(length),
        **extra,
    }


class BadSite:
    """The cases, and a ``render`` for :class:`~newscrawl.demo.server.SiteServer`."""

    def __init__(self) -> None:
        # Stories shown without structured data (the sample site's "dom-only" markup),
        # so the damaged DOM is what the crawler reads.
        self._sample = SampleSite(n_articles=200, markups=("dom-only",))
        self._stories = iter(self._sample.spec(self._sample.ids[i]) for i in range(15, 200, 4))
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.cases: dict[str, Case] = {}
        self._renderers: dict[str, Callable[[str, Case], Resource]] = {}
        self._define_cases()

    # -- serving ------------------------------------------------------------

    def render(self, path_with_query: str, host: str = "127.0.0.1") -> Resource | None:
        path = path_with_query.split("?", 1)[0]
        base = f"http://{host}"
        if path == "/en":
            return self._index(base)
        if path == "/robots.txt":
            text = f"User-agent: *\nDisallow: /zz/\n\nSitemap: {base}/sitemap.xml\n"
            return _ok(text, "text/plain; charset=utf-8")
        if path == "/sitemap.xml":  # not XML at all
            return _ok(b"\x00\x01 this is not a sitemap <urlset", "application/xml")
        for case in self.cases.values():
            if case.path == path:
                with self._lock:
                    self._hits[case.name] = self._hits.get(case.name, 0) + 1
                return self._renderers[case.name](path_with_query, case)
        return None

    def hits(self, name: str) -> int:
        return self._hits.get(name, 0)

    def _index(self, base: str) -> Resource:
        # Offsite: the same server under another host name, which the crawl must not follow.
        offsite = f"http://localhost:{base.rsplit(':', 1)[1]}{self.cases['offsite'].path}"
        hrefs = {case.name: case.path for case in self.cases.values()} | {"offsite": offsite}
        links = [f'<li><a href="{href}">{name}</a></li>' for name, href in hrefs.items()]
        page = (
            f"<!DOCTYPE html><html><body><h1>Bad news</h1><ul>{''.join(links)}</ul></body></html>"
        )
        return _ok(page)

    # -- pages ----------------------------------------------------------------

    def page(self, story: StorySpec, host: str = "127.0.0.1") -> str:
        """The sample site's page for ``story``, without related cards (no links out)."""
        resource = self._sample.render(story.path, host)
        assert resource is not None
        text = resource.body.decode(story.charset)
        return re.sub(r'<section class="related">.*?</section>', "", text, flags=re.S)

    def _add(
        self,
        name: str,
        outcome: str,
        render: Callable[[str, Case], Resource],
        *,
        prefix: str = "/en",
        expect: Callable[[StorySpec], dict[str, Any]] | None = None,
        **expected: Any,
    ) -> None:
        """Add a case; ``expect(story)`` gives expected values that depend on its story."""
        story = next(self._stories)
        if outcome == STORED:
            expected = {"headline": story.headline, **expected, **(expect(story) if expect else {})}
        path = f"{prefix}/article/{_case_id(name)}"
        self.cases[name] = Case(name, path, outcome, story, expected)
        self._renderers[name] = render

    def _edited(
        self,
        *edits: tuple[str, str],
        content_type: str = "text/html; charset=utf-8",
        encoding: str = "utf-8",
    ) -> Callable[[str, Case], Resource]:
        """A renderer of the case's story page with text replacements applied
        (``{headline}`` and ``{date}`` stand for the story's, as the page shows them)."""

        def render(path: str, case: Case) -> Resource:
            headline = html.escape(case.story.headline, quote=False)

            def fill(text: str) -> str:
                return text.replace("{headline}", headline).replace(
                    "{date}", case.story.date_raw or ""
                )

            page = self.page(case.story)
            for old, new in edits:
                assert fill(old) in page, old
                page = page.replace(fill(old), fill(new))
            return _ok(page.encode(encoding), content_type)

        return render

    def _define_cases(self) -> None:
        edited = self._edited
        h1 = '<h1 class="article-title">{headline}</h1>'
        content = '<div class="article-content">'
        date = '<span class="article-date">'

        self._add("clean", STORED, edited())

        def truncated(path: str, case: Case) -> Resource:
            """The page ends 30 characters into its second paragraph."""
            page = self.page(case.story).encode()
            cut = page.index(b"</p><p>", page.index(content.encode())) + len("</p><p>") + 30
            return _ok(page[:cut])

        self._add(
            "truncated_html",
            STORED,
            truncated,
            expect=lambda story: {
                "body": f"{story.paragraphs[0]}\n{story.paragraphs[1][:30].rstrip()}"
            },
        )
        self._add(
            "malformed_html",
            STORED,
            edited(
                (content, f"</span></div></b>{content}<p><b>Bold start</p></b><div>"),
                ("</main>", "<table><tr><td>stray cell</main></footer></html></body>"),
            ),
            body_starts="Bold start\n",
        )
        umlauts = "{headline} in Zürich, café ½ price"

        def with_umlauts(story: StorySpec) -> dict[str, Any]:
            return {"headline": umlauts.replace("{headline}", story.headline)}

        for name, content_type, encoding in (
            ("charset_header_says_utf8_body_is_latin1", "text/html; charset=utf-8", "latin-1"),
            ("charset_header_says_latin1_body_is_utf8", "text/html; charset=iso-8859-1", "utf-8"),
            ("charset_missing_body_is_utf8", "text/html", "utf-8"),
            ("charset_missing_body_is_latin1", "text/html", "latin-1"),
            ("charset_unknown_label", "text/html; charset=x-klingon", "utf-8"),
        ):
            self._add(
                name,
                STORED,
                edited(
                    ('<meta charset="utf-8">', ""),
                    (h1, f'<h1 class="article-title">{umlauts}</h1>'),
                    content_type=content_type,
                    encoding=encoding,
                ),
                expect=with_umlauts,
            )
        self._add(
            "charset_only_in_meta",
            STORED,
            edited(
                ('<meta charset="utf-8">', '<meta charset="iso-8859-1">'),
                (h1, f'<h1 class="article-title">{umlauts}</h1>'),
                content_type="text/html",
                encoding="latin-1",
            ),
            expect=with_umlauts,
        )
        self._add("missing_date", STORED, edited((date + "{date}", date)), datePublished=None)
        for name, day in (("date_in_the_future", "01-01-2099"), ("date_before_1990", "01-01-1970")):
            self._add(
                name,
                STORED,
                edited((date + "{date}", date + day)),
                datePublished=None,
                datePublishedRaw=day,
            )
        self._add(
            "script_in_headline",
            STORED,
            edited(
                (
                    h1,
                    '<h1 class="article-title">Breaking <script>alert("h1")</script>'
                    "<b>news</b> &amp; <i>more</i><style>h1{color:red}</style></h1>",
                )
            ),
            headline="Breaking news & more",
        )
        self._add(
            "script_in_body",
            STORED,
            edited(
                (
                    content,
                    f'{content}<p>Para <script>document.write("evil")</script>text'
                    '<noscript><img src="x" onerror="evil()"></noscript></p><style>p{}</style>'
                    "<script>var leak = 1;</script>",
                )
            ),
            body_starts="Para text\n",
        )
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": "<b>Bold</b> claim &amp; <script>alert(1)</script>more",
            "articleBody": "<p>First paragraph.</p><p>Second <em>one</em>.<script>x()</script></p>",
        }
        ld_script = json.dumps(ld).replace("</", "<\\/")
        self._add(
            "html_in_json_ld",
            STORED,
            edited(("</head>", f'<script type="application/ld+json">{ld_script}</script></head>')),
            headline="Bold claim & more",
            body="First paragraph.\nSecond one.",
        )
        self._add(
            "sql_metacharacters",
            STORED,
            edited(
                (h1, f'<h1 class="article-title">{html.escape(INJECTION, quote=False)}</h1>'),
                (content, f"{content}<p>{html.escape(INJECTION, quote=False)} wrote a reader.</p>"),
            ),
            headline=INJECTION,
            body_starts=INJECTION + " wrote a reader.\n",
        )
        nul_ld = json.dumps({"@type": "NewsArticle", "headline": "Nul\u0000 in JSON"})
        self._add(
            "nul_bytes",
            STORED,
            edited(
                ("</head>", f'<script type="application/ld+json">{nul_ld}</script></head>'),
                (content, f"{content}<p>Nul\x00 in text</p>"),
            ),
            headline="Nul in JSON",
            body_starts="Nul in text\n",
        )
        surrogate_ld = '{"@type": "NewsArticle", "headline": "Broken \\ud800 surrogate"}'
        self._add(
            "lone_surrogate_in_json",
            STORED,
            edited(
                ("</head>", f'<script type="application/ld+json">{surrogate_ld}</script></head>')
            ),
            headline="Broken surrogate",
        )
        self._add(
            "entities",
            STORED,
            edited(
                (h1, '<h1 class="article-title">Tom &amp; Jerry&#8217;s&nbsp;day &#x1F600;</h1>')
            ),
            headline="Tom & Jerry’s day 😀",
        )

        def flaky(path: str, case: Case) -> Resource:
            if self.hits(case.name) == 1:
                body = b"busy"
                return Resource(
                    503, _headers("text/plain", len(body), **{"Retry-After": "0"}), body
                )
            return _ok(self.page(case.story))

        self._add("unavailable_once", STORED, flaky)

        # -- dropped, each counted --------------------------------------------
        self._add(
            "missing_headline",
            "newscrawl/dropped/no_headline",
            edited(
                (h1, ""),
                ('<h2 class="article-title">{headline}</h2>', ""),
                ("<title>{headline} | Daily8</title>", "<title></title>"),
            ),
        )
        self._add("missing_body", "newscrawl/dropped/no_body", self._without_body)
        self._add("binary_as_html", "newscrawl/errors/not_html", lambda p, c: _ok(PNG))
        self._add(
            "image_at_article_url",
            "newscrawl/errors/not_html",
            lambda p, c: Resource(200, _headers("image/png", len(PNG)), PNG),
        )
        self._add(
            "too_large",
            "newscrawl/errors/too_large",
            lambda p, c: _ok(b"<html><body>" + b"<p>big</p>" * (MAX_SIZE // 5)),
        )
        self._add(
            "redirect_loop",
            "newscrawl/errors/redirect_loop",
            lambda p, c: Resource(302, _headers("text/plain", 0, Location=c.path), b""),
        )

        def endless(path: str, case: Case) -> Resource:
            hop = int(path.partition("?hop=")[2] or 0) + 1
            return Resource(302, _headers("text/plain", 0, Location=f"{case.path}?hop={hop}"), b"")

        self._add("redirect_chain", "newscrawl/errors/too_many_redirects", endless)
        self._add("not_found", "newscrawl/errors/http_404", lambda p, c: _status(404))
        self._add("server_error", "newscrawl/errors/http_500", lambda p, c: _status(500))

        def slow(path: str, case: Case) -> Resource:
            time.sleep(TIMEOUT + 1)
            return _ok(self.page(case.story))

        self._add("timeout", "newscrawl/errors/timeout", slow)

        def cut_short(path: str, case: Case) -> Resource:
            body = self.page(case.story).encode()
            headers = _headers("text/html; charset=utf-8", len(body) * 2, Connection="close")
            return Resource(200, headers, body)

        self._add("connection_cut_short", "newscrawl/errors/data_loss", cut_short)
        # Never fetched: robots.txt forbids the first, the second is on another host.
        self._add("robots_disallowed", "robotstxt/forbidden", edited(), prefix="/zz")
        self._add("offsite", "offsite/filtered", edited(), prefix="/xx")

    def _without_body(self, path: str, case: Case) -> Resource:
        """A video-only story: the text container is there, empty."""
        page = re.sub(
            r'(<div class="article-content">).*?(</div>)',
            r"\1\2",
            self.page(case.story),
            flags=re.S,
        )
        return _ok(page)


def _status(status: int) -> Resource:
    body = f"<html><body><h1>Error {status}</h1></body></html>".encode()
    return Resource(status, _headers("text/html; charset=utf-8", len(body)), body)
