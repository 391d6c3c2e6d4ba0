"""A page object for any news site: every source read once, then one rule per field.

The sources (JSON-LD, OpenGraph and other meta tags, microdata, embedded app state,
the DOM, the URL; trafilatura and htmldate on demand) are read by
:func:`newscrawl.pages.sources.read_sources`; the field rules in
:mod:`newscrawl.pages.rules` decide between their candidates, so the choice is
predictable and testable instead of "whichever reader ran first", and each field
records the method it came from. This module only classifies the page and runs the
rule table.
"""

from __future__ import annotations

import logging
from functools import cached_property

from newscrawl.pages import classify
from newscrawl.pages.base import ArticlePage, Extraction
from newscrawl.pages.rules import BODY_ORDER, MIN_STRUCTURED_BODY, RULES, is_own
from newscrawl.pages.sources import Sources, read_sources
from newscrawl.pages.structured import node_types
from newscrawl.vocab import ARTICLE, LIVE_BLOG, OTHER

logger = logging.getLogger(__name__)

_MAX_UNDECODABLE = 0.05  # share of U+FFFD in the decoded body
UNDECODABLE = "undecodable-body"


def classify_page(sources: Sources) -> classify.PageClass:
    """What the page is, and the probability that it is one story."""
    types: set[str] = set()
    for node in sources.jsonld.top:  # not teasers listed in an ItemList
        types |= node_types(node)
    if sources.has_microdata:
        types.add("Article")
    structured_body = any(
        len(" ".join(c.value)) >= MIN_STRUCTURED_BODY and is_own(sources, c.method)
        for c in sources.candidates.get("articleBody")
        if c.method in BODY_ORDER
    )
    og_type = next(iter(sources.meta.get("og:type", ())), None)
    signals = classify.PageSignals(
        url=sources.url,
        types=types,
        og_type=og_type.lower() if og_type else None,
        prose_run=max(sources.dom.prose_runs.values(), default=0),
        linked_headings=sources.dom.linked_headings,
        structured_body=structured_body,
    )
    return classify.classify(signals)


def apply_rules(sources: Sources) -> Extraction:
    """Each field's value by its rule (:data:`~newscrawl.pages.rules.RULES`), with the
    method behind it; a rule's later alternatives are only computed when the earlier
    ones were empty."""
    out = Extraction(issues=list(sources.issues))
    for name, rule in RULES:
        for value, method in rule(sources, out.values):
            if out.offer(name, value, method):
                break
    return out


class GenericArticlePage(ArticlePage):
    """Extracts an article from any news page without site-specific rules."""

    @cached_property
    def undecodable(self) -> bool:
        """Whether the body is not text in its declared encoding (binary, wrong charset)."""
        text = self.response.text
        if text and text.count("\ufffd") > _MAX_UNDECODABLE * len(text):
            logger.debug("Not extracting %s: body does not decode as text", self.response.url)
            return True
        return False

    @cached_property
    def sources(self) -> Sources:
        return read_sources(self.response)

    def is_article(self) -> bool:
        return self.page_class.page_type in (ARTICLE, LIVE_BLOG)

    @cached_property
    def page_class(self) -> classify.PageClass:
        """What the page is, and the probability that it is one story."""
        if self.undecodable:
            return classify.PageClass(OTHER, 0.0, ("undecodable",))
        return classify_page(self.sources)

    def extract(self) -> Extraction:
        kind = self.page_class
        out = Extraction(issues=[UNDECODABLE]) if self.undecodable else apply_rules(self.sources)
        out.page_type, out.probability = kind.page_type, kind.probability
        return out
