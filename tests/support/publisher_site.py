"""A local publisher site for the ``news`` spider, built from the labelled generic pages.

Each saved page is served at its own path on 127.0.0.1. The home page links
the listing pages and some articles; the others are reachable only through
the RSS feed, the news sitemap (named in robots.txt) or a related link, so a
crawl that finds them all has used every way in. Articles older than
``OLD_BEFORE`` appear only in the feed and sitemap, for ``-a since``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from newscrawl.demo.site import DEFAULT_HOST, Resource

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "generic"
OLD_BEFORE = date(2024, 1, 1)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _html(body: str | bytes, content_type: str = "text/html; charset=utf-8") -> Resource:
    data = body.encode() if isinstance(body, str) else body
    return Resource(200, {"Content-Type": content_type, "Content-Length": str(len(data))}, data)


@dataclass
class PublisherSite:
    expected: dict[str, dict] = field(
        default_factory=lambda: json.loads((FIXTURES / "expected.json").read_text())
    )

    def __post_init__(self) -> None:
        self.pages = {_path(meta["url"]): name for name, meta in self.expected.items()}
        articles = sorted(p for p, n in self.pages.items() if self.expected[n]["is_article"])
        old = [p for p in articles if self.published(p) < OLD_BEFORE]
        recent = [p for p in articles if p not in old]
        self.listings = sorted(
            p for p, n in self.pages.items() if not self.expected[n]["is_article"]
        )
        self.home_articles = recent[: len(recent) // 3]
        self.related_only = recent[len(recent) // 3 : len(recent) // 3 + 2]
        rest = recent[len(self.home_articles) + len(self.related_only) :] + old
        self.feed_articles, self.sitemap_articles = rest[::2], rest[1::2]
        self.old = set(old)

    def published(self, path: str) -> date:
        raw = self.expected[self.pages[path]].get("datePublished") or "2024-06-01"
        return date.fromisoformat(raw[:10])

    def published_at(self, path: str) -> datetime:
        return datetime.combine(self.published(path), time(12), UTC)

    def articles(self) -> set[str]:
        return set(
            self.home_articles + self.related_only + self.feed_articles + self.sitemap_articles
        )

    def render(self, path_with_query: str, host: str = DEFAULT_HOST) -> Resource | None:
        base = f"http://{host}"
        if path_with_query == "/":
            links = "".join(
                f'<li><a href="{p}">{p}</a></li>' for p in self.listings + self.home_articles
            )
            return _html(
                f"<html><head><title>Home</title></head><body><ul>{links}</ul></body></html>"
            )
        if path_with_query == "/robots.txt":
            text = f"User-agent: *\nDisallow: /private/\nSitemap: {base}/news-sitemap.xml\n"
            return _html(text, "text/plain")
        if path_with_query == "/feed.xml":
            items = "".join(
                f"<item><title>{p}</title><link>{base}{p.replace('&', '&amp;')}</link>"
                f"<pubDate>{format_datetime(self.published_at(p))}</pubDate></item>"
                for p in self.feed_articles
            )
            rss = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'
            return _html(rss, "application/rss+xml")
        if path_with_query == "/news-sitemap.xml":
            urls = "".join(
                f"<url><loc>{base}{p.replace('&', '&amp;')}</loc><news:news><news:publication_date>"
                f"{self.published(p).isoformat()}</news:publication_date></news:news></url>"
                for p in self.sitemap_articles
            )
            return _html(
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
                ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                f"{urls}</urlset>",
                "application/xml",
            )
        name = self.pages.get(path_with_query)
        if name is None:
            return None
        html = (FIXTURES / name).read_text()
        if path_with_query == self.home_articles[0]:  # related links, found nowhere else
            related = "".join(f'<a href="{p}">Related</a>' for p in self.related_only)
            html = html.replace("</body>", f'<aside class="related">{related}</aside></body>')
        return _html(html)
