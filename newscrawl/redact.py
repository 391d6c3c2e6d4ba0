"""Keep database passwords out of logs and error messages.

A password reaches a log line in more ways than a DSN printed on purpose:
libpq echoes a malformed connection string whole, a traceback shows an
exception's text, a library logs its own connection errors. So besides masking
what newscrawl itself logs, :class:`RedactingFilter` rewrites every record that
reaches the log handlers, tracebacks included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from psycopg.conninfo import conninfo_to_dict

MASK = "***"

_URL_PASSWORD = re.compile(
    r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^:@/?#\s\"']*:)[^@/?#\s\"']+(?=@)", re.I
)
_KEY_PASSWORD = re.compile(
    r"(?P<keep>(?:\bpassword\s*=\s*|[?&]password=))(?:'(?:[^'\\]|\\.)*'|[^\s&'\"#]+)", re.I
)


def secrets_of(dsn: str | None) -> set[str]:
    """The password in ``dsn`` (URL or keyword form), even when ``dsn`` is malformed."""
    if not dsn:
        return set()
    try:
        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # malformed: libpq would echo it, so it matters most here
        found = _URL_PASSWORD.search(dsn) or _KEY_PASSWORD.search(dsn)
        password = found.group(0)[len(found["keep"]) :].strip("'") if found else None
    return {str(password)} if password else set()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets and any password in a DSN replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\g<keep>{MASK}", text)
    return _KEY_PASSWORD.sub(rf"\g<keep>{MASK}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback without the secrets; attach to handlers."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {secret for secret in secrets if secret}
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True

    def install(self) -> None:
        """Attach to every handler of the root logger (where all records end up)."""
        for handler in logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)

    def uninstall(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)
