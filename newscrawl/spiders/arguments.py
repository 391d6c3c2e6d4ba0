"""Spider arguments (``-a name=value``): checked when the spider is created.

Scrapy hands every ``-a`` value to the spider as a string and accepts any name.
A wrong value must stop the crawl before it starts with one line naming the
argument and what it accepts (``newscrawl.commands.crawl`` prints it and exits 2);
a misspelt name must not silently crawl the spider's defaults.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from datetime import date
from typing import Any
from urllib.parse import urlsplit

_FLAGS = {"1": True, "true": True, "yes": True, "on": True}
_FLAGS |= {"0": False, "false": False, "no": False, "off": False}


class ArgumentError(ValueError):
    """A spider argument the spider cannot use; the message says what it accepts."""


def split(value: str | list[str] | None) -> list[str]:
    """``-a`` lists arrive as comma-separated strings."""
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [part.strip() for part in value if part.strip()]


def urls(name: str, value: str | list[str] | None) -> list[str]:
    """Comma-separated absolute http(s) URLs."""
    parsed = split(value)
    for url in parsed:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ArgumentError(
                f"-a {name}: {url!r} is not an http(s) URL (expected e.g. https://example.com/)"
            )
    return parsed


def domains(name: str, value: str | list[str] | None) -> list[str]:
    """Comma-separated host names (not URLs)."""
    parsed = split(value)
    for domain in parsed:
        if "/" in domain or ":" in domain or " " in domain:
            raise ArgumentError(
                f"-a {name}: {domain!r} is not a domain name (expected e.g. example.com)"
            )
    return parsed


def positive_int(name: str, value: str | int | None) -> int | None:
    """A whole number of at least 1, or None when not given."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ArgumentError(f"-a {name}: expected a whole number of at least 1, not {value!r}")
    return number


def flag(name: str, value: str | bool) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off``."""
    if isinstance(value, bool):
        return value
    try:
        return _FLAGS[str(value).strip().lower()]
    except KeyError:
        raise ArgumentError(
            f"-a {name}: expected 1 or 0 (true/false, yes/no, on/off), not {value!r}"
        ) from None


def choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise ArgumentError(f"-a {name}: expected one of {', '.join(choices)}, not {value!r}")
    return value


def iso_date(name: str, value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` date, or None when not given."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentError(f"-a {name}: expected a date as YYYY-MM-DD, not {value!r}") from None


def known_names(spidercls: type) -> set[str]:
    """The argument names the ``__init__`` methods along ``spidercls``'s MRO accept."""
    names: set[str] = set()
    for cls in spidercls.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind is parameter.KEYWORD_ONLY or (
                parameter.kind is parameter.POSITIONAL_OR_KEYWORD and parameter.name != "self"
            ):
                names.add(parameter.name)
    return names


def check_names(spidercls: type, extra: dict[str, Any], logger: logging.LoggerAdapter[Any]) -> None:
    """Refuse a misspelt argument name, warn about other unknown ones.

    A name close to a known one (``start_url``) is a typo: crawling on would
    fetch the spider's default seeds, so it is an error. Other names still
    become spider attributes, as Scrapy documents, with a warning. Names
    starting with ``_`` (scrapyd's ``_job``, ``_version``) pass silently.
    """
    known = known_names(spidercls)
    for name in sorted(extra):
        if name.startswith("_") or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if close:
            raise ArgumentError(f"-a {name}: unknown argument; did you mean -a {close[0]}?")
        logger.warning(
            "Unknown spider argument -a %s (known: %s); kept as a spider attribute",
            name,
            ", ".join(sorted(known)),
        )
