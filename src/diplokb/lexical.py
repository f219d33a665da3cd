"""Lexical forms of the values the YAML gives: what the loader accepts as a date, a number or
a language tag, and how a refused value is shown in a message.

Forms are matched whole (`fullmatch`: a `$` would also match before a final newline), in
ASCII digits only, as XSD has them (`\\d` would take '٨' or '²'), and numbers are bounded in
length (a 5000-digit number is an error, not a traceback in int()).
"""
from __future__ import annotations

import re

DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
INTEGER_RE = re.compile(r"[0-9]+")
DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
MAX_NUMBER_CHARS = 40
# BCP 47 (RFC 5646) language tags: langtag, private use, or one of the grandfathered tags.
_ALNUM = "[A-Za-z0-9]"
_LANGTAG = (r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"  # language, extlangs
            r"(?:-[A-Za-z]{4})?"  # script
            r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"  # region
            rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
            rf"(?:-[0-9A-WYZa-wyz](?:-{_ALNUM}{{2,8}})+)*"  # extensions
            rf"(?:-[xX](?:-{_ALNUM}{{1,8}})+)?")  # private use
_GRANDFATHERED = ("en-GB-oed i-ami i-bnn i-default i-enochian i-hak i-klingon i-lux i-mingo i-navajo i-pwn "
                  "i-tao i-tay i-tsu sgn-BE-FR sgn-BE-NL sgn-CH-DE art-lojban cel-gaulish no-bok no-nyn "
                  "zh-guoyu zh-hakka zh-min zh-min-nan zh-xiang").split()
LANGUAGE_TAG_RE = re.compile(rf"{_LANGTAG}|[xX](?:-{_ALNUM}{{1,8}})+|"
                             + "|".join(re.escape(t) for t in _GRANDFATHERED), re.ASCII | re.IGNORECASE)

SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")  # \Z: `$` would match before a final newline



def shown(text: str, limit: int = 40) -> str:
    """A value as quoted in a message: control characters escaped, long ones cut."""
    shown = text if len(text) <= limit else text[:limit]
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in shown)
    return f"'{shown}'" + (f"… ({len(text):,} characters)" if len(text) > limit else "")


def number_hint(text: str, default: str | None) -> str | None:
    """What is wrong with a number or date that is not in its lexical form, where it can tell."""
    import unicodedata

    if len(text) > MAX_NUMBER_CHARS:
        return f"at most {MAX_NUMBER_CHARS} characters"
    odd = next((ch for ch in text if (ch.isdigit() or ch.isnumeric()) and ch not in "0123456789"), None)
    if odd is not None:
        return f"'{odd}' is {unicodedata.name(odd, 'a non-ASCII digit')}: write the ASCII digits 0-9"
    if text != text.strip():
        return "remove the spaces or line breaks around it"
    return default
