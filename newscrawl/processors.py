"""Pure normalisers that turn raw page text into clean field values.

Every function here takes plain values and returns plain values: no I/O, no
Scrapy. ``newscrawl.loaders`` wires them into the ArticleLoader. Functions meant
for ``MapCompose`` take one value and return ``None`` (or ``""``) to drop it;
none of them raise on odd input, because one bad page must not stop a crawl.

They run for every field of every page, so regexes are compiled once at import,
the dateparser parsers are built lazily once and reused, and cheap fast paths
(``fromisoformat``, a ``DD-MM-YYYY`` regex) run before dateparser is asked.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from dateparser.date import DateDataParser
from dateutil.relativedelta import relativedelta
from w3lib.url import canonicalize_url as w3lib_canonicalize_url

# --------------------------------------------------------------------------- text

# Control characters (NUL included: PostgreSQL rejects it in text) and invisible
# format characters are deleted; line/tab breaks become spaces before collapsing.
_DELETE_CHARS: dict[int, str | None] = {c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_DELETE_CHARS.update({c: " " for c in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85)})
_DELETE_CHARS.update({c: None for c in (0xAD, 0x200B, 0x2060, 0xFEFF)})
_DELETE_RE = re.compile("[" + "".join(map(chr, _DELETE_CHARS)) + "]")
_NEWLINES_RE = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")


def _as_text(value: object) -> str:
    """Whatever a page object handed over, as ``str`` (None is empty)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _as_values(value: object) -> Iterable[object]:
    """A single value or an iterable of values, as an iterable (text is one value)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return (value,)
    return value


def normalize_text(value: object) -> str:
    """One clean line: entities unescaped, NFC, no control chars, single spaces.

    Whitespace is collapsed with ``str.split`` which also treats no-break and
    other Unicode spaces as spaces, so compatibility spaces fold to " ".
    """
    text = value if type(value) is str else str(_as_text(value))  # a plain str, never a subclass
    if "&" in text:
        text = html.unescape(text)
    if text.isprintable():
        # Most text: nothing to delete and no space but " ", so often nothing to do at all.
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        elif "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text
        return " ".join(text.split())
    if _DELETE_RE.search(text):  # most text is clean: a search is far cheaper than translate
        text = text.translate(_DELETE_CHARS)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


TITLE_SEPARATORS = re.compile(r"\s+[|–—:·•-]\s+|\s+::\s+")
"""What stands between a headline and a site's name in a title ("Headline | Site")."""


_NON_WORDS_RE = re.compile(r"\W+")


def name_key(text: str) -> str:
    """Comparison key of a name or title: case and everything but letters and digits
    ignored ("DAILY8" and "Daily 8" are one site)."""
    return _NON_WORDS_RE.sub("", normalize_text(text).casefold())


def normalize_paragraphs(value: str | Iterable[str] | None) -> str:
    """Paragraphs normalised one by one, empties and repeats dropped, "\\n"-joined.

    Only *consecutive* exact repeats are dropped: a heading printed twice is
    noise, while the same sentence in two places of a story is the author's.
    """
    chunks = _as_values(value)
    paragraphs: list[str] = []
    for chunk in chunks:
        for line in _NEWLINES_RE.split(_as_text(chunk)):
            text = normalize_text(line)
            if text and (not paragraphs or paragraphs[-1] != text):
                paragraphs.append(text)
    return "\n".join(paragraphs)


_DOUBLED_SEPARATOR_RE = re.compile(r"\s*\|\s*")


def collapse_doubled(value: str) -> str:
    """A headline printed twice (heading + image alt) becomes one.

    Handles "A A", glued "AA" and "A | A" (newlines fold to spaces first). The
    half must be at least two words and ten characters, so "New York New York"
    or "Bora Bora" stay as they are.
    """
    text = normalize_text(value)
    parts = _DOUBLED_SEPARATOR_RE.split(text)
    if len(parts) == 2 and parts[0].casefold() == parts[1].casefold():
        half = parts[0]
    else:
        middle = len(text) // 2
        glued = len(text) % 2 == 0 and text[:middle].casefold() == text[middle:].casefold()
        spaced = (
            len(text) % 2 == 1
            and text[middle] == " "
            and text[:middle].casefold() == text[middle + 1 :].casefold()
        )
        half = text[:middle] if glued or spaced else ""
    if len(half) >= 10 and " " in half.strip():
        return half.strip()
    return text


# --------------------------------------------------------------------------- dates

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_CLOCK = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*[a-z]{3,4})?)?"
# The first field only takes 1..31 so that "Channel 417-05-2025" splits after "4".
_NUMERIC_DATE = r"(?:0?[1-9]|[12]\d|3[01])[-./]\d{1,2}[-./](?:19|20)\d{2}" + _CLOCK
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_TEXT_DATE = rf"(?:\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}){_CLOCK}"
_UNIT = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|h|m|d)"
# "today" is left out on purpose: it ends publisher names ("Russia Today", "USA Today").
_RELATIVE = rf"(?:(?:\d+\s*|(?:an?|one)\s+){_UNIT}\s+ago|yesterday|just\s+now)"
_TIME_EXPR = rf"(?:{_RELATIVE}|{_ISO_DATE}|{_NUMERIC_DATE}|{_TEXT_DATE})"
# Material-icon ligature names that a text dump glues before a time ("timean hour ago").
_ICON = r"(?:access_time|query_builder|watch_later|calendar_today|schedule|event|time)"

_ICON_LABEL_RE = re.compile(rf"^{_ICON}\s*(?=(?i:{_TIME_EXPR}|today)\b)")
_BYLINE_RE = re.compile(
    rf"^(?P<name>.*?)[\s·•|,–—-]*(?:(?-i:{_ICON})\s*)?(?P<date>{_TIME_EXPR})$", re.IGNORECASE
)
_NAME_TRIM = " ·•|,–—-:"
# What every time expression holds: text without any of it has no date to split off, and
# this search is far cheaper than ``_BYLINE_RE`` trying each alternative at each position.
_TIME_HINT_RE = re.compile(r"\d|ago|yesterday|now", re.IGNORECASE)


def strip_icon_label(value: str) -> str:
    """Drop an icon-font label glued before a time: "time3 hours ago" -> "3 hours ago".

    Only when a time expression follows, so "timely news" and "time" stay.
    """
    return _ICON_LABEL_RE.sub("", normalize_text(value), count=1)


def split_byline(value: str) -> tuple[str | None, str | None]:
    """Split "Russia Today17-05-2025" into ("Russia Today", "17-05-2025").

    The date must end the byline; the shortest name before it wins, so a name
    ending in digits keeps them unless they would be part of a valid day.
    """
    text = normalize_text(value)
    match = _BYLINE_RE.match(text) if _TIME_HINT_RE.search(text) else None
    if match is None:
        return (text.strip(_NAME_TRIM) or None, None)
    name = match["name"].strip(_NAME_TRIM)
    return (name or None, match["date"])


DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# "17.05.2025", "17-05-2025, 10:30", "05/17/2025 9:05:07": a time, when given, is kept.
_DMY_RE = re.compile(
    r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_YEAR_RE = re.compile(r"\b(?:1[89]|2\d)\d{2}\b")
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_MAX_AHEAD = timedelta(days=2)
_MAX_DATE_CHARS = 120  # longer text is a sentence, not a date
# dateparser resolves relative text against this fixed instant; the offset it
# implies is then applied to the caller's reference (see _relative_offset).
_ANCHOR = datetime(2000, 1, 1)


def is_date_only(iso: str) -> bool:
    """Whether ``iso`` is a bare date ("2025-05-17"), i.e. the page gave no time."""
    return isinstance(iso, str) and DATE_ONLY_RE.fullmatch(iso) is not None


@lru_cache(maxsize=16)
def _date_parser(
    relative: bool, day_first: bool, languages: tuple[str, ...] | None
) -> DateDataParser:
    """One reusable DateDataParser per configuration (building one per call is slow)."""
    if relative:
        settings = {"PARSERS": ["relative-time"], "RELATIVE_BASE": _ANCHOR}
    else:
        settings = {
            "PARSERS": ["custom-formats", "absolute-time"],
            "DATE_ORDER": "DMY" if day_first else "MDY",
            # A missing day or year would be invented by dateparser; refuse instead.
            "REQUIRE_PARTS": ["day", "month", "year"],
            "RETURN_TIME_AS_PERIOD": True,
        }
    return DateDataParser(languages=list(languages) if languages else None, settings=settings)


_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# RFC 2822 (feeds, HTTP, meta tags): "Mon, 17 May 2025 10:00:00 +0200", weekday and zone optional.
_RFC_2822_RE = re.compile(
    rf"^(?:(?:mon|tue|wed|thu|fri|sat|sun),\s*)?(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}})"
    r"\s+(\d{2}):(\d{2})(?::(\d{2}))?(?:\s+(gmt|utc|ut|z|[+-]\d{4}))?$",
    re.IGNORECASE,
)
_DAY_MONTH_YEAR_RE = re.compile(rf"^(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}})$", re.IGNORECASE)
_MONTH_DAY_YEAR_RE = re.compile(rf"^({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})$", re.IGNORECASE)


def _english_date(text: str) -> date | datetime | None:
    """RFC 2822 and "17 May 2025" / "May 17, 2025" as dateparser's English reads them."""
    try:
        if match := _RFC_2822_RE.match(text):
            day, month, year, hour, minute, second, zone = match.groups()
            tz: timezone | None = None
            if zone and zone[0] in "+-":
                sign = -1 if zone[0] == "-" else 1
                tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:])))
            elif zone:
                tz = UTC
            month_number = _MONTH_NUMBERS[month[:3].lower()]
            clock = (int(hour), int(minute), int(second or 0))
            return datetime(int(year), month_number, int(day), *clock, tzinfo=tz)
        if match := _DAY_MONTH_YEAR_RE.match(text):
            day, month, year = match.groups()
        elif match := _MONTH_DAY_YEAR_RE.match(text):
            month, day, year = match.groups()
        else:
            return None
        return date(int(year), _MONTH_NUMBERS[month[:3].lower()], int(day))
    except ValueError:
        return None  # "31 Feb": dateparser decides, as before


def _fast_date(text: str, day_first: bool, english: bool) -> date | datetime | None:
    """The common cases without dateparser: ISO 8601, numeric DD-MM-YYYY (with or without
    a clock) and, when English is the first language to try, RFC 2822 and English month
    names. None: dateparser decides (tests check each form gives what dateparser gives)."""
    if DATE_ONLY_RE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    if text[:4].isdigit() and text[4:5] == "-":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    match = _DMY_RE.match(text)
    if match:
        first, second, year = (int(group) for group in match.groups()[:3])
        hour, minute, second_of_minute = match.groups()[3:]
        orders = ((second, first), (first, second))  # (month, day) pairs
        for month, day in orders if day_first else orders[::-1]:
            try:
                if hour is None:
                    return date(year, month, day)
                clock = (int(hour), int(minute), int(second_of_minute or 0))
                return datetime(year, month, day, *clock)
            except ValueError:
                continue  # "05-17-2025" read day-first is invalid: try month-first
    return _english_date(text) if english else None


@lru_cache(maxsize=1024)
def _relative_offset(
    text: str, languages: tuple[str, ...] | None
) -> relativedelta | timedelta | None:
    """How far back (or ahead) a relative expression points, or None if it is not one.

    Parsing against a fixed anchor lets one cached parser serve every reference
    time, and makes the result depend on the text alone: cached, since the same
    few phrases ("3 hours ago") recur on every page and dateparser is slow.
    ``relativedelta`` keeps "1 month ago" a calendar month; an offset without
    months or years is the same ``timedelta``, which is several times cheaper to add.
    """
    if _YEAR_RE.search(text):
        return None  # a relative phrase never names a year: skip a wasted parse
    parsed = _date_parser(True, True, languages).get_date_data(text).date_obj
    if parsed is None:
        return None
    offset = relativedelta(parsed.replace(tzinfo=None), _ANCHOR)
    if offset.years or offset.months:
        return offset
    return timedelta(
        days=offset.days,
        hours=offset.hours,
        minutes=offset.minutes,
        seconds=offset.seconds,
        microseconds=offset.microseconds,
    )


def _absolute_date(
    text: str, day_first: bool, languages: tuple[str, ...] | None
) -> date | datetime | None:
    data = _date_parser(False, day_first, languages).get_date_data(text)
    if data.date_obj is None:
        return None
    return data.date_obj if data.period == "time" else data.date_obj.date()


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _language_attempts(
    text: str, languages: list[str] | None
) -> tuple[tuple[str, ...] | None, ...]:
    """Locale sets to try in turn: the caller's, else English then detection.

    Detection scans every dateparser locale (tens of ms for text that is no date),
    so it is tried only for text that could be a foreign date: with a digit
    ("vor 3 Stunden", "17. Mai 2025") or a non-ASCII letter ("вчера").
    """
    if languages:
        return (tuple(languages),)
    if any(c.isdigit() or (c.isalpha() and not c.isascii()) for c in text):
        return (("en",), None)
    return (("en",),)


def parse_date(
    value: str,
    *,
    reference: datetime | None = None,
    day_first: bool = True,
    languages: list[str] | None = None,
) -> str | None:
    """Parse a page's date text into ISO 8601, or None.

    - A date without a time stays a date ("2025-05-17"): no time is invented.
    - A datetime keeps its offset; a naive one is taken as UTC.
    - Numeric dates are day-first unless ``day_first=False``; an order that
      gives an impossible date falls back to the other. ISO text is unambiguous.
    - Relative text ("3 hours ago", "yesterday") is resolved against the aware
      ``reference`` (the fetch time) into UTC; without a reference it gives None.
      "yesterday" and "2 days ago" are the reference minus 24 h / 48 h, time of
      day kept (as dateparser does): a bare calendar date would hinge on the
      page's unknown timezone, while this keeps every relative form a UTC instant.
    - Values before 1990 or more than two days after the reference (or now)
      are rejected as misparses.
    - ``languages`` restricts dateparser's locales; None means English first,
      then detection (see :func:`_language_attempts`).
    """
    text = strip_icon_label(value)
    if len(text) > _MAX_DATE_CHARS or not any(c.isalnum() for c in text):
        return None
    if reference is not None:
        reference = _as_utc(reference)
    parsed = _fast_date(text, day_first, english=not languages or languages[0] == "en")
    for langs in () if parsed is not None else _language_attempts(text, languages):
        offset = _relative_offset(text, langs)
        if offset is not None:
            if reference is None:
                return None
            parsed = (reference + offset).astimezone(UTC)
            break
        parsed = _absolute_date(text, day_first, langs)
        if parsed is not None:
            break
    if parsed is None:
        return None
    latest = (reference or datetime.now(UTC)) + _MAX_AHEAD
    if isinstance(parsed, datetime):
        parsed = _as_utc(parsed).replace(microsecond=0)
        parsed = parsed.replace(tzinfo=timezone(parsed.utcoffset() or timedelta(0)))
        if not (_EARLIEST <= parsed <= latest):
            return None
        return parsed.isoformat()
    if not (_EARLIEST.date() <= parsed <= latest.date()):
        return None
    return parsed.isoformat()


# --------------------------------------------------------------------------- URLs

_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid",
        "mc_eid", "igshid", "_ga", "_gl", "yclid", "ref_src", "ref_url", "cmpid", "ocid",
        "ncid", "mkt_tok", "_hsenc", "_hsmi", "hsctatracking", "oly_anon_id",
        "oly_enc_id", "vero_id", "wt.mc_id", "wt_mc_id", "s_kwcid", "at_medium",
        "at_campaign", "sr_share", "__twitter_impression", "smid",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_RE = re.compile(r"^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?$|^[0-9a-f.]*:[0-9a-f:.]*$")
_TAB_NEWLINE = {9: None, 10: None, 13: None}
_URL_EDGE = "".join(map(chr, range(0x21))) + "\u00a0\ufeff"


def _is_tracking(pair: str) -> bool:
    key = pair.split("=", 1)[0].lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical http(s) form of ``url`` (joined with ``base``), or None.

    w3lib sorts the query and normalises percent-encoding; on top of that the
    fragment, tracking parameters, credentials and default port go, and the
    host must look like a host.
    """
    if not isinstance(url, str):
        return None
    url = url.strip(_URL_EDGE).translate(_TAB_NEWLINE)
    if not url:
        return None
    try:
        if base:
            url = urljoin(base, url)
        if urlsplit(url).scheme.lower() not in _DEFAULT_PORTS:
            return None
        parts = urlsplit(w3lib_canonicalize_url(url, keep_fragments=False))
        host, port = parts.hostname, parts.port
    except (ValueError, UnicodeError, TypeError):
        return None
    scheme = parts.scheme.lower()
    if not host or not _HOST_RE.match(host):
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


# Pages name the same URLs again and again (a page's own URL for its key and for its
# record, related stories page after page): each canonicalised once.
cached_canonical_url = lru_cache(maxsize=16384)(canonicalize_url)


def url_key(url: str) -> str:
    """Identity key for dedupe: same page, same key, whatever scheme/www/slash.

    Unparsable input falls back to its stripped text, so two different bad
    URLs never share a key.
    """
    return _url_key(url) if isinstance(url, str) else ""


# Cached: keys are costly (full canonicalisation) and the same URLs recur (an article's
# own URL was usually a related link on pages stored just before it).
@lru_cache(maxsize=8192)
def _url_key(url: str) -> str:
    canonical = cached_canonical_url(url)
    if canonical is None:
        return url.strip()
    parts = urlsplit(canonical)
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.removeprefix('www.')}{path}{query}"


# --------------------------------------------------------------------------- authors

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_BRACKETS_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_PREFIX_RE = re.compile(
    r"^(?:(?:written|reported|posted|story|words|text|reporting|reviewed|review|interview"
    r"|photos?|analysis|erstellt|geschrieben|ein\s+kommentar|kommentar"
    # a lower-case label before the word: a section or partner name ("capital von …")
    r"|(?-i:[a-zäöüßàâçéèêëîïôûùüÿñ]+))\s+)?"
    r"(?P<word>by|von|par|por)\b"
    r"\s*:?\s*|^(?:authors?|reporters?|written\s+by)\s*:\s*"
    # "Zeige alle Beiträge von", "View all posts by", "Artikel von:", "Veröffentlicht am ... von"
    r"|^(?:(?:zeige|show|view|see)\s+)?(?:alle|all)\s+(?:beiträge|posts|articles|artikel)"
    r"\s+(?:von|by|of)\s+|^(?:artikel|rezept|beitrag|text|fotos?)\s+von\s*:?\s+"
    r"|^veröffentlicht\s+am\s+.{0,40}?\s+von\s+",
    re.IGNORECASE,
)
_PLACE_SUFFIX_RE = re.compile(r"(?<=[^,\s]\s[^,\s]{2})([^,]*),\s*[^\W\d_]+$")
# "Von"/"Par" are also name particles ("Von Miller"): strip them only before a full name.
_PARTICLE_PREFIXES = frozenset({"von", "par", "por"})
_UPDATED_RE = re.compile(
    r"(?<=\S)\s*[,|·•–—-]?\s*\b(?:last\s+)?(?:updated|published|posted|modified"
    r"|veröffentlicht|aktualisiert|publié|mis\s+à\s+jour|publicado|actualizado)\b.*$",
    re.IGNORECASE,
)
# Between names a comma is common, so after one only unmistakable outlets count.
_WIRE = (
    r"(?:the\s+\S.*|reuters|ap|afp|associated\s+press|bloomberg|pa(?:\s+media)?|dpa|upi|xinhua"
    r"|tass|ria\s+novosti|cnn|bbc|ani|ians|pti|efe|ansa|kyodo|yonhap)"
)
_ORG = (
    rf"(?:{_WIRE}|.*\b(?:news|times|post|press|media|agency|daily|journal|herald|tribune"
    r"|today|guardian|telegraph|gazette|network|magazine|wire|newsroom)\b.*|\S+\.(?:com|org|net))"
)
_SEP = r"\s*(?:[|/]|\s[–—-]\s|[–—])\s*"
_ORG_SUFFIX_RE = re.compile(rf"(?:{_SEP}{_ORG}|\s*,\s*{_WIRE})$", re.IGNORECASE)
_ROLE_NOUN = (
    r"(?:writers?|correspondents?|editors?|reporters?|columnists?|contributors?|journalists?"
    r"|photographers?|analysts?|producers?|staff|bureau\s+chief|critics?|interns?"
    r"|commentators?)"
)
_ROLE_QUALIFIER = (
    r"(?:senior|chief|staff|political|foreign|deputy|associate|assistant|contributing|special"
    r"|managing|executive|news|sports?|business|economics|technology|tech|science|health"
    r"|culture|world|local|national|international|investigative|freelance|guest|digital"
    r"|diplomatic|defence|defense|security|legal|courts|crime|markets|finance|opinion)"
)
_ROLE_ONLY_RE = re.compile(rf"^(?:{_ROLE_QUALIFIER}\s+)*{_ROLE_NOUN}$", re.IGNORECASE)
_ROLE_SUFFIX_RE = re.compile(
    rf"(?:(?:{_SEP}|\s*,\s*)[^,|;]*\b{_ROLE_NOUN}|\s+(?:{_ROLE_QUALIFIER}\s+)+{_ROLE_NOUN})$",
    re.IGNORECASE,
)
# A bare role word ends a name only if a full name (two words or more) precedes it.
_BARE_ROLE_RE = re.compile(rf"^(\S+\s+\S.*?)\s+{_ROLE_NOUN}$", re.IGNORECASE)
_TRAILING_DATE_RE = re.compile(rf"\s*[,|·•–—-]?\s*{_TIME_EXPR}$", re.IGNORECASE)
# "and" in the languages of the development pages too: "und", "og" (da/no), "och", "et".
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:[,;&]|\s\|\s|\b(?:and|und|og|och|et)\b)\s*", re.IGNORECASE)
_NAME_SUFFIX_RE = re.compile(r"^(?:jr|sr|ii|iii|iv)\.?$", re.IGNORECASE)
# Degree letters after a name ("Ann Lee, PhD", "Bo Chan MD") are not part of it.
_DEGREE_RE = re.compile(
    r"(?:,?\s+(?:ph\.?\s?d|m\.?d|mba|msc|m\.?s|m\.?a|b\.?a|rn|md|dds|esq|mph|lmft|rdn?)\.?)+$",
    re.IGNORECASE,
)
# "7 hours", "1. November 2023 10:29": an age or a date that trails a name.
_TRAILING_AGE_RE = re.compile(
    r"\s+(?:\d+\s*(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?"
    r"|std\.?|stunden?|tagen?|minuten?)(?:\s+ago)?"
    r"|\d{1,2}\.?\s+[^\W\d_]{3,}\.?\s+(?:19|20)\d{2}\b.*"
    # "X vor 5 Stunden", a comment's "X am" (its date gone), "X @handle"
    r"|vor\s+\d+\s+\w+.*|am|@\w+|기자(?:\s*외\s*\d+\s*명)?)$",
    re.IGNORECASE,
)
_CREDIT_RE = re.compile(r"\S/\S|^\s*©")
# Texts of buttons and links that sit in bylines: never a name.
_NOT_NAMES = frozenset(
    {
        "follow", "folgen", "gefolgt", "share", "teilen", "abonnieren", "subscribe",
        "sign in", "log in", "login", "anmelden", "zustimmen", "abbruch", "themen bearbeiten",
        "more", "mehr", "profile", "profil", "email", "e-mail", "twitter", "facebook",
        "linkedin", "instagram", "view all posts", "alle artikel", "contact", "kontakt",
        "no author", "admin", "administrator", "unknown", "anonymous", "by", "von", "par",
        "por",
    }
)  # fmt: skip
_AUTHOR_TRIM = " ,;:|·•–—-/([→»"
_MAX_AUTHOR_CHARS = 80
_MAX_AUTHOR_WORDS = 8
_MAX_BYLINE_CHARS = 1000


def _strip_prefix(text: str) -> str:
    match = _PREFIX_RE.match(text)
    if match is None:
        return text
    rest = text[match.end() :]
    if (match["word"] or "").lower() in _PARTICLE_PREFIXES and len(rest.split()) < 2:
        return text
    # "By Ann Lee, Frankfurt": one word after the names is the dateline's place.
    return _PLACE_SUFFIX_RE.sub(r"\1", rest)


def _strip_byline_junk(value: object) -> str:
    """Remove what surrounds names in a byline: prefix, contacts, dates, outlet, role."""
    text = normalize_text(value)
    if len(text) > _MAX_BYLINE_CHARS:
        return ""  # a paragraph, not a byline (and the regexes below stay cheap)
    text = _EMAIL_RE.sub(" ", _URL_RE.sub(" ", text))
    text = " ".join(_BRACKETS_RE.sub(" ", text).split())
    text = _strip_prefix(text.strip(_AUTHOR_TRIM))
    text = _UPDATED_RE.sub("", text)
    text = _TRAILING_DATE_RE.sub("", text)
    text = (_ORG_SUFFIX_RE.sub("", text.strip(_AUTHOR_TRIM)) or text).strip(_AUTHOR_TRIM)
    if _ROLE_ONLY_RE.match(text):
        return ""
    return _ROLE_SUFFIX_RE.sub("", text).strip(_AUTHOR_TRIM)


# Lower-case words that start or join names ("de la Cruz", "Anna van Berg").
NAME_PARTICLES = frozenset(
    {"de", "da", "di", "do", "dos", "du", "van", "von", "der", "den", "la", "le", "bin", "al", "y"}
)


# "ku Frankfurt": an editor's lower-case initials, then the dateline's place.
_INITIALS_FIRST_RE = re.compile(r"[a-z]{1,3}\s")


def clean_author(value: str) -> str | None:
    """One author's name without byline junk, or None if nothing name-like is left.

    Upper-case-only names are title-cased; any other casing is the author's own.
    """
    text = _BARE_ROLE_RE.sub(r"\1", _strip_byline_junk(value))
    text = _DEGREE_RE.sub("", _TRAILING_AGE_RE.sub("", text)).strip(_AUTHOR_TRIM)
    if (
        not any(c.isalpha() for c in text)
        or text.startswith("@")  # a social handle
        or text.casefold() in _NOT_NAMES
        or len(text) > _MAX_AUTHOR_CHARS
        or len(text.split()) > _MAX_AUTHOR_WORDS
        or _ROLE_ONLY_RE.match(text)
        or (_INITIALS_FIRST_RE.match(text) and text.split()[0] not in NAME_PARTICLES)
    ):
        return None
    return text.title() if text.isupper() else text


def split_authors(value: str | Iterable[str] | None) -> list[str]:
    """Names from one or more bylines, cleaned, in order, without case-insensitive repeats."""
    names: list[str] = []
    seen: set[str] = set()
    for byline in _as_values(value):
        # Photo credits ("APA/AFP/Ann Lee", "© Agency") go before the byline is cleaned.
        parts = _AUTHOR_SPLIT_RE.split(normalize_text(byline))
        byline = ", ".join(p for p in parts if not _CREDIT_RE.search(_URL_RE.sub(" ", p)))
        pieces: list[str] = []
        for piece in _AUTHOR_SPLIT_RE.split(_strip_byline_junk(byline)):
            if pieces and _NAME_SUFFIX_RE.match(piece):
                pieces[-1] = f"{pieces[-1]}, {piece}"  # "Smith, Jr." is one name
            elif piece and not _DEGREE_RE.fullmatch(f" {piece}"):
                pieces.append(piece)
        for piece in pieces:
            name = clean_author(piece)
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                names.append(name)
    return names


# --------------------------------------------------------------------------- body

_NOT_WORD_RE = re.compile(r"[\W_]+")
# The ASCII characters ``_NOT_WORD_RE`` removes, for ``bytes.translate`` (a fifth of its cost).
_ASCII_NOT_WORD = bytes(c for c in range(128) if not chr(c).isalnum())


def body_hash(text: str) -> str:
    """sha256 of the body reduced to its letters and digits, casefolded.

    Whitespace, punctuation and quote style differ between copies of the same
    story (republished, re-rendered), so they are not part of its identity.
    """
    folded = unicodedata.normalize("NFKC", html.unescape(_as_text(text))).casefold()
    if folded.isascii():
        kept = folded.encode("ascii").translate(None, _ASCII_NOT_WORD)
    else:
        kept = _NOT_WORD_RE.sub("", folded).encode("utf-8")
    return hashlib.sha256(kept).hexdigest()


# Interface text found on news sites in general (a site's own phrases belong to its page
# object: ``newscrawl.pages.daily8.BOILERPLATE``). One alternation, compiled once: a body
# line is tested once, not once per pattern.
BOILERPLATE_RE = re.compile(
    "|".join(
        f"(?:{pattern})"
        for pattern in (
            r"(?:\d+\s+)?comments?(?:\s*\(\d+\))?",
            r"(?:leave|add|post|write|view|show|load|hide|see) (?:a |all |the |more )?comments?",
            r"be the first to comment(?: on this \w+)?",
            r"related (?:articles?|stories|news|content|posts|topics|coverage)",
            r"(?:more|recommended|popular|trending|top) (?:stories|articles|news|reads)"
            r"(?: for you)?",
            r"download (?:the|our) app",
            r"(?:download on|get it on|available on) (?:the )?(?:app store|google play)",
            r"(?:story continues below )?advertisement|advertising|sponsored(?: content)?|ad",
            r"scroll (?:down )?to continue(?: reading| with content)?",
            r"share(?: this)?(?: article| story| page| post)?(?: on \w+)?|copy link",
            # "Read also: <other headline>" in the languages of the development pages
            r"(?:read (?:more|also|next)|see also|also read|lea (?:también|más)|lee también"
            r"|vea también|ver (?:también|más)|le puede interesar|te puede interesar|puedes ver"
            r"|leia (?:também|mais)|veja também|(?:à )?lire aussi|voir aussi|leggi anche|lees ook"
            r"|czytaj (?:też|także|również)|zobacz (?:też|także)|dowiedz się więcej|auch lesen"
            r"|lesen sie (?:auch|hier|mehr)(?: die folgenden beiträge)?|zum weiterlesen"
            r"|(?:das|das thema|dieses thema) könnte (?:dich|sie) auch interessieren)"
            r"(?:\s*[:»?].*)?",
            # "Related: <other headline>", "MORE: ...", "WATCH: ..." lines between paragraphs
            r"(?:related|more|watch|listen|recommended|trending|most read|popular|lea|mire|mira"
            r"|vea|latest on)\s*:.*",
            # headings of related-article lists
            r"(?:notas|noticias|artículos|contenidos?) relacionad[oa]s|schon gelesen\??"
            r"|(?:ähnliche|empfohlene|weitere|verwandte|kommentierte) (?:beiträge|artikel|themen)"
            r"(?: zum thema| aus der \w+)?|mehr (?:themen|zum thema)|auch interessant"
            r"|more on this (?:story|topic)|sur le même sujet|latest on",
            r"(?:sign up|subscribe) (?:for|to) (?:our|the) .{0,40}newsletters?(?:\W.*)?",
            r"subscribe(?: now)?|(?:\S+ ){0,3}newsletter(?: \S+){0,2}",
            r"never miss .{0,80}newsletter.*|subscribe now .{0,80}",
            r"to (?:view|read|continue) (?:the full|this) story,? .*subscri.*",
            r"skip to (?:main )?content",
            r"follow us(?: on .{1,40})?|s[ií]guenos en .*",
            r"follow .{1,40} on (?:twitter|facebook|instagram|telegram)\b.*",
            r"teilen(?: sie dies mit)?|kategorien?|categor(?:y|ies)\s*:.*|kategorie\s*:.*"
            r"|keine kommentare.*|inhaltsverzeichnis|table of contents",
            # photo credits, advertising notes, contact labels (sign-in prompts: below)
            r"(?:photos?|fotos?|bild|titelbild|beitragsbild|image illustrative|crédits? photos?"
            r"|credits?|picture|bildquelle)\s*:.{0,100}",
            r"\*?(?:werbung|anzeige)(?:[,.]\s.{0,80})?|mehr zum thema.{0,40}",
            r"weitere informationen|kontakt|originalpublikation|temas|tags|schlagwörter"
            r"|schlagworte|lust auf mehr\??",
        )
    ),
    re.IGNORECASE,
)
# Sign-in prompts, apart: their regex tries up to 80 characters at each end, 20 times the
# cost of all the others on a long paragraph, which is too long to be one.
_SIGN_IN = ("eingeloggt sein", "must be logged in", "to log in", "einloggen")
_SIGN_IN_RE = re.compile(rf".{{0,80}}\b(?:{'|'.join(_SIGN_IN)})\b.{{0,80}}", re.IGNORECASE)
_SIGN_IN_MAX_CHARS = 80 + max(map(len, _SIGN_IN)) + 80
_BOILERPLATE_TRIM = " .:!…·•|>»›–—-"


def is_boilerplate(line: str) -> bool:
    """Whether a whole line is site UI ("Comments", "DOWNLOAD THE APP") not story text.

    Patterns match the entire line (edge punctuation aside), so a sentence that
    merely mentions comments or an app is kept.
    """
    text = normalize_text(line).strip(_BOILERPLATE_TRIM)
    return bool(text) and (
        BOILERPLATE_RE.fullmatch(text) is not None
        or (len(text) <= _SIGN_IN_MAX_CHARS and _SIGN_IN_RE.fullmatch(text) is not None)
    )
