"""Why a quote is not found in its source's text, where that can be said exactly: a
look-alike character (’ for ', “ for ", – for -) and where it is, in the quote and in the
archived text."""
from __future__ import annotations

import re

# Characters that look alike and are often typed one for the other (one for one, so that
# positions stay the same once folded).
_LOOKALIKE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
                            "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
                            "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-",
                            "\u2011": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " "})


def typographic_hint(quote: str, text: str, original: str = "", text_file: str = "") -> str | None:
    """'the source has ’ (U+2019) where the YAML has '', when the quote differs from the text
    only by look-alike characters; with where, in the quote and in the archived text."""
    folded_quote, folded_text = quote.translate(_LOOKALIKE), text.translate(_LOOKALIKE)
    at = folded_text.find(folded_quote)
    if at == -1:
        return None
    diffs = [(i, text[at + i], c) for i, c in enumerate(quote) if text[at + i] != c]
    if not diffs:
        return None
    i, theirs, ours = diffs[0]
    where = f"character {i + 1} of the quote"
    if original and text_file:
        line, col = original_position(original, at + i)
        where += f", {text_file}:{line}:{col}"
    more = f"; {len(diffs) - 1} more such character(s) in the quote" if len(diffs) > 1 else ""
    return f"the source has {theirs} (U+{ord(theirs):04X}) where the YAML has {ours} (U+{ord(ours):04X}): {where}{more}"


def original_position(original: str, index: int) -> tuple[int, int]:
    """Line and column in `original` of the character at `index` of normalize_ws(original)."""
    pos = 0
    for m in re.finditer(r"\S+", original):
        if pos + len(m.group()) > index:
            at = m.start() + index - pos
            line = original.count("\n", 0, at) + 1
            return line, at - (original.rfind("\n", 0, at) + 1) + 1
        pos += len(m.group()) + 1
    return original.count("\n") + 1, 1


def mismatch_hint(quote: str, text: str, original: str = "", text_file: str = "") -> str:
    """Why a quote is not in its text: a look-alike character (typographic_hint), or where it
    stops matching (the longest prefix of it found in the text)."""
    typographic = typographic_hint(quote, text, original, text_file)
    if typographic:
        return typographic
    lo, hi = 0, len(quote)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote[:mid] in text:
            lo = mid
        else:
            hi = mid - 1
    if lo < 10:
        return "no part of its beginning was found; check the source"
    return f"the text matches up to '…{quote[max(0, lo - 30):lo]}', then differs at '{quote[lo:lo + 20]}…'"
