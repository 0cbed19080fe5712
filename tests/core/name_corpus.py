# ruff: noqa: RUF001  (look-alike letters are the point of this file)
"""A corpus for the name guard: evasions that must be caught and near-misses that must pass.

Built from the kinds an attacker tries (invisible characters, full width, look-alike letters,
other scripts, digit and symbol substitutions, run-together and hashtag forms, "Last, First",
initials, one edit) for the demo's entries and entries of other scripts and lengths, and from
ordinary text that shares words with them. Shared by ``tests/core/test_names.py`` and
``bench/bench_names.py``. Deterministic: the same corpus on every run.
"""

from __future__ import annotations

import random

from backend.core.names import Entry

# The demo's likenesses and characters, then entries of our own.
ENTRIES = [
    Entry(1, "Nova Starling", ("Nova Starling", "Nova", "The Starling", "ノヴァ・スターリング")),
    Entry(2, "Arthur Penrose", ("Arthur Penrose",)),
    Entry(3, "Captain Comet", ("Captain Comet", "The Comet")),
    Entry(4, "Professor Nebula", ("Professor Nebula",)),
    Entry(5, "Mickey Mouse", ("Mickey Mouse",)),
    Entry(6, "Oluwaseun Adeyemi", ("Oluwaseun Adeyemi",)),
    Entry(7, "Dmitri Volkov", ("Dmitri Volkov", "Дмитрий Волков")),
    Entry(8, "Hiroshi Tanaka", ("Hiroshi Tanaka", "田中博")),
    Entry(9, "Sofía Castellanos", ("Sofía Castellanos",)),
    Entry(10, "Li Wei", ("Li Wei", "李伟")),
    Entry(11, "Björk Guðmundsdóttir", ("Björk Guðmundsdóttir",)),
    Entry(12, "Maximilian Oberhauser", ("Maximilian Oberhauser",)),
]

# Two-word names whose every kind of evasion is generated.
_NAMES = [
    ("Nova", "Starling"),
    ("Arthur", "Penrose"),
    ("Captain", "Comet"),
    ("Professor", "Nebula"),
    ("Mickey", "Mouse"),
    ("Oluwaseun", "Adeyemi"),
    ("Dmitri", "Volkov"),
    ("Hiroshi", "Tanaka"),
    ("Sofía", "Castellanos"),
    ("Björk", "Guðmundsdóttir"),
    ("Maximilian", "Oberhauser"),
]

_CONTEXTS = [
    "{}",
    "a video of {} dancing in the rain",
    "{} at the beach, golden hour",
    "me and {} making pancakes",
    "cinematic shot: {} walks on the moon",
    "when {} finds out lol",
]

_INVISIBLES = ["\u200b", "\ufe0f", "\u034f", "\u3164", "\u2800", "\u00ad", "\u2060", "\ufeff", "\u200d", "\u180e"]
_LEET = {"o": "0", "a": "4", "i": "1", "l": "1", "e": "3", "s": "5", "t": "7"}
# Latin letters and a Cyrillic or Greek letter drawn alike.
_LOOKALIKE = {"a": "\u0430", "o": "\u043e", "e": "\u0435", "p": "\u0440", "c": "\u0441", "i": "\u0456", "N": "\u039d"}
_CYRILLIC = {
    "Nova Starling": "Нова Старлинг",
    "Arthur Penrose": "Артур Пенроуз",
    "Captain Comet": "Капитан Комет",
    "Mickey Mouse": "Микки Маус",
    "Maximilian Oberhauser": "Максимилиан Оберхаузер",
}
_GREEK = {"Nova Starling": "Νόβα Στάρλινγκ", "Arthur Penrose": "Άρθουρ Πενρόουζ"}


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _leet(text: str, every: bool) -> str:
    out = []
    for i, char in enumerate(text):
        swap = _LEET.get(char.lower())
        out.append(swap if swap and (every or i % 2) else char)
    return "".join(out)


def _one_edit(word: str, rng: random.Random) -> list[str]:
    i = rng.randrange(1, len(word) - 1)
    return [
        word[:i] + word[i + 1 :],  # deletion
        word[:i] + "x" + word[i + 1 :],  # substitution
        word[:i] + word[i + 1] + word[i] + word[i + 2 :],  # transposition
        word[:i] + word[i] + word[i:],  # doubled letter
    ]


def evasions() -> list[str]:
    """Texts that name an entry (each must be caught)."""
    rng = random.Random(14)
    forms: list[str] = []
    for first, last in _NAMES:
        name = f"{first} {last}"
        cut = len(first) // 2
        forms += [
            name,
            name.upper(),
            name.lower(),
            f"{first}-{last}",
            f"{first}.{last}",
            f"{first}_{last}",
            f"#{first}{last}",
            f"#{first.lower()}{last.lower()}",
            f"#{first}{last}Fan",
            f"@{first}{last}",
            f"{last}, {first}",
            f"{last.upper()}, {first}",
            f"{first[0]}. {last}",
            f"{last}, {first[0]}.",
            " ".join(name.replace(" ", "")),
            ".".join(name.replace(" ", "").upper()),
            _full_width(name),
            _leet(name, every=True),
            _leet(name, every=False),
            first[:-1] + "@" + " " + last if first.endswith("a") else f"{first} {last.replace('s', '$', 1)}",
            "".join(_LOOKALIKE.get(c, c) for c in name),
        ]
        forms += [first[:cut] + mark + first[cut:] + " " + last for mark in _INVISIBLES]
        forms += [first + " " + last[:2] + rng.choice(_INVISIBLES) + last[2:]]
        if len(first + last) >= 8:
            forms += [f"{first} {edited}" for edited in _one_edit(last, rng)]
            forms += [f"{edited} {last}" for edited in _one_edit(first, rng)[:2]]
        if name in _CYRILLIC:
            forms.append(_CYRILLIC[name])
        if name in _GREEK:
            forms.append(_GREEK[name])
    forms += [
        "Nov\ufe0fa Starling",
        "Nov\u034fa",
        "Nov\u3164a",
        "Nov\u2800a Starling",
        "#ProfessorNebula teaching",
        "N0va St4rling",
        "ノヴァ・スターリング",
        "Artur Penrose",
        "Дмитрий Волков",
        "田中博",
        "李伟 in Shanghai",
        "Li Wei",
        "LI WEI",
        "#LiWei",
        "Wei, Li",
        "the Starling sings",
        "The Comet flies again",
        "Nova",
        "nova!!",
        "N.O.V.A",
    ]
    return [_CONTEXTS[i % len(_CONTEXTS)].format(form) for i, form in enumerate(forms)]


# Ordinary text that shares words, or most letters, with the entries (each must pass).
_NEAR_MISSES = [
    "a starling on a wire",
    "starlings over the lake at dusk",
    "a murmuration of starlings",
    "Nova Scotia at dawn",
    "bossa nova night in the park",
    "a supernova explodes in slow motion",
    "novaculite rocks on a table",
    "penrose tiling on a kitchen floor",
    "the Penrose stairs illusion",
    "a Penrose triangle made of wood",
    "king arthur pulls the sword",
    "arthur's pen rose from the desk",
    "the professor's nebula photo",
    "a professor explains a nebula",
    "nebula in the night sky",
    "the captain of the team",
    "a comet over the sea",
    "comets and asteroids",
    "captain's log, stardate",
    "a mouse in the kitchen",
    "mickey finn cocktail",
    "computer mouse review",
    "wolves of the volga",
    "a tanaka style ramen bowl",
    "hiroshima peace memorial",
    "castellan of the old fort",
    "sofa shopping in castile",
    "lily and wei go hiking",
    "li river cruise at sunset",
    "maximal oberhausen steelworks",
    "icelandic bjork tree grove",
    "adeyemi street market",
    "oluwa means lord in yoruba",
    "Nora Sterling reads a book",
    "Arthur Penrod fixes a bike",
    "Captain Comedy on stage",
    "Professor Nebby waves",
    "volkswagen camper in the hills",
    "starfish on the shore",
    "penguins at the zoo",
    "a rose pen on paper",
    "the starting line of the race",
    "the coset of a subgroup",
    "the comes and goes of the tide",
    "Values may include spaces — such as these",
    "Москва ночью",
    "Новая звезда над морем",
    "капитан корабля",
    "Профессор химии читает лекцию",
    "скворец на проводе",
    "мышка на кухне",
    "комета над морем",
    "東京の夜景",
    "中国的长城",
    "Η Αθήνα τη νύχτα",
    "Артур идёт домой",
    "ノートを買った",
]
_NEAR_MISS_CONTEXTS = [
    "{}",
    "{} #travel",
    "look at this: {}",
    "{}, shot on film",
    "Dreaming of {}",
    "{} (4k)",
    "tutorial: {}",
    "{} - part 2",
]


def near_misses() -> list[str]:
    """Texts that name no entry (each must pass)."""
    return [context.format(base) for base in _NEAR_MISSES for context in _NEAR_MISS_CONTEXTS]
