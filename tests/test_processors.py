"""Tables of raw page text and the clean value each normaliser must give."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from newscrawl import processors
from newscrawl.processors import (
    BOILERPLATE_RE,
    body_hash,
    canonicalize_url,
    clean_author,
    collapse_doubled,
    is_boilerplate,
    is_date_only,
    normalize_paragraphs,
    normalize_text,
    parse_date,
    split_authors,
    split_byline,
    strip_icon_label,
    url_key,
)

# Fetch time of the synthetic page: relative times resolve against it.
REFERENCE = datetime(2025, 6, 24, 12, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Grain  exports\trise \n again ", "Grain exports rise again"),
        ("Port\x00 of\x00 Odesa", "Port of Odesa"),  # NUL: PostgreSQL rejects it
        ("bell\x07 and\x1b escape\x7f", "bell and escape"),
        ("non\u00a0breaking\u2009thin\u3000ideographic", "non breaking thin ideographic"),
        ("zero\u200bwidth\ufeff soft\u00adhyphen", "zerowidth softhyphen"),
        ("Fish &amp; chips &quot;tonight&quot; &#8212; &nbsp;ok", 'Fish & chips "tonight" — ok'),
        ("AT&T and Q&A stay", "AT&T and Q&A stay"),
        ("Cafe\u0301 cre\u0300me", "Café crème"),  # decomposed accents compose (NFC)
        ("", ""),
        (None, ""),
        (b"bytes \xc3\xa9t\xc3\xa9", "bytes été"),
        (42, "42"),
    ],
)
def test_normalize_text(raw: object, clean: str) -> None:
    assert normalize_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("First para.\n\n  Second   para. \nThird.", "First para.\nSecond para.\nThird."),
        (["One.", " ", "Two.\r\nThree.", None], "One.\nTwo.\nThree."),
        (["Same line.", "Same line.", "Other.", "Same line."], "Same line.\nOther.\nSame line."),
        (["Null\x00byte &amp; entity"], "Nullbyte & entity"),
        ([], ""),
        (None, ""),
    ],
)
def test_normalize_paragraphs(raw: object, clean: str) -> None:
    assert normalize_paragraphs(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Kremlin weighs in Kremlin weighs in", "Kremlin weighs in"),
        ("Kremlin weighs inKremlin weighs in", "Kremlin weighs in"),
        ("Kremlin weighs in | Kremlin weighs in", "Kremlin weighs in"),
        ("Kremlin weighs in\nKremlin weighs in", "Kremlin weighs in"),
        ("  Grain deal extended   Grain deal extended ", "Grain deal extended"),
        # Not doubled: a repeated word, a real repeated phrase, title | site.
        ("No, no and no to new talks", "No, no and no to new talks"),
        ("Talks talks", "Talks talks"),
        ("New York New York", "New York New York"),
        ("Grain deal extended | Daily Wire", "Grain deal extended | Daily Wire"),
        ("", ""),
    ],
)
def test_collapse_doubled(raw: str, clean: str) -> None:
    assert collapse_doubled(raw) == clean


# ----------------------------------------------------------------------------- bylines


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("Russia Today17-05-2025", ("Russia Today", "17-05-2025")),
        ("Axios12-03-2025", ("Axios", "12-03-2025")),
        ("Sky News 3 hours ago", ("Sky News", "3 hours ago")),
        ("Sky Newsan hour ago", ("Sky News", "an hour ago")),
        ("Al Jazeeraa minute ago", ("Al Jazeera", "a minute ago")),
        ("Russia Today · 17.05.2025", ("Russia Today", "17.05.2025")),
        ("Russia Today | 17/05/2025", ("Russia Today", "17/05/2025")),
        ("Russia Todaytime3 hours ago", ("Russia Today", "3 hours ago")),
        ("BBC News 17 May 2025", ("BBC News", "17 May 2025")),
        ("ReutersMay 17, 2025", ("Reuters", "May 17, 2025")),
        ("Le Monde2025-05-17", ("Le Monde", "2025-05-17")),
        ("17-05-2025", (None, "17-05-2025")),
        ("Russia Today", ("Russia Today", None)),
        ("USA Today", ("USA Today", None)),  # "today" here is a name, not a date
        ("Channel 4", ("Channel 4", None)),
        ("Channel 417-05-2025", ("Channel 4", "17-05-2025")),
        ("Channel 4 17-05-2025", ("Channel 4", "17-05-2025")),
        ("", (None, None)),
        ("Sky News just now", ("Sky News", "just now")),
        ("Sky NewsYESTERDAY", ("Sky News", "YESTERDAY")),
        ("Breaking: talks resume in Geneva", ("Breaking: talks resume in Geneva", None)),
    ],
)
def test_split_byline(byline: str, expected: tuple[str | None, str | None]) -> None:
    assert split_byline(byline) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("timean hour ago", "an hour ago"),
        ("time3 hours ago", "3 hours ago"),
        ("scheduleyesterday", "yesterday"),
        ("access_time6 hours ago", "6 hours ago"),
        ("time 17-05-2025", "17-05-2025"),
        ("timely news", "timely news"),
        ("time", "time"),
        ("time to act", "time to act"),
        ("3 hours ago", "3 hours ago"),
    ],
)
def test_strip_icon_label(raw: str, clean: str) -> None:
    assert strip_icon_label(raw) == clean


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        # Absolute dates stay dates; numeric ones are day first.
        ("17-05-2025", "2025-05-17"),
        ("03-04-2025", "2025-04-03"),
        ("17.05.2025", "2025-05-17"),
        ("17/05/2025", "2025-05-17"),
        ("05-17-2025", "2025-05-17"),  # no 17th month: the other order is the only reading
        ("2025-05-17", "2025-05-17"),
        ("May 17, 2025", "2025-05-17"),
        ("17 May 2025", "2025-05-17"),
        ("17. Mai 2025", "2025-05-17"),
        # Datetimes keep their offset; naive ones are UTC.
        ("2025-05-17T09:30:00+03:00", "2025-05-17T09:30:00+03:00"),
        ("2025-05-17T09:30:00Z", "2025-05-17T09:30:00+00:00"),
        ("2025-05-17T09:30:00.123456Z", "2025-05-17T09:30:00+00:00"),
        ("2025-05-17T09:30:00", "2025-05-17T09:30:00+00:00"),
        ("2025-05-17 09:30", "2025-05-17T09:30:00+00:00"),
        ("17 May 2025 10:00 GMT", "2025-05-17T10:00:00+00:00"),
        ("Saturday, 17 May 2025, 09:30 +0300", "2025-05-17T09:30:00+03:00"),
        ("17 May 2025 10:00", "2025-05-17T10:00:00+00:00"),
        # Relative forms resolve against the fetch time, in UTC.
        ("an hour ago", "2025-06-24T11:00:00+00:00"),
        ("a minute ago", "2025-06-24T11:59:00+00:00"),
        ("9 minutes ago", "2025-06-24T11:51:00+00:00"),
        ("3 hours ago", "2025-06-24T09:00:00+00:00"),
        ("yesterday", "2025-06-23T12:00:00+00:00"),
        ("2 days ago", "2025-06-22T12:00:00+00:00"),
        ("1 month ago", "2025-05-24T12:00:00+00:00"),
        ("just now", "2025-06-24T12:00:00+00:00"),
        ("timean hour ago", "2025-06-24T11:00:00+00:00"),
        ("time3 hours ago", "2025-06-24T09:00:00+00:00"),
        ("access_time6 hours ago", "2025-06-24T06:00:00+00:00"),
        ("vor 3 Stunden", "2025-06-24T09:00:00+00:00"),
    ],
)
def test_parse_date(raw: str, iso: str) -> None:
    assert parse_date(raw, reference=REFERENCE) == iso


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("03-04-2025", "2025-03-04"),
        ("17-05-2025", "2025-05-17"),  # no 17th month: the other order is the only reading
        ("04/03/2025", "2025-04-03"),
        ("2025-04-03", "2025-04-03"),  # ISO is unambiguous whatever the preference
        ("2025-04-03T08:00:00Z", "2025-04-03T08:00:00+00:00"),
    ],
)
def test_parse_date_month_first(raw: str, iso: str) -> None:
    assert parse_date(raw, reference=REFERENCE, day_first=False) == iso


def test_parse_date_languages_restrict_locales() -> None:
    assert parse_date("hier", reference=REFERENCE, languages=["fr"]) == "2025-06-23T12:00:00+00:00"
    assert parse_date("hier", reference=REFERENCE, languages=["en"]) is None


def test_parse_date_relative_offset_of_reference_is_kept_as_instant() -> None:
    moscow = REFERENCE.astimezone(timezone(timedelta(hours=3)))
    assert parse_date("3 hours ago", reference=moscow) == "2025-06-24T09:00:00+00:00"


def test_parse_date_naive_reference_is_utc() -> None:
    naive = REFERENCE.replace(tzinfo=None)
    assert parse_date("an hour ago", reference=naive) == "2025-06-24T11:00:00+00:00"


@pytest.mark.parametrize("raw", ["an hour ago", "3 hours ago", "yesterday", "timean hour ago"])
def test_parse_date_relative_needs_reference(raw: str) -> None:
    assert parse_date(raw) is None


def test_parse_date_absolute_needs_no_reference() -> None:
    assert parse_date("17-05-2025") == "2025-05-17"


@pytest.mark.parametrize(
    "raw",
    [
        "1985-01-01",  # before 1990: a misparse, not a news date
        "31.12.1989",
        "2025-06-27",  # three days after the fetch
        "2030-01-01T00:00:00Z",
        "in 5 days",
        "31-02-2025",
        "May 2025",  # no day: would be invented
        "17 May",  # no year: would be invented
        "Russia Today",
        "Comments",
        "garbage 12 text",
        "",
        "   ",
        "\x00",
        "🙂",
        "x" * 500,
        None,
    ],
)
def test_parse_date_rejects(raw: str) -> None:
    assert parse_date(raw, reference=REFERENCE) is None


def test_parse_date_allows_slightly_ahead_of_reference() -> None:
    # Publisher clocks run ahead of ours, and a date alone is midnight in some zone.
    assert parse_date("2025-06-25", reference=REFERENCE) == "2025-06-25"
    assert parse_date("in 2 hours", reference=REFERENCE) == "2025-06-24T14:00:00+00:00"


# Formats read without dateparser: each must give exactly what dateparser gives.
FAST_DATES = [
    "2025-05-17",
    "2025-05-17T10:00:00Z",
    "2025-05-17T10:00:00+02:00",
    "2025-05-17T10:00:00.123+02:00",
    "2025-05-17T10:00:00-0500",
    "2025-05-17 10:00",
    "2025-05-17T10:00:00.1234567Z",
    "17-05-2025",
    "05/17/2025",
    "29.04.2020 12:01",
    "05/17/2025 10:30",
    "17-05-2025, 9:05",
    "03.04.2020 12:01:33",
    "Mon, 17 May 2025 10:00:00 GMT",
    "Sat, 17 May 2025 10:00:00 +0200",
    "Sat, 17 May 2025 10:00:00 -0000",
    "Tue, 3 Jun 2025 09:05:07 +0530",
    "Tue,3 Jun 2025 09:05 UTC",
    "17 May 2025 10:00:00 -0500",
    "17 May 2025 23:59:59 Z",
    "Mon, 17 May 2025 10:00:00",
    "mon, 17 may 2025 10:00:00 gmt",
    "1 Sept 2024 08:00 UT",
    "17 Jun 2018 15:15",
    "4 November 2020 19:23",
    "17 May 2025",
    "17 May. 2025",
    "3 January 2024",
    "May 17, 2025",
    "Dec 3 2024",
    "september 30, 2024",
]


def _with_dateparser(monkeypatch: pytest.MonkeyPatch, *args: object, **kwargs: object) -> object:
    """parse_date with its fast path turned off: what dateparser alone makes of the text."""
    with monkeypatch.context() as patched:
        patched.setattr(processors, "_fast_date", lambda text, day_first, english: None)
        return parse_date(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", FAST_DATES)
@pytest.mark.parametrize("day_first", [True, False])
@pytest.mark.parametrize("languages", [None, ["en"], ["en", "de"]])
def test_fast_date_gives_what_dateparser_gives(
    monkeypatch: pytest.MonkeyPatch, raw: str, day_first: bool, languages: list[str] | None
) -> None:
    kwargs = {"reference": REFERENCE, "day_first": day_first, "languages": languages}
    expected = _with_dateparser(monkeypatch, raw, **kwargs)
    assert expected is not None
    with monkeypatch.context() as patched:
        patched.setattr(processors, "_absolute_date", _no_dateparser)
        patched.setattr(processors, "_relative_offset", _no_dateparser)
        assert parse_date(raw, reference=REFERENCE, day_first=day_first, languages=languages) == (
            expected
        )


def _no_dateparser(*args: object) -> None:
    raise AssertionError(f"dateparser was asked: {args}")


@pytest.mark.parametrize(
    "raw",
    [
        "Mon, 31 Feb 2025 10:00:00 GMT",  # no such day: dateparser decides (and refuses)
        "Mon, 17 May 2025 10:00:00 GMT+0200",
        "17 May 2025 10:00 CEST",
        "31 February 2025",
        "Mayo 17, 2025",
        "03.04.2020 24:01",
        "29.04.2020 12.01",
    ],
)
def test_fast_date_leaves_the_rest_to_dateparser(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    assert parse_date(raw, reference=REFERENCE) == _with_dateparser(
        monkeypatch, raw, reference=REFERENCE
    )
    with monkeypatch.context() as patched:
        patched.setattr(processors, "_absolute_date", _no_dateparser)
        with pytest.raises(AssertionError, match="dateparser was asked"):
            parse_date(raw, reference=REFERENCE)


@pytest.mark.parametrize("raw", ["17 May 2025", "Mon, 17 May 2025 10:00:00 GMT"])
def test_english_month_names_are_left_to_dateparser_on_other_pages(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    """A German page's dates are read German first, as before: no English shortcut."""
    with monkeypatch.context() as patched:
        patched.setattr(processors, "_absolute_date", _no_dateparser)
        with pytest.raises(AssertionError, match="dateparser was asked"):
            parse_date(raw, reference=REFERENCE, languages=["de", "en"])


@pytest.mark.parametrize(
    ("iso", "date_only"),
    [
        ("2025-05-17", True),
        ("2025-05-17T00:00:00+00:00", False),
        ("2025-05-17\n", False),
        ("", False),
    ],
)
def test_is_date_only(iso: str, date_only: bool) -> None:
    assert is_date_only(iso) is date_only


# ----------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("raw", "base", "canonical"),
    [
        (
            "https://daily8.example/en/article/e2a35f0d?utm_source=x&utm_medium=y&id=3#comments",
            None,
            "https://daily8.example/en/article/e2a35f0d?id=3",
        ),
        (
            "https://news.example/a?fbclid=1&gclid=2&dclid=3&msclkid=4&mc_cid=5&mc_eid=6&b=2&a=1",
            None,
            "https://news.example/a?a=1&b=2",
        ),
        (
            "https://news.example/a?igshid=1&_ga=2&yclid=3&ref_src=4&cmpid=5&ocid=6&UTM_Term=7",
            None,
            "https://news.example/a",
        ),
        ("HTTP://News.Example.COM:80/Path", None, "http://news.example.com/Path"),
        ("https://news.example:443", None, "https://news.example/"),
        ("https://news.example:8443/a", None, "https://news.example:8443/a"),
        ("https://user:secret@news.example/a", None, "https://news.example/a"),
        ("  https://news.example/a\n  ", None, "https://news.example/a"),
        ("/en/article/abc", "https://daily8.example/en/", "https://daily8.example/en/article/abc"),
        ("../b?q=1#x", "https://news.example/a/c", "https://news.example/b?q=1"),
        ("https://münchen.example/ä", None, "https://xn--mnchen-3ya.example/%C3%A4"),
        ("https://news.example/a b", None, "https://news.example/a%20b"),
    ],
)
def test_canonicalize_url(raw: str, base: str | None, canonical: str) -> None:
    assert canonicalize_url(raw, base=base) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:void(0)",
        "mailto:desk@news.example",
        "tel:+123",
        "ftp://news.example/file",
        "#top",
        "",
        "   ",
        "http://",
        "not a url",
        "https://bad host/a",
        "http://[::1",
        None,
    ],
)
def test_canonicalize_url_rejects(raw: str) -> None:
    assert canonicalize_url(raw) is None


def test_canonicalize_url_keeps_scheme_www_and_slash() -> None:
    # Folding those is url_key's job: the stored URL must still be fetchable.
    assert canonicalize_url("http://www.news.example/a/") == "http://www.news.example/a/"


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.news.example/story/1/",
        "http://news.example/story/1",
        "HTTPS://NEWS.EXAMPLE:443/story/1?utm_campaign=x#top",
        "https://news.example/story/1/?fbclid=abc",
    ],
)
def test_url_key_folds_variants(variant: str) -> None:
    assert url_key(variant) == "news.example/story/1"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://news.example/story/1", "https://news.example/story/2"),
        ("https://news.example/story?id=1", "https://news.example/story?id=2"),
        ("https://news.example/story/1", "https://other.example/story/1"),
        ("https://news.example:8443/story/1", "https://news.example/story/1"),
        ("not a url", "also not a url"),
    ],
)
def test_url_key_separates_different_pages(first: str, second: str) -> None:
    assert url_key(first) != url_key(second)


def test_url_key_keeps_root_slash() -> None:
    assert url_key("https://www.news.example") == url_key("http://news.example/") == "news.example/"


# ----------------------------------------------------------------------------- authors


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("By Jane Doe", "Jane Doe"),
        ("by: Jane Doe", "Jane Doe"),
        ("BY JANE DOE", "Jane Doe"),
        ("Von Hans Müller", "Hans Müller"),
        ("Par Jean Dupont", "Jean Dupont"),
        ("Von Miller", "Von Miller"),  # a particle of the name, not a prefix
        ("Jane Doe, Staff Writer", "Jane Doe"),
        ("Jane Doe Senior Correspondent", "Jane Doe"),
        ("By Jane Doe, Moscow Correspondent", "Jane Doe"),
        ("Jane Doe | Reuters", "Jane Doe"),
        ("Jane Doe - The Times", "Jane Doe"),
        ("Jane Doe, The Associated Press", "Jane Doe"),
        ("Jane Doe (AP)", "Jane Doe"),
        ("Jane Doe Updated 3 hours ago", "Jane Doe"),
        ("Jane Doe, Published 17 May 2025", "Jane Doe"),
        ("Jane Doe jane.doe@news.example", "Jane Doe"),
        ("Jane Doe https://social.example/janedoe", "Jane Doe"),
        ("  Jane \n Doe  ", "Jane Doe"),
        ("Jean-Luc Picard, Staff Writer", "Jean-Luc Picard"),
        ("Mary-Kate O'Brien", "Mary-Kate O'Brien"),
        ("danah boyd", "danah boyd"),  # not all upper case: her spelling stays
        ("Reuters", "Reuters"),
    ],
)
def test_clean_author(raw: str, name: str) -> None:
    assert clean_author(raw) == name


@pytest.mark.parametrize(
    "raw", ["", "   ", "By", "Staff", "Staff Writer", "Senior Staff Writer", "12345", "x" * 100]
)
def test_clean_author_rejects(raw: str) -> None:
    assert clean_author(raw) is None


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("By Jane Doe and John Smith", ["Jane Doe", "John Smith"]),
        ("Jane Doe, John Smith & Ann Lee", ["Jane Doe", "John Smith", "Ann Lee"]),
        ("Jane Doe; John Smith | Ann Lee", ["Jane Doe", "John Smith", "Ann Lee"]),
        ("By JANE DOE and jane doe", ["Jane Doe"]),
        (["By Jane Doe", "JANE DOE", "John Smith"], ["Jane Doe", "John Smith"]),
        ("Jane Doe, Staff Writer and John Roe, Senior Editor", ["Jane Doe", "John Roe"]),
        ("Jane Doe, John Smith, Jr.", ["Jane Doe", "John Smith, Jr."]),
        ("Jane Doe and John Smith | Reuters", ["Jane Doe", "John Smith"]),
        (["", None, "Staff"], []),
        (None, []),
    ],
)
def test_split_authors(raw: object, names: list[str]) -> None:
    assert split_authors(raw) == names


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("Kyle Tan 7 hours", ["Kyle Tan"]),
        ("Redaktion Nord 1. November 2023 10:29", ["Redaktion Nord"]),
        ("erstellt von Dana Ruiz — veröffentlicht", ["Dana Ruiz"]),
        ("Review by Jane Roe", ["Jane Roe"]),
        ("Jane Roe, PhD", ["Jane Roe"]),
        ("Bo Chan MD and Ann Lee, Jr.", ["Bo Chan", "Ann Lee, Jr."]),
        ("AGENCY/WIRE/Mel Ortiz", []),
        ("© Ledger Media", []),
        ("@janeroe", []),
        ("Folgen", []),
        ("Ann Lee (", ["Ann Lee"]),
        ("Zeige alle Beiträge von Mia Weber →", ["Mia Weber"]),
        ("View all posts by Mia Weber", ["Mia Weber"]),
        ("Veröffentlicht am 8. Februar 2022 von Mia Weber", ["Mia Weber"]),
        ("Artikel von: Mia Weber", ["Mia Weber"]),
        ("Mia Weber vor 5 Stunden Mehr", ["Mia Weber"]),
        ("Mia Weber @miaweber", ["Mia Weber"]),
        ("Mia Weber am", ["Mia Weber"]),
        ("No Author", []),
        ("Anna Maria Sam", ["Anna Maria Sam"]),
        ("Mia Weber og Ola Berg", ["Mia Weber", "Ola Berg"]),
        ("Mia Weber und Ola Berg", ["Mia Weber", "Ola Berg"]),
        ("Ettore Sottsass", ["Ettore Sottsass"]),
        ("신현주 기자", ["신현주"]),
    ],
)
def test_byline_junk_is_not_a_name(raw: str, names: list[str]) -> None:
    assert split_authors(raw) == names


# ----------------------------------------------------------------------------- body


def test_body_hash_ignores_whitespace_quotes_and_case() -> None:
    body = "Peskov said: \u201cNo substantial offers.\u201d\nTalks \u2013 later."
    variants = [
        "Peskov said: 'No substantial offers.' Talks - later.",
        '  peskov   said "no substantial offers"\n\n talks later ',
        "Peskov said: &quot;No substantial offers.&quot;\nTalks &ndash; later.",
    ]
    assert {body_hash(variant) for variant in variants} == {body_hash(body)}


def test_body_hash_separates_different_stories() -> None:
    assert body_hash("Talks resume in Geneva.") != body_hash("Talks collapse in Geneva.")


def test_body_hash_is_sha256_of_the_folded_letters_and_digits() -> None:
    # Stored rows are keyed by it: ASCII and other text must keep hashing the same.
    assert body_hash("Story_ text, 2!") == hashlib.sha256(b"storytext2").hexdigest()
    expected = hashlib.sha256("çavañandú2".encode()).hexdigest()
    assert body_hash("Ça va \u2014 Ñandú_ \u2082!") == expected


def test_body_hash_is_sha256_hex() -> None:
    digest = body_hash("Story text.")
    assert len(digest) == 64 and int(digest, 16) >= 0


# ----------------------------------------------------------------------------- boilerplate


@pytest.mark.parametrize(
    "line",
    [
        "Comments",
        "Related Articles",
        "DOWNLOAD THE APP",
        "Advertisement",
        "Share this article",
        "Read more:",
        "Read more: Grain deal extended for 60 days",
        "Sign up for our newsletter",
        "Sign up for our daily newsletter.",
        "You must be logged in to post a comment.",
        # the longest sign-in prompt: 80 characters either side of the longest phrase
        f"{'x' * 79} must be logged in {'y' * 79}",
    ],
)
def test_is_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "The comments drew a sharp response from Moscow.",
        "Comments by the spokesman were reported on Friday.",
        "Share prices fell 3% on the news.",
        "Advertisement revenue dropped for the third year.",
        "Related articles in the treaty cover arms control.",
        "He urged readers to download the app before the vote.",
        f"{'x' * 80} must be logged in {'y' * 79}",
        "",
    ],
)
def test_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def test_boilerplate_pattern_is_compiled_case_insensitive() -> None:
    assert BOILERPLATE_RE.flags & re.IGNORECASE


# ----------------------------------------------------------------------------- odd input


@pytest.mark.parametrize(
    "value", [None, "", "\x00", 17, 3.5, b"\xff\xfe", ["a", None], "🙂" * 40, "x" * 5000]
)
def test_odd_input_gives_an_empty_or_plain_value(value: object) -> None:
    """Nothing raises, and each processor answers in its usual type: no date, URL or
    author is made up from junk, and cleaned text carries no control characters."""
    for text in (normalize_text(value), normalize_paragraphs(value), collapse_doubled(value)):
        assert isinstance(text, str)
        assert not any(ord(char) < 32 and char != "\n" for char in text)
    name, when = split_byline(value)
    assert name is None or isinstance(name, str)
    assert when is None
    assert isinstance(strip_icon_label(value), str)
    assert parse_date(value, reference=REFERENCE) is None
    assert canonicalize_url(value) is None
    assert isinstance(url_key(value), str)
    assert clean_author(value) is None
    assert all(isinstance(author, str) and author for author in split_authors(value))
    assert re.fullmatch(r"[0-9a-f]{64}", body_hash(value))
    assert is_boilerplate(value) is False
