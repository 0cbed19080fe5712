"""A typed query as search reads it: folded like the database folds (``search_fold``), cut into words
and, for scripts written without spaces, into the character pairs the documents hold (``search_grams``).

The SQL functions and the indexes they serve are created by the search app's migration
(``search/migrations/0001_initial.py``); the search API (``search/``) and the admin's search boxes
(``backend.core.admin.IndexedSearch``) both read through them.
"""

from __future__ import annotations

import re
import unicodedata

from django.db.models import CharField, Func

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8

# The scripts ``search_grams`` cuts into pairs (the migration's CJK class): Thai, kana, CJK, hangul.
_GRAM_SCRIPTS = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TERMS = re.compile(rf"[{_GRAM_SCRIPTS}]+|(?:(?![{_GRAM_SCRIPTS}])[^\W_])+")
_GRAMS = re.compile(rf"^[{_GRAM_SCRIPTS}]+$")
# Letters unaccent maps that do not decompose.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "\u0131": "i", "æ": "ae", "œ": "oe", "þ": "th"})


def fold(text: str) -> str:
    """Lower case without accents, as ``search_fold`` (unaccent) reads a text: "Inès" is "ines"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Only the Latin, Greek and Cyrillic accents (U+0300-U+036F): Thai's or Devanagari's marks are letters.
    # Composed again, so that Hangul syllables stay syllables.
    kept = "".join(char for char in decomposed if not 0x300 <= ord(char) <= 0x36F).translate(_LETTERS)
    return unicodedata.normalize("NFC", kept)


def clean(query: str) -> str:
    """The query as typed, trimmed: no control characters, at most MAX_QUERY_LENGTH characters."""
    printable = "".join(char for char in query if unicodedata.category(char)[0] != "C")
    return " ".join(printable.split())[:MAX_QUERY_LENGTH]


def tsquery(query: str) -> str:
    """A ``to_tsquery('simple', ...)`` text matching documents that hold every term: the last word as a
    prefix (type-ahead), the others whole or as prefixes; a run without spaces as all its character pairs.
    Empty when the query has no word. Only letters and digits reach it, so nothing in it is syntax."""
    parts = []
    for term in _TERMS.findall(fold(query))[:MAX_TERMS]:
        if _GRAMS.match(term):
            if len(term) == 1:
                parts.append(f"{term}:*")
            else:
                parts.extend(term[i : i + 2] for i in range(len(term) - 1))
        else:
            parts.append(f"{term}:*")
    return " & ".join(dict.fromkeys(parts))


def like_prefix(query: str) -> str:
    """``query`` folded, with LIKE's wildcards escaped, to be followed by ``%``."""
    folded = fold(query).lstrip("@#")
    return folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SearchFold(Func):
    """``search_fold(x)`` in SQL: lower case, accents dropped, as the search indexes hold it."""

    function = "public.search_fold"
    output_field = CharField()
