"""Extraction scores shared by the saved-page tests and ``bench/extraction.py``.

Bodies are compared as bags of words, dates by calendar day and by instant, so a
test and the benchmark judge an extraction the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime

_WORD = re.compile(r"\w+")


def token_prf(got: str | None, expected: str | None) -> tuple[float, float, float]:
    """Bag-of-words precision, recall and F1 of ``got`` against ``expected``."""
    got_tokens = Counter(_WORD.findall((got or "").casefold()))
    expected_tokens = Counter(_WORD.findall((expected or "").casefold()))
    if not got_tokens and not expected_tokens:
        return 1.0, 1.0, 1.0
    overlap = sum((got_tokens & expected_tokens).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision = overlap / sum(got_tokens.values())
    recall = overlap / sum(expected_tokens.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def _parse_iso(value: str | None) -> date | datetime | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        return None


def same_day(got: str | None, expected: str | None) -> bool:
    """Same calendar day, read in the label's time zone when both carry one."""
    got_value, expected_value = _parse_iso(got), _parse_iso(expected)
    if got_value is None or expected_value is None:
        return False
    both_aware = all(isinstance(v, datetime) and v.tzinfo for v in (got_value, expected_value))
    if both_aware:
        got_value = got_value.astimezone(expected_value.tzinfo)
    as_day = [v.date() if isinstance(v, datetime) else v for v in (got_value, expected_value)]
    return as_day[0] == as_day[1]


def same_time(got: str | None, expected: str | None) -> bool:
    """Same instant (or same wall-clock time when the label has no offset)."""
    got_value, expected_value = _parse_iso(got), _parse_iso(expected)
    if not isinstance(got_value, datetime) or not isinstance(expected_value, datetime):
        return False
    if expected_value.tzinfo is None:
        return got_value.replace(tzinfo=None) == expected_value
    return got_value.tzinfo is not None and got_value == expected_value
