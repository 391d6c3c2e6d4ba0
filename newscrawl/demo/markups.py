"""The same Daily8 story as different front-end teams would write its page.

Each function here takes only what a reader sees (the story spec, its related
stories and their "x ago" times) and writes a complete page in its own house
style: its own tags, class names, layout order and data formats. None of them
looks at what the crawler's page objects read; the markups exist to catch a page
object that leans on one team's habits. The classic Daily8 markup stays in
:mod:`.site`.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newscrawl.demo.site import StorySpec

SITE = "Daily8"
PROMO = ("Try Our AI Features", "Explore what Daily8 AI can do for you:")
APP_BANNER = (
    "DOWNLOAD THE APP",
    "Get Started Now: Download the App",
    "Ready to dive into a world of global content with local flavor? Download Daily8 app "
    "today from your preferred app store and start exploring.",
)


def esc(text: str) -> str:
    """Text and double-quoted attributes escaped (apostrophes stay as typed)."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def inline_json(data: object) -> str:
    """JSON for a ``<script>`` element: ``</`` cannot close it."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def css_module(component: str, part: str) -> str:
    """A CSS-module class name, ``Component_part__hash``, as webpack generates them."""
    digest = hashlib.sha1(f"{component}:{part}".encode()).hexdigest()[:5]
    return f"{component}_{part}__{digest}"


def page(title: str, head: str, body: str, lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>'
        f"<title>{esc(title)}</title>{head}</head><body>{body}</body></html>\n"
    )


def summary(spec: StorySpec) -> str:
    text = " ".join(spec.paragraphs)
    return text if len(text) <= 200 else text[:200].rsplit(" ", 1)[0] + "..."


# -- semantic HTML: a team that reaches for the right element every time -----------------


def semantic(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    dateline = f"<span>{spec.date_raw}</span>" if spec.date_raw else ""
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in spec.paragraphs)
    cards = "".join(
        f'<li><article><h3><a href="{r.path}">{esc(r.headline)}</a></h3>'
        f"<p>{esc(r.source_name)} · <time>{when}</time></p><p>{esc(summary(r))}</p></article></li>"
        for r, when in zip(related, times, strict=True)
    )
    body = (
        f'<header><a href="/en"><img src="/logo.svg" alt="{SITE}"></a>'
        '<nav><a href="/en">Latest</a></nav></header>'
        "<main><article>"
        f'<header><h1>{esc(spec.headline)}</h1><p class="src">{esc(spec.source_name)}'
        f"{dateline}</p></header>"
        f'<figure><img src="{spec.image_url}" alt="{esc(spec.headline)}">'
        f"<figcaption>{esc(spec.headline)}</figcaption></figure>"
        f'<section class="text">{paragraphs}</section>'
        f"<aside><h2>{PROMO[0]}</h2><p>{PROMO[1]}</p></aside>"
        "<section><h2>Comments</h2><p>No comments yet...</p></section>"
        "</article>"
        f"<aside><h2>Related Articles</h2><ul>{cards}</ul></aside></main>"
        f"<footer><h2>{APP_BANNER[0]}</h2><p>{APP_BANNER[1]}</p><p>{APP_BANNER[2]}</p></footer>"
    )
    head = f'<meta name="description" content="{esc(summary(spec))}">'
    return page(f"{spec.headline} - {SITE}", head, body)


# -- CSS modules: generated class names, the headline in a div, no h1 ----------------------


def hashed(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    c = css_module
    date = f'<div class="{c("Byline", "date")}">{spec.date_raw}</div>' if spec.date_raw else ""
    paragraphs = "".join(
        f'<div class="{c("Story", "para")}">{esc(p)}</div>' for p in spec.paragraphs
    )
    cards = "".join(
        f'<a class="{c("Card", "root")}" href="{r.path}">'
        f'<div class="{c("Card", "title")}">{esc(r.headline)}</div>'
        f'<div class="{c("Card", "meta")}"><span>{esc(r.source_name)}</span>'
        f'<span class="{c("Card", "ago")}">{when}</span></div></a>'
        for r, when in zip(related, times, strict=True)
    )
    body = (
        f'<div id="__next"><div class="{c("Layout", "root")}">'
        f'<div class="{c("Header", "bar")}"><a href="/en">{SITE}</a></div>'
        f'<div class="{c("Story", "wrap")}">'
        f'<div class="{c("Story", "title")}">{esc(spec.headline)}</div>'
        f'<div class="{c("Story", "media")}"><img src="{spec.image_url}" '
        f'alt="{esc(spec.headline)}"></div>'
        f'<div class="{c("Byline", "row")}"><a href="{esc(spec.source_url)}" '
        f'class="{c("Byline", "source")}">{esc(spec.source_name)}</a>{date}</div>'
        f'<div class="{c("Story", "body")}">{paragraphs}</div>'
        f'<div class="{c("Promo", "box")}"><div>{PROMO[0]}</div><div>{PROMO[1]}</div></div>'
        f'</div><div class="{c("Rail", "root")}"><div class="{c("Rail", "heading")}">'
        f'Related Articles</div><div class="{c("Rail", "list")}">{cards}</div></div>'
        "</div></div>"
    )
    return page(f"{spec.headline} – {SITE}", "", body)


# -- OpenGraph only: the story's data lives in meta tags, the headline in an h2 ------------


def opengraph(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    meta = {
        "og:type": "article",
        "og:site_name": SITE,
        "og:title": spec.headline,
        "og:url": f"{base}{spec.path}",
        "og:image": f"{base}{spec.image_url}",
        "og:description": summary(spec),
    }
    if spec.date_iso:
        meta["article:published_time"] = spec.date_iso
    head = "".join(f'<meta property="{k}" content="{esc(v)}">' for k, v in meta.items())
    lines = [f'<div class="meta">{esc(spec.source_name)}</div>']
    if spec.date_raw:
        lines.append(f'<div class="meta">{spec.date_raw}</div>')
    paragraphs = "".join(f'<div class="txt">{esc(p)}</div>' for p in spec.paragraphs)
    items = "".join(
        f'<div class="item"><a href="{r.path}"><img src="{r.image_url}" alt=""></a>'
        f'<a href="{r.path}">{esc(r.headline)}</a><span>{when}</span></div>'
        for r, when in zip(related, times, strict=True)
    )
    body = (
        f'<div class="top"><a href="/en">{SITE}</a></div>'
        f'<div class="content"><h2>{esc(spec.headline)}</h2>{"".join(lines)}{paragraphs}</div>'
        f'<div class="more"><h3>Related Articles</h3>{items}</div>'
        f'<div class="bottom">{"".join(f"<p>{t}</p>" for t in APP_BANNER)}</div>'
    )
    return page(SITE, head, body)


# -- JSON-LD @graph: an SEO plugin's graph, a heading by ARIA role, no h1 ------------------


def json_ld_graph(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    url = f"{base}{spec.path}"
    publisher_id = spec.source_url.split("/news/", 1)[0] + "/#organization"
    article = {
        "@type": "NewsArticle",
        "@id": f"{url}#article",
        "headline": spec.headline,
        "isPartOf": {"@id": f"{url}#webpage"},
        "mainEntityOfPage": {"@id": f"{url}#webpage"},
        "sourceOrganization": {"@id": publisher_id},
        "publisher": {"@id": f"{base}/#organization"},
        "image": {"@type": "ImageObject", "url": f"{base}{spec.image_url}"},
        "articleBody": spec.body,
        "inLanguage": "en-GB",
    }
    if spec.date_iso:
        article["datePublished"] = spec.date_iso
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "@id": f"{base}/#organization", "name": SITE, "url": base},
            {"@type": "WebSite", "@id": f"{base}/#website", "name": SITE},
            {"@type": "WebPage", "@id": f"{url}#webpage", "url": url, "name": spec.headline},
            article,
            {
                "@type": "NewsMediaOrganization",
                "@id": publisher_id,
                "name": spec.source_name,
                "url": spec.source_url.split("/news/", 1)[0],
            },
        ],
    }
    head = f'<script type="application/ld+json">{inline_json(graph)}</script>'
    byline = esc(spec.source_name) + (f" | {spec.date_raw}" if spec.date_raw else "")
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in spec.paragraphs)
    cards = "".join(
        f'<div class="card"><div class="card-h" role="heading" aria-level="3">'
        f'<a href="{r.path}">{esc(r.headline)}</a></div><div class="card-s">'
        f'{esc(r.source_name)}</div><div class="card-t">{when}</div></div>'
        for r, when in zip(related, times, strict=True)
    )
    body = (
        f'<div class="shell"><div class="masthead"><a href="/en">{SITE}</a></div>'
        '<div role="main"><div class="story">'
        f'<div class="story-head" role="heading" aria-level="1">{esc(spec.headline)}</div>'
        f'<div class="story-by">{byline}</div>'
        f'<div class="story-body">{paragraphs}</div></div>'
        f'<div class="rail"><div role="heading" aria-level="2">Related Articles</div>{cards}'
        "</div></div></div>"
    )
    return page(f"{spec.headline} | {SITE}", head, body)


# -- Next.js-style app: server-rendered markup plus its own dehydrated state ---------------


def next_app(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    story = {
        "storyId": spec.id,
        "storyTitle": spec.headline,
        "outlet": {
            "slug": spec.source_url.split("//", 1)[1].split(".", 1)[0],
            "displayName": spec.source_name,
            "homepage": spec.source_url,
        },
        "pubDate": spec.date_raw,
        "paragraphs": [{"kind": "text", "value": p} for p in spec.paragraphs],
        "moreStories": [
            {"storyId": r.id, "heading": r.headline, "ago": when}
            for r, when in zip(related, times, strict=True)
        ],
    }
    state = {
        "props": {
            "pageProps": {"dehydratedState": {"queries": [{"state": {"data": {"story": story}}}]}}
        },
        "page": "/[locale]/article/[storyId]",
        "query": {"locale": "en", "storyId": spec.id},
    }
    sc = "sc-" + spec.id[:6]
    date = f' • <span class="{sc}-d">{spec.date_raw}</span>' if spec.date_raw else ""
    paragraphs = "".join(f'<p class="{sc}-p">{esc(p)}</p>' for p in spec.paragraphs)
    more = "".join(
        f'<li class="{sc}-li"><a href="{r.path}"><span>{esc(r.headline)}</span></a>'
        f'<span class="{sc}-ago">{when}</span></li>'
        for r, when in zip(related, times, strict=True)
    )
    body = (
        f'<div id="__next"><nav class="{sc}-n"><a href="/en">{SITE}</a></nav>'
        f'<section class="{sc}-s"><span class="{sc}-h">{esc(spec.headline)}</span>'
        f'<img src="{spec.image_url}" alt="{esc(spec.headline)}">'
        f'<div class="{sc}-b"><span class="{sc}-o">{esc(spec.source_name)}</span>{date}</div>'
        f'<article class="{sc}-a">{paragraphs}</article></section>'
        f'<section class="{sc}-r"><h4>Related Articles</h4><ul>{more}</ul></section></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{inline_json(state)}</script>'
    )
    return page(f"{spec.headline} | {SITE}", "", body)


# -- client-rendered: an empty shell; the script fetches the story and builds the page -----

_CLIENT_SCRIPT = """
const el = (tag, cls, ...children) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  node.append(...children);
  return node;
};
const id = location.pathname.split("/").pop();
fetch(`/api/article/${id}.json`).then((r) => r.json()).then((story) => {
  document.title = `${story.title} | Daily8`;
  const by = el("div", "by", el("span", null, story.source.name));
  if (story.publishedAt) by.append(el("span", null, story.publishedAt));
  const rel = el("ul", "rel", ...story.related.map((r) => {
    const a = el("a", null, r.title);
    a.href = `/en/article/${r.id}`;
    return el("li", null, a, el("small", null, r.timeAgo));
  }));
  document.getElementById("app").append(
    el("div", "t", story.title), by,
    el("div", "b", ...story.content.map((text) => el("div", null, text))), rel);
});
"""


def client(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    body = f'<div id="app"></div><script>{_CLIENT_SCRIPT}</script>'
    return page(SITE, "", body)


WRITERS: dict[str, Callable[[StorySpec, str, list[StorySpec], list[str]], str]] = {
    "semantic": semantic,
    "hashed": hashed,
    "opengraph": opengraph,
    "json-ld-graph": json_ld_graph,
    "next-app": next_app,
    "client": client,
}


def render(spec: StorySpec, base: str, related: list[StorySpec], times: list[str]) -> str:
    """The page of ``spec`` in its markup (``spec.variant``)."""
    return WRITERS[spec.variant](spec, base, related, times)
