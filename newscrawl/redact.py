"""Keep database passwords out of logs and error messages: the one masker.

A password reaches a log line in more ways than a DSN printed on purpose:
libpq echoes a malformed connection string whole (or the part it took for a
host name), a traceback shows an exception's text, a library logs its own
connection errors. So besides masking what newscrawl itself logs,
:class:`RedactingFilter` rewrites every record that reaches the log handlers,
tracebacks included.

The password of a well-formed DSN is found with psycopg's conninfo parser; a
malformed one (an unterminated quote, an unencoded ``@``) by pattern, keeping
every reading of it, since libpq's and ours may differ.
"""

from __future__ import annotations

import contextlib
import logging
import re

from psycopg.conninfo import conninfo_to_dict

MASK = "***"

# The password of a URL runs to the last "@" of the authority: an unencoded "@" stays inside.
_URL_PASSWORD = re.compile(
    r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^:@/?#\s\"']*:)[^/?#\s\"']+?"
    r"(?=@[^@/?#\s\"']*(?:[/?#\s\"']|$))",
    re.I,
)
# Keyword form (quoted, even without its closing quote) and the URL query parameter.
_KEY_PASSWORD = re.compile(
    r"(?P<keep>(?:\bpassword\s*=\s*|[?&]password=))(?:'(?:[^'\\]|\\.)*(?:'|$)|[^\s&'\"#]+)", re.I
)


def secrets_of(dsn: str | None) -> set[str]:
    """Every reading of the password in ``dsn`` (URL or keyword form, well-formed or not)."""
    if not dsn:
        return set()
    found: set[str] = set()
    with contextlib.suppress(Exception):  # malformed: the patterns below still find it
        found.add(str(conninfo_to_dict(dsn).get("password") or ""))
    for pattern in (_URL_PASSWORD, _KEY_PASSWORD):
        for match in pattern.finditer(dsn):
            value = match.group(0)[len(match["keep"]) :]
            found.add(value)
            found.add(value.strip("'"))
            found.update(value.split("@"))  # libpq reads "a@b" as password "a", host "b@..."
    return {secret for secret in found if len(secret) >= 2}


def redact(text: str, dsn: str | None = None) -> str:
    """``text`` with ``dsn``'s password, and any password of a DSN in it, replaced by ``***``.

    ``redact(dsn, dsn)`` is a DSN safe to log.
    """
    for secret in sorted(secrets_of(dsn), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\g<keep>{MASK}", text)
    return _KEY_PASSWORD.sub(rf"\g<keep>{MASK}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback without ``dsn``'s password; attach to handlers."""

    def __init__(self, dsn: str | None = None) -> None:
        super().__init__()
        self.dsn = dsn
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.dsn)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.dsn)
        return True

    def install(self) -> None:
        """Attach to every handler of the root logger (where all records end up)."""
        for handler in logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)

    def uninstall(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)
