"""A deterministic, Daily8-shaped news aggregator generated in memory.

Tests, the ``newscrawl demo`` job and the benchmarks all need a site that looks
like Daily8 (doubled headlines, glued bylines, related cards, boilerplate) and
carries every awkward case the crawler must survive, without shipping data
files or touching the internet. Everything derives from ``(seed, index)``, so
a site of 100,000 stories costs one id per story up front and each page is
built only when it is requested.

Each story is served in one of several markups (:data:`MARKUPS`, see
:mod:`.markups`), chosen per story, as different front-end teams would write the
same page: the classic Daily8 look with JSON-LD, semantic HTML, hashed CSS-module
classes without an ``h1``, OpenGraph only with the headline in an ``h2``, a
JSON-LD ``@graph``, a Next.js-style app with its own state keys, and a
client-rendered page (opt-in: it needs a browser to read).

Under ``/app`` the same stories come as a client-rendered app, for the browser
path: ``/app/en/article/<id>`` and the ``/app/en`` listing are one empty shell
whose script fetches ``/api/article/<id>.json`` or ``/api/latest.json`` and
builds the page (the article markup matches the server-rendered one).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import random
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from email.utils import formatdate
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from newscrawl.demo import markups

DEFAULT_PORT = 8008
"""The demo's port: a fixed one keeps URLs, and so re-runs, identical."""
DEFAULT_HOST = f"127.0.0.1:{DEFAULT_PORT}"
"""Host used for absolute URLs when the caller gives none (the saved fixtures use it)."""
DEFAULT_ARTICLES = 48
DEFAULT_SEED = 8

MARKUPS = (
    "classic", "semantic", "hashed", "opengraph", "json-ld-graph", "next-app", "client", "dom-only"
)  # fmt: skip
SERVER_MARKUPS = MARKUPS[:6]
"""The default: every team's markup that reads without a browser (so crawls need no
Chromium). ``client`` is rendered by its script; ``dom-only`` is the classic page
without structured data, for tests that damage its DOM."""
RELATIVE_TIMES = (
    "a minute ago",
    "9 minutes ago",
    "an hour ago",
    "3 hours ago",
    "6 hours ago",
    "yesterday",
    "2 days ago",
)
LATEST = date(2025, 4, 20)
"""Publication date of story 0; older stories go back from it (dates span early April)."""

MIN_ARTICLES = 12  # enough room for every special case below
ARTICLE_RE = re.compile(r"/en/article/([0-9a-f]{32})")
APP_PATH = "/app/en"
APP_ARTICLE_RE = re.compile(r"/app/en/article/([0-9a-f]{32})")
API_ARTICLE_RE = re.compile(r"/api/article/([0-9a-f]{32})\.json")
PRIVATE_PATH = "/en/private/drafts"

SOURCES = (
    "Russia Today",
    "Sky News",
    "Axios",
    "New York Post",
    "Time of India",
    "Buzz Feed",
    "Al Jazeera",
    "Deutsche Welle",
    "The Independent",
    "Euronews",
)
SUBJECTS = (
    "city council", "central bank", "rail operator", "health ministry", "port authority",
    "tech start-up", "farmers' union", "energy regulator", "school board", "water utility",
    "airline group", "consumer watchdog", "housing agency", "teachers' union", "space agency",
    "steel maker", "mayor's office", "football league", "weather service", "postal service",
    "court of appeal", "chip designer", "wine cooperative", "tourism board", "fishing fleet",
    "car maker", "national museum", "pension fund", "border agency", "fire service",
    "bus company", "science academy",
)  # fmt: skip
ACTIONS = (
    "weighs in on", "rejects plan for", "backs", "delays", "announces review of",
    "warns over", "unveils", "cuts funding for", "defends", "scraps", "doubles down on",
    "signs deal on", "faces questions over", "pauses", "expands", "calls for vote on",
    "launches inquiry into", "approves", "sets deadline for", "softens stance on",
    "revives", "tests", "fast-tracks", "questions",
)  # fmt: skip
OBJECTS = (
    "new bus lanes", "rent controls", "coastal wind farm", "night train service",
    "four-day week", "plastic bag levy", "school meal scheme", "river clean-up",
    "digital tax", "airport expansion", "cycle bridge", "fuel subsidy", "flood barrier",
    "rooftop solar grants", "hospital merger", "drone deliveries", "pension reform",
    "data centre", "grain export quota", "tram extension", "library closures",
    "fishing quotas", "tourist tax", "lithium mine", "speed cameras", "youth jobs plan",
    "heat pump rollout", "port dredging", "stadium rebuild", "water rationing",
    "broadband upgrade", "vaccine drive", "housing targets", "night-time economy plan",
    "satellite launch", "rail fare freeze", "minimum wage rise", "forest replanting",
    "cash machine closures", "harbour tunnel",
)  # fmt: skip
TAILS = (
    "", " after heated debate", " amid budget row", " ahead of summit", " despite protests",
    " in landmark vote", " as costs soar", " after public outcry", " amid legal challenge",
    " as election nears", " after months of talks", " in surprise move", " amid staff shortages",
    " as deadline looms", " after audit findings", " amid record demand",
)  # fmt: skip
PLACES = (
    "Lisbon", "Leeds", "Osaka", "Gdansk", "Porto", "Nairobi", "Valencia", "Tampere",
    "Cork", "Brno", "Lyon", "Adelaide", "Bergen", "Quebec", "Mumbai", "Cardiff",
)  # fmt: skip
PEOPLE = (
    "a spokesperson", "the deputy minister", "a senior official", "the chief executive",
    "an opposition leader", "a local councillor", "the board chair", "a union representative",
    "an independent analyst", "the regional governor",
)  # fmt: skip
GROUPS = (
    "residents", "commuters", "small businesses", "campaigners", "economists",
    "local traders", "students", "pensioners", "engineers", "parents",
)  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SENTENCES = (  # each names the subject or object, so stories share little text
    "Speaking to reporters on {day}, {person} said the {subject} had studied the {object} "
    "for months before reaching a view.",
    "The {subject} said the {object} would affect about {number} thousand people in {place}.",
    "Critics among {groups} argued that the {object} had been rushed and poorly explained.",
    "{Person} stressed that the {subject} had not taken a final decision on the {object}.",
    "Supporters of the {object} pointed to a similar scheme in {place}, where costs fell by "
    "{number} percent.",
    "According to figures published on {day}, the {subject} spent {number} million on "
    "preparatory work last year.",
    "Several {groups} in {place} said they had never been consulted about the {object}.",
    "The {subject} is expected to publish a detailed timetable for the {object} within "
    "{number} days.",
    "{Person} described the {object} as a test of whether the {subject} can keep its promises.",
    "In {place}, {groups} have begun organising meetings to discuss the {object}.",
    "Officials at the {subject} declined to say how the {object} would be funded after {day}.",
    "A survey of {number}00 {groups} found opinion on the {object} split almost evenly.",
    "The {subject} first floated the idea of the {object} during a review in {place}.",
    "{Person} said on {day} that the {subject} would publish its legal advice soon.",
    "Talks between the {subject} and {groups} are due to resume on {day}.",
    "The {object} has already been tried on a smaller scale in {place}, with mixed results.",
    "Opposition to the {object} has grown since {groups} staged a protest outside the "
    "{subject} on {day}.",
    "{Person} warned that delaying the {object} could add {number} million to the final bill.",
    "The {subject} has faced similar criticism before, most recently over plans in {place}.",
    "Analysts expect the {object} to be debated again when the {subject} meets in {number} days.",
    "Local newspapers in {place} have run {number} front pages about the {object} this year.",
    "The {subject} insisted the {object} was affordable and would pay for itself within "
    "{number} months.",
    "{Person} admitted that the {subject} had underestimated how popular the {object} would be.",
    "Documents seen by reporters suggest the {subject} considered {number} alternatives to "
    "the {object}.",
)
LATIN1_HEADLINE = "Zürich café owners study Gênes tourist levy ahead of summer season"
LATIN1_SENTENCES = (
    "Café owners in Zürich say the levy tested in Gênes cut litter near the old port.",
    "A delegation from Gênes will present the figures at the Zürich town hall on Thursday.",
    "Prices at the café terraces, often quoted at 4½ francs for an espresso, may rise again.",
)


def _slug(text: str) -> str:
    """ASCII slug for fake publisher domains and paths ("Zürich café" -> "zurich-cafe")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _esc(text: str) -> str:
    """Escape for text and double-quoted attributes; apostrophes stay as typed."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def _script_json(data: object) -> str:
    """JSON safe to inline in a <script> element."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


@dataclass(frozen=True)
class StorySpec:
    """Everything a story page shows; the single source of truth for expected values.

    Specs are cached and shared: change text through :meth:`SampleSite.set_paragraphs`.
    """

    id: str
    path: str
    headline: str
    paragraphs: list[str]
    source_name: str
    source_url: str
    date_raw: str | None
    date_iso: str | None
    image_url: str
    related: list[str]
    variant: str  # its markup, one of MARKUPS
    charset: str = "utf-8"
    duplicate_of: str | None = None

    @property
    def body(self) -> str:
        """The article body as the crawler should store it."""
        return "\n".join(self.paragraphs)


@dataclass
class Resource:
    """One HTTP response: what :class:`SiteServer` writes to the socket."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Specials:
    """Ids of the stories that carry the awkward cases, so tests can name them."""

    duplicate_of: str  # the original of the duplicate pair
    duplicate: str  # same story under another id
    undated: str
    latin1: str
    missing: str  # id linked from a related card that has no page (404)
    links_missing: str  # the story whose related card points at ``missing``
    bodiless: str  # its page is video-only, with no text: a crawl drops it as invalid
    unlisted: tuple[str, ...]  # in the sitemap and related cards, in no listing


def _resource(status: int, content_type: str, body: bytes, **headers: str) -> Resource:
    return Resource(
        status,
        {
            "Date": formatdate(usegmt=True),
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            **headers,
        },
        body,
    )


def not_found() -> Resource:
    """The 404 page served for every unknown path."""
    body = b"<!DOCTYPE html><html><head><title>Not found</title></head><body><h1>404</h1></html>"
    return _resource(404, "text/html; charset=utf-8", body)


class _StoryView(Mapping[str, StorySpec]):
    """Read-only ``id -> StorySpec`` mapping whose specs are built on access."""

    def __init__(self, site: SampleSite) -> None:
        self._site = site

    def __getitem__(self, story_id: str) -> StorySpec:
        return self._site.spec(story_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._site.ids)

    def __len__(self) -> int:
        return len(self._site.ids)


class SampleSite:
    """The sample aggregator: story specs plus a renderer for every URL it serves.

    Story ``i`` is the ``i``-th newest. The awkward cases sit at fixed indices:
    1/5 duplicate pair, 3 undated, 6 iso-8859-1, 7 links to a missing story,
    10 has no body text, and every ``i % 16 == 11`` is left out of the listings.
    """

    _DUP_ORIGINAL, _DUP_COPY, _UNDATED, _LATIN1, _LINKS_MISSING, _BODILESS = 1, 5, 3, 6, 7, 10

    def __init__(
        self,
        n_articles: int = DEFAULT_ARTICLES,
        seed: int = DEFAULT_SEED,
        listing_page_size: int = 10,
        sitemap_size: int = 50_000,
        markups: tuple[str, ...] = SERVER_MARKUPS,
    ) -> None:
        capacity = len(SUBJECTS) * len(ACTIONS) * len(OBJECTS) * len(TAILS)
        if not MIN_ARTICLES <= n_articles < capacity:
            raise ValueError(f"n_articles must be in [{MIN_ARTICLES}, {capacity})")
        if listing_page_size < 1 or sitemap_size < 1:
            raise ValueError("listing_page_size and sitemap_size must be positive")
        if not markups or set(markups) - set(MARKUPS):
            raise ValueError(f"markups must be taken from {', '.join(MARKUPS)}")
        self.markups = markups
        self.n_articles = n_articles
        self.seed = seed
        self.listing_page_size = listing_page_size
        self.sitemap_size = sitemap_size
        rng = random.Random(seed)
        self._stride = rng.randrange(1, capacity)
        while math.gcd(self._stride, capacity) != 1:
            self._stride = rng.randrange(1, capacity)
        self._offset = rng.randrange(capacity)
        self._jump = rng.randint(3, 9)  # second related link: i -> i + jump
        self._per_day = max(2, n_articles // 180)
        self.ids: list[str] = [self._story_id(i) for i in range(n_articles)]
        self._index = {story_id: i for i, story_id in enumerate(self.ids)}
        self._listed = [i for i in range(n_articles) if i % 16 != 11]
        self._overrides: dict[str, list[str]] = {}
        self._spec_at = lru_cache(maxsize=4096)(self._build)
        self.stories: Mapping[str, StorySpec] = _StoryView(self)
        self.special = Specials(
            duplicate_of=self.ids[self._DUP_ORIGINAL],
            duplicate=self.ids[self._DUP_COPY],
            undated=self.ids[self._UNDATED],
            latin1=self.ids[self._LATIN1],
            missing=self._story_id(n_articles),
            links_missing=self.ids[self._LINKS_MISSING],
            bodiless=self.ids[self._BODILESS],
            unlisted=tuple(self.ids[i] for i in range(n_articles) if i % 16 == 11),
        )

    # -- story generation -------------------------------------------------

    def _story_id(self, i: int) -> str:
        return hashlib.blake2b(f"daily8:{self.seed}:{i}".encode(), digest_size=16).hexdigest()

    def _topic(self, i: int) -> tuple[str, str, str, str]:
        """(subject, action, object, tail) for story ``i``: an affine bijection, so unique."""
        k = (self._stride * i + self._offset) % (
            len(SUBJECTS) * len(ACTIONS) * len(OBJECTS) * len(TAILS)
        )
        picked = []
        for words in (SUBJECTS, ACTIONS, OBJECTS, TAILS):
            k, digit = divmod(k, len(words))
            picked.append(words[digit])
        return picked[0], picked[1], picked[2], picked[3]

    def _date(self, i: int) -> date | None:
        if i == self._UNDATED:
            return None
        if i == self._DUP_COPY:
            i = self._DUP_ORIGINAL
        return LATEST - timedelta(days=i // self._per_day)

    def _related(self, i: int) -> list[str]:
        n = self.n_articles
        related = [self._story_id((i + step) % n) for step in (1, self._jump, -1)]
        if i == self._LINKS_MISSING:
            related[-1] = self._story_id(n)
        return related

    def _build(self, i: int) -> StorySpec:
        """Spec of story ``i`` (``i == n_articles`` is the missing story's card)."""
        story_id = self._story_id(i)
        if i == self._DUP_COPY:
            original = self._spec_at(self._DUP_ORIGINAL)
            return replace(
                original,
                id=story_id,
                path=f"/en/article/{story_id}",
                image_url=f"/img/{story_id}.jpg",
                related=self._related(i),
                variant=self.markups[i % len(self.markups)],
                duplicate_of=original.id,
            )
        rng = random.Random(f"{self.seed}:{i}")
        subject, action, obj, tail = self._topic(i)
        headline = f"{subject[0].upper()}{subject[1:]} {action} {obj}{tail}"
        if i == self._LATIN1:
            headline, subject, obj = LATIN1_HEADLINE, "Zürich café association", "tourist levy"
        words = {"subject": subject, "object": obj}
        deck: list[str] = []
        paragraphs = [
            " ".join(self._sentence(rng, deck, words) for _ in range(rng.randint(2, 4)))
            for _ in range(rng.randint(4, 9))
        ]
        if i == self._LATIN1:
            paragraphs[0] = " ".join(LATIN1_SENTENCES[:2])
            paragraphs[-1] = f"{paragraphs[-1]} {LATIN1_SENTENCES[2]}"
        source_name = rng.choice(SOURCES)
        published = self._date(i)
        return StorySpec(
            id=story_id,
            path=f"/en/article/{story_id}",
            headline=headline,
            paragraphs=paragraphs,
            source_name=source_name,
            source_url=f"https://{_slug(source_name)}.example/news/{_slug(headline)}",
            date_raw=published.strftime("%d-%m-%Y") if published else None,
            date_iso=published.isoformat() if published else None,
            image_url=f"/img/{story_id}.jpg",
            related=self._related(i),
            variant=self.markups[i % len(self.markups)],
            charset="iso-8859-1" if i == self._LATIN1 else "utf-8",
        )

    @staticmethod
    def _sentence(rng: random.Random, deck: list[str], words: dict[str, str]) -> str:
        """Next sentence from a shuffled deck of templates, so a story rarely repeats one."""
        if not deck:
            deck.extend(rng.sample(SENTENCES, len(SENTENCES)))
        person = rng.choice(PEOPLE)
        return deck.pop().format(
            **words,
            person=person,
            Person=person[0].upper() + person[1:],
            place=rng.choice(PLACES),
            groups=rng.choice(GROUPS),
            day=rng.choice(DAYS),
            number=rng.randint(2, 90),
        )

    # -- public queries ---------------------------------------------------

    def spec(self, story_id: str) -> StorySpec:
        """The spec of a served story (``KeyError`` for unknown ids, including ``missing``)."""
        base = self._spec_at(self._index[story_id])
        paragraphs = self._overrides.get(story_id)
        return base if paragraphs is None else replace(base, paragraphs=paragraphs)

    def set_paragraphs(self, story_id: str, paragraphs: list[str]) -> None:
        """Change one story's text (only that id; a duplicate keeps the old text)."""
        if story_id not in self._index:
            raise KeyError(story_id)
        if not paragraphs or not all(isinstance(p, str) and p.strip() for p in paragraphs):
            raise ValueError("paragraphs must be a non-empty list of non-blank strings")
        self._overrides[story_id] = list(paragraphs)

    def relative_time(self, story_id: str) -> str:
        """The "x ago" text every card about ``story_id`` shows."""
        digest = int(story_id[:8], 16)
        return RELATIVE_TIMES[digest % len(RELATIVE_TIMES)]

    def article_paths(self) -> list[str]:
        return [f"/en/article/{story_id}" for story_id in self.ids]

    def listed_ids(self) -> list[str]:
        """Ids the home page and ``/en?page=N`` link to, newest first."""
        return [self.ids[i] for i in self._listed]

    def listing_pages(self) -> int:
        return math.ceil(len(self._listed) / self.listing_page_size)

    def reachable_ids(self, use_sitemap: bool = True) -> set[str]:
        """Served story ids a crawl from ``/en`` (and the sitemap) can reach.

        Follows listings and related cards over the spec graph, not the HTML,
        so it is cheap even for large sites; the missing id is never included.
        """
        if use_sitemap:  # the sitemap lists every served story
            return set(self.ids)
        todo = list(self._listed)
        seen = {self.ids[i] for i in todo}
        while todo:
            i = todo.pop()
            for story_id in self._related(i):
                if story_id in self._index and story_id not in seen:
                    seen.add(story_id)
                    todo.append(self._index[story_id])
        return seen

    def expected_unique_stories(self) -> set[str]:
        """Reachable ids of storable stories: the duplicate pair counts once (as its
        original) and the body-less story not at all."""
        return self.reachable_ids() - {self.special.duplicate, self.special.bodiless}

    # -- rendering ----------------------------------------------------------

    def render(self, path_with_query: str, host: str = DEFAULT_HOST) -> Resource | None:
        """The response for a request path, or ``None`` when nothing lives there.

        ``host`` is the request's Host header, used for absolute URLs.
        """
        parts = urlsplit(path_with_query)
        path, base = parts.path, f"http://{host}"
        if path == "/":
            return _resource(
                301, "text/html; charset=utf-8", b"Moved to /en", Location=f"{base}/en"
            )
        if path == "/en":
            pages = parse_qs(parts.query).get("page", ["1"])
            return self._listing(int(pages[0])) if pages[0].isdigit() else None
        if path == "/robots.txt":
            text = f"User-agent: *\nDisallow: /en/private/\n\nSitemap: {base}/sitemap.xml\n"
            return _resource(200, "text/plain; charset=utf-8", text.encode())
        if path == "/sitemap.xml":
            return self._sitemap(base, None)
        if match := re.fullmatch(r"/sitemap-([1-9][0-9]*)\.xml", path):
            return self._sitemap(base, int(match[1]))
        if path == PRIVATE_PATH:
            return self._html(200, "Drafts", "<main><p>Unpublished drafts.</p></main>")
        if (match := ARTICLE_RE.fullmatch(path)) and match[1] in self._index:
            return self._article(self.spec(match[1]), base)
        if path == APP_PATH or (
            (match := APP_ARTICLE_RE.fullmatch(path)) and match[1] in self._index
        ):
            return _resource(200, "text/html; charset=utf-8", _APP_SHELL.encode())
        if path == "/api/latest.json":
            ids = self.listed_ids()[: self.listing_page_size]
            return _json([{"id": i, "title": self.spec(i).headline} for i in ids])
        if (match := API_ARTICLE_RE.fullmatch(path)) and match[1] in self._index:
            spec = self._served(self.spec(match[1]))
            image = f"{base}{spec.image_url}"
            related = [self.card_spec(story_id) for story_id in spec.related]
            return _json(self._app_article(spec, image, related))
        return None

    def _html(self, status: int, title: str, body: str, head: str = "") -> Resource:
        page = (
            '<!DOCTYPE html><html lang="en"><head>\n<meta charset="utf-8">\n'
            f"<title>{_esc(title)}</title>\n{head}</head><body>\n{_HEADER}{body}{_FOOTER}"
            "</body></html>\n"
        )
        return _resource(status, "text/html; charset=utf-8", page.encode())

    def card_spec(self, story_id: str) -> StorySpec:
        """Spec behind a card; the missing id gets a made-up story so its card looks real."""
        if story_id in self._index:
            return self.spec(story_id)
        return self._spec_at(self.n_articles)

    def _card(self, spec: StorySpec) -> str:
        headline, source = _esc(spec.headline), _esc(spec.source_name)
        summary = " ".join(spec.paragraphs)
        if len(summary) > 300:
            summary = summary[:300].rsplit(" ", 1)[0] + "..."
        return (
            '<div class="related-card">\n'
            f'  <a class="related-link" href="{spec.path}"><h3 class="related-title">{headline}'
            f'</h3><img src="{spec.image_url}" alt="{headline}"></a>\n'
            f'  <span class="related-source">{source}</span>\n'
            '  <span class="related-time"><span class="material-icons">time</span>'
            f"{self.relative_time(spec.id)}</span>\n"
            f'  <ul class="related-tags"><li>{source}</li></ul>\n'
            f'  <h4 class="related-title">{headline}</h4>\n'
            f'  <p class="related-summary">{_esc(summary)}</p>\n'
            "</div>\n"
        )

    def _listing(self, page: int) -> Resource | None:
        pages = self.listing_pages()
        if not 1 <= page <= pages:
            return None
        size = self.listing_page_size
        chunk = self._listed[(page - 1) * size : page * size]
        cards = "".join(self._card(self.card_spec(self.ids[i])) for i in chunk)
        head = more = ""
        if page < pages:
            head = f'<link rel="next" href="/en?page={page + 1}">\n'
            more = f'<a class="next" href="/en?page={page + 1}">More</a>\n'
        body = (
            f'<main>\n<section class="latest"><h2>Latest</h2>\n{cards}</section>\n{more}'
            f'<p class="staff"><a href="{PRIVATE_PATH}">Drafts</a></p>\n</main>\n'
        )
        title = "Daily8 - Latest news" + (f" - page {page}" if page > 1 else "")
        return self._html(200, title, body, head)

    def _sitemap(self, base: str, chunk: int | None) -> Resource | None:
        """A urlset, or a sitemap index when the site outgrows one sitemap file."""
        size = self.sitemap_size
        chunks = math.ceil(self.n_articles / size)
        xmlns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        if chunk is None and chunks > 1:
            entries = [
                f"<sitemap><loc>{base}/sitemap-{k}.xml</loc></sitemap>\n"
                for k in range(1, chunks + 1)
            ]
            xml = f"<sitemapindex {xmlns}>\n{''.join(entries)}</sitemapindex>\n"
        elif chunk is None or 1 < chunks >= chunk:
            first = ((chunk or 1) - 1) * size
            entries = []
            for i in range(first, min(self.n_articles, first + size)):
                published = self._date(i)
                lastmod = f"<lastmod>{published.isoformat()}</lastmod>" if published else ""
                entries.append(f"<url><loc>{base}/en/article/{self.ids[i]}</loc>{lastmod}</url>\n")
            xml = f"<urlset {xmlns}>\n{''.join(entries)}</urlset>\n"
        else:
            return None
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'.encode()
        return _resource(200, "application/xml; charset=utf-8", body)

    def _served(self, spec: StorySpec) -> StorySpec:
        """The story as its page shows it."""
        if spec.id == self.special.bodiless:
            return replace(spec, paragraphs=[])  # a video-only page: nothing to read
        return spec

    def _article(self, spec: StorySpec, base: str) -> Resource:
        spec = self._served(spec)
        related = [self.card_spec(story_id) for story_id in spec.related]
        if spec.variant not in ("classic", "dom-only"):
            times = [self.relative_time(r.id) for r in related]
            page = markups.render(spec, base, related, times)
            body = page.encode(spec.charset, "xmlcharrefreplace")
            return _resource(200, f"text/html; charset={spec.charset}", body)
        url, image = f"{base}{spec.path}", f"{base}{spec.image_url}"
        headline, source = _esc(spec.headline), _esc(spec.source_name)
        head = [] if spec.charset != "utf-8" else ['<meta charset="utf-8">']
        head.append(f"<title>{headline} | Daily8</title>")
        structured = spec.variant == "classic"  # "dom-only": the same page without it
        if structured:
            head.append(f'<link rel="canonical" href="{url}">')
        head.append(f'<meta name="description" content="{_esc(" ".join(spec.paragraphs)[:150])}">')
        if structured:
            head.append(
                f'<meta property="og:type" content="article"><meta property="og:title" '
                f'content="{headline}">\n<meta property="og:url" content="{url}"><meta '
                f'property="og:image" content="{image}">\n<meta property="og:site_name" '
                'content="Daily8">'
                + (
                    f'<meta property="article:published_time" content="{spec.date_iso}">'
                    if spec.date_iso
                    else ""
                )
            )
            ld_json = _script_json(_json_ld(spec, url, image))
            head.append(f'<script type="application/ld+json">{ld_json}</script>')
        date_span = f'<span class="article-date">{spec.date_raw}</span>' if spec.date_raw else ""
        content = "".join(f"<p>{_esc(p)}</p>" for p in spec.paragraphs)
        cards = "".join(self._card(r) for r in related)
        page = (
            '<!DOCTYPE html><html lang="en"><head>\n'
            + "\n".join(head)
            + f"\n</head><body>\n{_HEADER}<main>\n"
            '<article class="article">\n'
            f'  <h1 class="article-title">{headline}</h1>\n'
            f'  <figure class="article-image"><img src="{spec.image_url}" alt="{headline}">'
            f'<h2 class="article-title">{headline}</h2></figure>\n'
            '  <div class="article-byline"><a class="article-source" '
            f'href="{_esc(spec.source_url)}" rel="nofollow">{source}</a>{date_span}</div>\n'
            f'  <div class="article-content">{content}</div>\n'
            f"  {_PROMO}\n  {_COMMENTS}\n</article>\n"
            f'<section class="related"><h2>Related Articles</h2>\n{cards}</section>\n'
            f"</main>\n{_FOOTER}</body></html>\n"
        )
        body = page.encode(spec.charset, "xmlcharrefreplace")
        return _resource(200, f"text/html; charset={spec.charset}", body)

    def _app_article(self, spec: StorySpec, image: str, related: list[StorySpec]) -> dict[str, Any]:
        """The story as the site's app receives it (Next.js state, the JSON API)."""
        return {
            "id": spec.id,
            "title": spec.headline,
            "source": {"name": spec.source_name, "url": spec.source_url},
            "publishedAt": spec.date_raw,
            "image": image,
            "content": spec.paragraphs,
            "language": "en",
            "related": [
                {
                    "id": r.id,
                    "title": r.headline,
                    "source": r.source_name,
                    "timeAgo": self.relative_time(r.id),
                }
                for r in related
            ],
        }


def _json(data: object) -> Resource:
    return _resource(200, "application/json", json.dumps(data, ensure_ascii=False).encode())


def _json_ld(spec: StorySpec, url: str, image: str) -> dict[str, Any]:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": spec.headline,
        "datePublished": spec.date_iso,
        "image": [image],
        "url": url,
        "isBasedOn": spec.source_url,
        "publisher": {"@type": "Organization", "name": "Daily8"},
        "sourceOrganization": {
            "@type": "Organization",
            "name": spec.source_name,
            "url": spec.source_url,
        },
        "inLanguage": "en",
        "articleBody": spec.body,
    }
    return {key: value for key, value in data.items() if value is not None}


_HEADER = (
    '<header class="site-header"><a href="/en"><img src="/logo.svg" alt="logo"></a>'
    '<nav><a href="/en">Home</a></nav></header>\n'
)
_PROMO = (
    '<div class="promo"><img src="/img/orange.png" alt="Orange background">'
    "<h3>Try Our AI Features</h3><p>Explore what Daily8 AI can do for you:</p></div>"
)
_COMMENTS = '<section class="comments"><h3>Comments</h3><p>No comments yet...</p></section>'
_FOOTER = (
    '<footer class="app-promo"><h3>DOWNLOAD THE APP</h3><p>Get Started Now: Download the App</p>'
    "<p>Ready to dive into a world of global content with local flavor? Download Daily8 app "
    'today from your preferred app store and start exploring.</p><img alt="app-store">'
    '<img alt="play-store"></footer>\n'
)

# The client-rendered app: one shell for every /app page; its script builds the
# article markup of the server-rendered page, or a listing of links to app pages.
_APP_SCRIPT = """
const h = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
};
const card = (story, href) =>
  h("div", { class: "related-card" },
    h("a", { class: "related-link", href }, h("h3", { class: "related-title" }, story.title)),
    story.source ? h("span", { class: "related-source" }, story.source) : "",
    story.timeAgo
      ? h("span", { class: "related-time" }, h("span", { class: "material-icons" }, "time"),
          story.timeAgo)
      : "");
const article = (story) => {
  document.title = `${story.title} | Daily8`;
  const byline = h("div", { class: "article-byline" },
    h("a", { class: "article-source", href: story.source.url, rel: "nofollow" },
      story.source.name));
  if (story.publishedAt) byline.append(h("span", { class: "article-date" }, story.publishedAt));
  return h("main", null,
    h("article", { class: "article" },
      h("h1", { class: "article-title" }, story.title),
      h("figure", { class: "article-image" }, h("img", { src: story.image, alt: story.title })),
      byline,
      h("div", { class: "article-content" }, ...story.content.map((text) => h("p", null, text)))),
    h("section", { class: "related" }, h("h2", null, "Related Articles"),
      ...story.related.map((r) => card(r, `/en/article/${r.id}`))));
};
const latest = (stories) =>
  h("main", null, h("section", { class: "latest" }, h("h2", null, "Latest"),
    ...stories.map((story) => card(story, `/app/en/article/${story.id}`))));
const id = location.pathname.match(/\\/article\\/([0-9a-f]{32})$/);
fetch(id ? `/api/article/${id[1]}.json` : "/api/latest.json")
  .then((response) => response.json())
  .then((data) => document.getElementById("root").append(id ? article(data) : latest(data)));
"""
_APP_SHELL = (
    '<!DOCTYPE html><html lang="en"><head>\n<meta charset="utf-8">\n<title>Daily8</title>\n'
    '</head><body>\n<div id="root"></div>\n<noscript>Daily8 needs JavaScript.</noscript>\n'
    f"<script>{_APP_SCRIPT}</script>\n</body></html>\n"
)
