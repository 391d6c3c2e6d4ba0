"""The sample site's RSS feed and Google News sitemap, for trying the ``news`` spider.

``/en/rss.xml``: RSS 2.0, the listed stories newest first. ``/en/news-sitemap.xml``:
a news sitemap (``<news:publication_date>``) of every dated story. Both name their
stories by the URLs the site serves, on the host the request came to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from newscrawl.demo.site import Resource, _resource

RSS_PATH = "/en/rss.xml"
NEWS_SITEMAP_PATH = "/en/news-sitemap.xml"
RSS_ITEMS = 50


def render(site: Any, path: str, host: str) -> Resource | None:
    """The feed or news sitemap at ``path``; None elsewhere, or for a site that is not a
    :class:`~newscrawl.demo.site.SampleSite` (test sites bring their own)."""
    if path not in (RSS_PATH, NEWS_SITEMAP_PATH) or not hasattr(site, "listed_ids"):
        return None
    base = f"http://{host}"
    if path == RSS_PATH:
        return _xml(rss(site, base))
    return _xml(news_sitemap(site, base))


def rss(site: Any, base: str) -> str:
    items = []
    for story_id in site.listed_ids()[:RSS_ITEMS]:
        spec = site.spec(story_id)
        published = ""
        if spec.date_iso:
            moment = datetime.fromisoformat(spec.date_iso)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            published = f"<pubDate>{format_datetime(moment, usegmt=True)}</pubDate>"
        items.append(
            f"<item><title>{escape(spec.headline)}</title><link>{base}{spec.path}</link>"
            f"<guid>{base}{spec.path}</guid>{published}</item>"
        )
    return (
        '<rss version="2.0"><channel><title>Daily8 sample</title>'
        f"<link>{base}/en</link><description>Latest stories</description>"
        f"{''.join(items)}</channel></rss>"
    )


def news_sitemap(site: Any, base: str) -> str:
    entries = []
    for story_id in site.ids:
        spec = site.spec(story_id)
        if not spec.date_iso:
            continue
        entries.append(
            f"<url><loc>{base}{spec.path}</loc><news:news><news:publication>"
            "<news:name>Daily8 sample</news:name><news:language>en</news:language>"
            f"</news:publication><news:publication_date>{spec.date_iso}"
            f"</news:publication_date><news:title>{escape(spec.headline)}</news:title>"
            "</news:news></url>"
        )
    return (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{''.join(entries)}</urlset>"
    )


def _xml(text: str) -> Resource:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n{text}'.encode()
    return _resource(200, "application/xml; charset=utf-8", body)
