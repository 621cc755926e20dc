"""Value normalisation shared by filtering and ordering.

* Strings: an en_US-like (ICU root) collation key. Primary level ignores case and accents
  (whitespace < punctuation < symbols < digits < letters); ties break on accents, then case,
  lowercase first. So "apple" < "Apple" < "banana" < "Banana". Equal keys only for equal strings.
* DateTime: ISO-8601 strings (or datetime objects) as an integer instant (microseconds since
  the epoch, UTC). Partial dates (`2017`, `2019-12`, `2019-12-24`) are the start of the period;
  a missing zone means UTC.
* JSON-ish values: a canonical JSON text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

__all__ = ["collation_key", "instant", "json_key"]

# ICU root order of the printable ASCII characters (letters once, case folded).
_ASCII_ORDER = (
    "\t\n\x0b\x0c\r "
    "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
    "0123456789"
    "abcdefghijklmnopqrstuvwxyz"
)


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for i in range(128):
        table[i] = "\x01"              # other control characters: lowest
    for pos, ch in enumerate(_ASCII_ORDER):
        w = chr(2 + pos)
        table[ord(ch)] = w
        if ch.isalpha():
            table[ord(ch.upper())] = w
    return table


_PRIMARY = _build_table()


@lru_cache(maxsize=1 << 16)
def collation_key(s: str) -> tuple[str, str]:
    """Sort / compare key for a String value under an en_US-like collation."""
    if s.isascii():
        return (s.translate(_PRIMARY), s.swapcase())
    decomposed = unicodedata.normalize("NFD", s)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    # non-ASCII characters keep their code points, which sort after every mapped ASCII weight
    primary = base.casefold().translate(_PRIMARY)
    return (primary, decomposed.swapcase())


_DT_RE = re.compile(
    r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})"
    r"(?:[Tt ](\d{1,2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


@lru_cache(maxsize=1 << 16)
def _parse_instant(s: str) -> int | None:
    m = _DT_RE.match(s)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo or 1), int(d or 1), int(hh or 0), int(mi or 0),
                      int(ss or 0), int((frac or "0")[:6].ljust(6, "0")), tzinfo=timezone.utc)
    except ValueError:
        return None
    us = (dt - _EPOCH) // _US
    if tz and tz not in ("Z", "z"):
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        us -= sign * offset * 60_000_000
    return us


def instant(v) -> int | None:
    """A DateTime value as microseconds since the epoch (UTC); None when unparseable."""
    if isinstance(v, str):
        return _parse_instant(v)
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return (v - _EPOCH) // _US
    if isinstance(v, date):
        return (datetime(v.year, v.month, v.day, tzinfo=timezone.utc) - _EPOCH) // _US
    return None


def json_key(v) -> str:
    """Canonical JSON text of any value (stable across dict key order)."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
