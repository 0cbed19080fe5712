"""One name matcher for every protected list: protected likenesses, characters, blocked terms.

A text and a list's terms go through the same normalisation, so a form of a name that
reaches a render or a public page is recognised whatever it is written with:

- every Default_Ignorable_Code_Point (zero-width characters, variation selectors,
  U+034F, the Hangul fillers) and the Braille blank U+2800 are dropped, then NFKC;
- letters of other scripts drawn like Latin ones are read as the Latin letter (Unicode's
  confusables), and, as a second reading, other scripts are transliterated (anyascii):
  "Nova" spelt with Cyrillic o and a (U+043E, U+0430) is "nova", and "Нова" is "nova" too;
- case folding, accents dropped, digit and symbol substitutions (0→o, 4→a, 1→i/l, 3→e,
  5→s, 7→t, @→a, $→s; "l", "1" and "i" are one letter for matching);
- a term matches on word boundaries, run together (``#NovaStarling``), in a camel-case
  hashtag (``#ArthurPenroseFan``), spelt out letter by
  letter ("N o v a", "N.O.V.A."), as "Last, First",
  with initials ("A. Penrose", "Penrose, A."), and within one edit (rapidfuzz's OSA
  distance) when it has eight letters or more;
- text in another script also matches a name as it sounds (Arthur Penrose spelt in Cyrillic):
  the consonant skeletons of its transliteration and of the name are compared.

Matching is fast with many entries: exact forms go through one Aho-Corasick automaton
(pyahocorasick) and one-edit forms through a deletion-neighbourhood dictionary, both
compiled once per process per list and rebuilt when the list's version changes.

Apps register their lists' guards here (``register_text_guard``) so a lower app's write
(a profile, a caption) is checked against a higher app's list without importing it.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import ahocorasick
from anyascii import anyascii
from confusable_homoglyphs import confusables
from django.utils.translation import gettext_noop
from rapidfuzz.distance import OSA

from backend.core.i18n import Translatable

# Unicode 15.1 DerivedCoreProperties.txt, Default_Ignorable_Code_Point.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
_INVISIBLE = {cp: None for start, end in _DEFAULT_IGNORABLE for cp in range(start, end + 1)}
_INVISIBLE[0x2800] = None  # Braille blank: not default-ignorable, but drawn as nothing

FUZZY_MIN_LETTERS = 8  # a term this long also matches within one edit
_ARTICLES = frozenset({"the", "a", "an", "of", "and"})


def _latin_lookalikes() -> dict[int, str]:
    """Letters of other scripts drawn like a Latin letter or digit (Cyrillic o, U+043E; Greek N, U+039D)."""
    table = {}
    for char, homoglyphs in confusables.confusables_data.items():
        latin = [glyph["c"] for glyph in homoglyphs if glyph["c"].isascii() and glyph["c"].isalnum()]
        if len(char) == 1 and not char.isascii() and latin:
            table[ord(char)] = latin[0]
    return table


_LOOKALIKES = _latin_lookalikes()
# "l", "1", "i" and "|" share one skeleton letter, so "St4r1ing" and "Starling" read alike.
_SUBSTITUTIONS = str.maketrans({"0": "o", "4": "a", "1": "i", "3": "e", "5": "s", "7": "t", "l": "i", "|": "i"})
_SYMBOL_AT = re.compile(r"(?<=[a-z0-9])@")  # "N@va"; a leading "@" is a mention
_SYMBOL_DOLLAR = re.compile(r"(?<=[a-z0-9])\$|\$(?=[a-z0-9])")
_INITIAL = re.compile(r"(?<![a-z0-9])([a-z])\.")  # "a." of "A. Penrose" becomes the token "a_"
_COMMA = re.compile(r"[\s,]*,[\s,]*")  # kept as a word of its own: "Penrose, Arthur" is a name, "a swift taylor" is not
_SEPARATORS = re.compile(r"[^a-z0-9_,]+")


def _tokens(text: str) -> list[str]:
    text = text.casefold().replace("_", " ")
    text = _INITIAL.sub(r"\1_ ", text)
    text = _SYMBOL_DOLLAR.sub("s", _SYMBOL_AT.sub("a", text))
    text = _COMMA.sub(" , ", text.translate(_SUBSTITUTIONS))
    return _SEPARATORS.sub(" ", text).split()


def _letters_run_together(words: list[str]) -> list[str]:
    """ "n o v a" and "N.O.V.A." spelt out letter by letter (three letters or more) read as one word."""
    merged: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word.rstrip("_")) == 1 and word != ",":
            run.append(word.rstrip("_"))
            continue
        merged.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if word:
            merged.append(word)
    return merged


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@functools.lru_cache(maxsize=16_384)
def readings(text: str) -> list[list[str]]:
    """The word sequences ``text`` may be read as: look-alikes as Latin, other scripts transliterated,
    and camel case split into words ("#ArthurPenroseFan" is "arthur penrose fan").

    Remembered for the texts read most (each list guards a search result's caption and prompt, every page):
    callers only read what it returns."""
    visible = unicodedata.normalize("NFKC", text.translate(_INVISIBLE))
    latin = anyascii(visible.translate(_LOOKALIKES))
    found = [_tokens(latin)]
    if not visible.isascii():
        found.append(_tokens(anyascii(visible)))
    if _CAMEL.search(latin):
        found.append(_tokens(_CAMEL.sub(" ", latin)))
    unique: list[list[str]] = []
    for words in found:
        if words not in unique:
            unique.append(words)
    return unique


_SOUNDS = str.maketrans({"c": "k", "q": "k", "z": "s", "w": "v", "y": "i", "j": "i", "h": None})
_VOWELS = str.maketrans("", "", "aeiou")
PHONETIC_MIN_CONSONANTS = 4


def _sound(word: str) -> str:
    """A rough consonant skeleton of a word as it sounds, for names written in another script: Arthur
    Penrose in Cyrillic transliterates to "artur penrouz", and it and "arthur penrose" sound "artr pnrs"."""
    word = word.rstrip("_").replace("kh", "h").replace("ph", "f").replace("ck", "k").replace("x", "ks")
    word = word.translate(_SOUNDS)
    if not word:
        return ""
    collapsed = word[0] + "".join(b for a, b in itertools.pairwise(word) if a != b)
    return collapsed[0] + collapsed[1:].translate(_VOWELS)


def _foreign(chunk: str) -> bool:
    """Has letters of a script other than Latin (Cyrillic, Greek, Han, Kana ...)."""
    return any(char.isalpha() and ord(char) > 0x24F and not 0x1E00 <= ord(char) <= 0x1EFF for char in chunk)


def _script_readings(text: str) -> list[list[str]]:
    """The transliterated words of each run of words written in another script; none for Latin text.
    Only such runs: in Latin text a consonant skeleton would find names everywhere."""
    visible = unicodedata.normalize("NFKC", text.translate(_INVISIBLE))
    if visible.isascii():
        return []
    runs: list[list[str]] = [[]]
    for chunk in visible.split():
        if _foreign(chunk):
            runs[-1].append(chunk)
        elif runs[-1]:
            runs.append([])
    return [_tokens(anyascii(" ".join(run))) for run in runs if run]


def normalize_name_text(text: str) -> str:
    """The first reading of ``text`` as words separated by one space: "Beyoncé's" → "beyonce s"."""
    return " ".join(word.rstrip("_") for word in readings(text)[0] if word != ",")


# Ordinary phrases that contain a common word some entry uses as an alias ("Nova"): an occurrence
# inside one of them names nobody. Entries add their own (``Entry.exceptions``).
ORDINARY_PHRASES = ("nova scotia", "bossa nova", "terra nova", "super nova", "casa nova", "villa nova")
_EVERY_ENTRY = -1


@dataclass(frozen=True)
class Entry:
    id: int
    label: str
    terms: tuple[str, ...]
    exceptions: tuple[str, ...] = ()


def _exact_forms(words: list[str]) -> set[str]:
    """Automaton keys of one reading of a term: " a b " matches on word boundaries, a bare key anywhere."""
    words = [word.rstrip("_") for word in words if word.rstrip("_") and word != ","]
    if not words:
        return set()
    forms = {f" {' '.join(words)} "}
    if len(words) > 1:
        first, last = words[:-1], words[-1]
        forms.add(f" {''.join(words)} ")  # "#NovaStarling"
        forms.add(f" {last} , {' '.join(first)} ")  # "Penrose, Arthur"
        forms.add(f" {first[0][0]}_ {' '.join(words[1:])} ")  # "A. Penrose"
        forms.add(f" {' '.join(word[0] + '_' for word in first)} {last} ")  # "J. R. Tolkien"
        forms.add(f" {last} , {' '.join(word[0] + '_' for word in first)} ")  # "Penrose, A."
    return forms


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass
class NameIndex:
    """The compiled matcher of one list."""

    entries: list[Entry]
    automaton: ahocorasick.Automaton | None = None
    fuzzy: dict[str, set[tuple[int, str, frozenset[str] | None]]] = field(default_factory=dict)
    sounds: dict[str, set[int]] = field(default_factory=dict)
    anchor_words: set[str] = field(default_factory=set)  # a window of several words needs one of them
    max_fuzzy_letters: int = 0
    max_words: int = 1

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> NameIndex:
        index = cls(entries=list(entries))
        keys: dict[str, set[int]] = {}
        exceptions: dict[str, set[int]] = {}
        for phrase in ORDINARY_PHRASES:
            exceptions.setdefault(f" {phrase} ", set()).add(_EVERY_ENTRY)
        for position, entry in enumerate(index.entries):
            for phrase in entry.exceptions:
                for words in readings(phrase):
                    if words:
                        exceptions.setdefault(f" {' '.join(words)} ", set()).add(position)
            for term in entry.terms:
                for words in readings(term):
                    index.max_words = max(index.max_words, len(words))
                    for key in _exact_forms(words):
                        keys.setdefault(key, set()).add(position)
                    joined = "".join(word.rstrip("_") for word in words)
                    sound = "".join(_sound(word) for word in words if word != ",")
                    if len(sound) >= PHONETIC_MIN_CONSONANTS:
                        index.sounds.setdefault(sound, set()).add(position)
                    if len(joined) >= FUZZY_MIN_LETTERS:
                        plain = [word.rstrip("_") for word in words if word != ","]
                        anchors = frozenset(plain) - _ARTICLES if len(plain) > 1 else None
                        index.anchor_words |= anchors or set()
                        index.max_fuzzy_letters = max(index.max_fuzzy_letters, len(joined))
                        for variant in {joined, *_deletions(joined)}:
                            index.fuzzy.setdefault(variant, set()).add((position, joined, anchors))
        if keys:
            index.automaton = ahocorasick.Automaton()
            for key in keys.keys() | exceptions.keys():
                value = (tuple(keys.get(key, ())), frozenset(exceptions.get(key, ())), len(key))
                index.automaton.add_word(key, value)
            index.automaton.make_automaton()
        return index

    def match(self, text: str) -> list[Entry]:
        """The entries ``text`` names, in list order."""
        found: set[int] = set()
        for words in readings(text):
            if not words:
                continue
            if self.automaton is not None:
                found.update(self._exact(f" {' '.join(words)} "))
                merged = _letters_run_together(words)
                if merged != words:
                    found.update(self._exact(f" {' '.join(merged)} "))
            if self.fuzzy:
                found.update(self._fuzzy(words))
        if self.sounds:
            for words in _script_readings(text):
                found.update(self._sounding(words))
        return [self.entries[position] for position in sorted(found)]

    def _sounding(self, words: list[str]) -> set[int]:
        """Names written in another script as they sound, word for word."""
        found: set[int] = set()
        sounds = [_sound(word) for word in words if word != ","]
        for start in range(len(sounds)):
            window = ""
            for sound in sounds[start : start + self.max_words]:
                window += sound
                found.update(self.sounds.get(window, ()))
        return found

    def _exact(self, haystack: str) -> set[int]:
        hits: list[tuple[int, int, tuple[int, ...]]] = []
        excepted: list[tuple[int, int, frozenset[int]]] = []
        for end, (positions, exceptions, length) in self.automaton.iter(haystack):
            if positions:
                hits.append((end - length + 1, end, positions))
            if exceptions:
                excepted.append((end - length + 1, end, exceptions))
        found: set[int] = set()
        for start, end, positions in hits:
            covering = [held for s, e, held in excepted if s <= start and end <= e]
            found.update(
                position
                for position in positions
                if not any(position in held or _EVERY_ENTRY in held for held in covering)
            )
        return found

    def _fuzzy(self, words: list[str]) -> set[int]:
        found: set[int] = set()
        words = [word.rstrip("_") for word in _letters_run_together(words)]
        span = self.max_words + 1  # "Nova Star ling" splits a word in two
        for start in range(len(words)):
            window = ""
            anchored = False
            for end, word in enumerate(words[start : start + span], start + 1):
                if len(word) < 2:
                    break  # "professor's nebula": a lone letter is a word of its own, not a typo
                window += word
                anchored = anchored or word in self.anchor_words
                if len(window) > self.max_fuzzy_letters + 1:
                    break
                if len(window) < FUZZY_MIN_LETTERS - 1 or (end - start > 1 and not anchored):
                    continue
                for variant in (window, *_deletions(window)):
                    for position, term, anchors in self.fuzzy.get(variant, ()):
                        if (
                            position not in found
                            and window != f"{term}s"  # a plural or possessive is the ordinary word
                            and _anchored(words[start:end], anchors)
                            and OSA.distance(window, term, score_cutoff=1) <= 1
                        ):
                            found.add(position)
        return found


def _anchored(window: list[str], anchors: frozenset[str] | None) -> bool:
    """A typo in a name of several words counts when another of its words is spelt right ("Artur
    Penrose"), or in one run-together word: "the starting" is not "The Starling", "the coset" not "The Comet"."""
    return anchors is None or not anchors.isdisjoint(window) or (len(window) == 1 and len(window[0]) >= 10)


@dataclass(frozen=True)
class NameList:
    """A list of protected names: its entries, and a cheap version that changes whenever they do."""

    name: str
    version: Callable[[], Hashable]
    entries: Callable[[], Iterable[Entry]]


_compiled: dict[str, tuple[Hashable, NameIndex]] = {}
_compile_lock = threading.Lock()


def index_for(names: NameList) -> NameIndex:
    """The compiled index of ``names``, built once per process and rebuilt when its version changes."""
    version = names.version()
    cached = _compiled.get(names.name)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _compile_lock:
        cached = _compiled.get(names.name)
        if cached is None or cached[0] != version:
            cached = (version, NameIndex.build(names.entries()))
            _compiled[names.name] = cached
    return cached[1]


def names_in(names: NameList, text: str) -> list[Entry]:
    """Every entry of ``names`` that ``text`` names."""
    if not text or not text.strip():
        return []
    return index_for(names).match(text)


# --- Guards on user text -------------------------------------------------------------

TextGuard = Callable[..., None]
_guards: dict[str, TextGuard] = {}


# What a refusal calls the field it found a name in, in the reader's language.
FIELD_LABELS = {
    "prompt": gettext_noop("prompt"),
    "caption": gettext_noop("caption"),
    "body": gettext_noop("comment text"),
    "display_name": gettext_noop("display name"),
    "appearance_notes": gettext_noop("appearance notes"),
    "restrictions": gettext_noop("restrictions"),
    "handle": gettext_noop("handle"),
    "bio": gettext_noop("bio"),
    "name": gettext_noop("name"),
    "aliases": gettext_noop("aliases"),
}


def field_label(field_name: str) -> str:
    if field_name in FIELD_LABELS:
        return Translatable(FIELD_LABELS[field_name])
    return field_name.replace("_", " ")


def register_text_guard(name: str, guard: TextGuard) -> None:
    """``guard(user=, field=, text=)`` raises a ``DomainError`` when ``text`` names something its list protects."""
    _guards[name] = guard


def text_guard(*, user, fields: dict[str, str | None], skip: Iterable[str] = ()) -> None:
    """Refuse the first field whose text names a protected likeness, a refused character or a blocked term.

    Call before writing anything; the refusal's details name the field and the entry.
    """
    skipped = set(skip)
    for field_name, text in fields.items():
        if not text:
            continue
        for name, guard in _guards.items():
            if name not in skipped:
                guard(user=user, field=field_name, text=text)
