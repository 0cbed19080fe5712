"""Feed steering in the viewer's words: "more cooking, no horror", "más cocina, nada de terror",
"料理をもっと、ホラーはなし", "多一点烹饪、不要恐怖片", "요리 더, 공포 없이".

``parse`` reads the topics asked for more and less of in any of our languages: a text is cut into parts at
commas, semicolons and "and" (和, y …); each part's direction comes from a marker at its start or end ("no",
"sin", "なし", "不要", "없이" …), else from the part before it. ``topic_keys`` turns topics into what a video's
text is matched against: Snowball stems in the viewer's language for words of spaced scripts ("cocinas" and
"cocinar" are one stem), and, for Chinese, Japanese and Korean, which Snowball does not stem and which
write no spaces between words, the topic itself, found as a substring of the text ("料理" in "簡単な料理動画").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

# Our languages that Snowball stems; any other language's Latin words are stemmed as English.
SNOWBALL = {"en": "english", "es": "spanish"}
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# Direction markers, longest first so "no quiero" wins over "no". A word marker must stand apart (a space
# after a prefix, before a suffix); a CJK marker is matched as written.
# fmt: off
_MORE_WORDS = ("more", "lots of", "extra", "give me", "i want", "love",
               "más", "mas", "quiero", "me encanta", "me encantan", "más de", "muchos", "muchas")
_LESS_WORDS = ("less", "fewer", "no", "not", "without", "stop", "hide", "never",
               "menos", "sin", "nada de", "no quiero", "nunca", "ocultar", "basta de")
_MORE_CJK = ("多一些", "多一点", "多一點", "多点", "多點", "多些", "更多", "多看", "想看", "喜欢", "喜歡",
             "もっと", "多め", "増やして", "見たい", "好き",
             "더 많이", "더 많은", "많이", "더", "좋아")
_LESS_CJK = ("不想看", "不要看", "不要", "别看", "別看", "别", "別", "少一些", "少一点", "少一點", "少点", "少點",
             "少些", "少", "没有", "沒有", "不看", "屏蔽", "隐藏", "隱藏",
             "なし", "無し", "いらない", "要らない", "少なめ", "減らして", "嫌い", "見たくない", "やめて",
             "以外", "抜き",
             "없이", "빼고", "빼줘", "덜", "그만", "싫어", "말고")
_MARKERS = sorted([(m, "more") for m in _MORE_WORDS + _MORE_CJK] + [(m, "less") for m in _LESS_WORDS + _LESS_CJK],
                  key=lambda pair: -len(pair[0]))
# Parts end at punctuation (ASCII, ideographic and fullwidth), "and", "y", "e" and the Chinese "and"s.
_SPLIT = re.compile(r"[,;.\n、。\uff0c\uff1b\uff01\uff1f!?]|\band\b|\by\b|\be\b|和|与|與|及|跟")
_FILLER = {"of", "the", "a", "an", "and", "please", "videos", "stuff", "content", "some", "any",
           "de", "del", "la", "el", "los", "las", "un", "una", "unos", "unas", "por", "favor", "vídeos", "contenido",
           "视频", "視頻", "影片", "動画", "영상", "동영상"}
# Particles that end a Chinese, Japanese or Korean topic ("料理を", "요리를"): dropped to leave the topic.
_PARTICLES = ("から", "より", "を", "は", "が", "の", "も", "に", "的",
              "을", "를", "은", "는", "이", "가", "도", "로", "으로")
# fmt: on


def is_cjk(word: str) -> bool:
    return bool(_CJK.search(word))


def _strip_marker(part: str) -> tuple[str, str | None]:
    """Take one direction marker off the start or the end of ``part``."""
    lowered = part.casefold()
    for marker, direction in _MARKERS:
        cjk = is_cjk(marker)
        if lowered.startswith(marker) and (cjk or lowered[len(marker) : len(marker) + 1] in (" ", "")):
            return part[len(marker) :].strip(), direction
        if cjk and lowered.endswith(marker) and len(lowered) > len(marker):
            return part[: -len(marker)].strip(), direction
    return part, None


def _direction(part: str) -> tuple[str, str | None]:
    """The part without its markers, and where it points (a "less" marker wins over a "more" one)."""
    found = set()
    while True:
        part, direction = _strip_marker(part)
        if direction is None:
            break
        found.add(direction)
    return part, "less" if "less" in found else "more" if found else None


_QUOTES = "#\"'()[]「」『』“”\u2018\u2019"
_CJK_ENDINGS = sorted([*_PARTICLES, *(word for word in _FILLER if is_cjk(word))], key=len, reverse=True)


def _topic(word: str) -> str:
    """``word`` without quotes, and for CJK without the particles and fillers after it ("猫の動画" is "猫")."""
    word = word.strip(_QUOTES).casefold()
    while is_cjk(word):
        ending = next((e for e in _CJK_ENDINGS if word.endswith(e) and len(word) > len(e)), None)
        if ending is None:
            break
        word = word[: -len(ending)].strip(_QUOTES)
    return word


def parse(text: str) -> tuple[list[str], list[str]]:
    """ "more cooking, no horror; less sports" → (["cooking"], ["horror", "sports"]); any of our languages."""
    topics: dict[str, set[str]] = {"more": set(), "less": set()}
    direction = None  # "more cooking and dogs": "dogs" takes the direction before it
    for part in _SPLIT.split(text):
        rest, found = _direction(part.strip())
        direction = found or direction
        if direction is None:
            continue
        topics[direction].update(word for word in map(_topic, rest.split()) if word and word not in _FILLER)
    return sorted(topics["more"]), sorted(topics["less"])


@lru_cache(maxsize=8)
def _stemmer(language: str):
    return snowballstemmer.stemmer(SNOWBALL.get(language.split("-")[0], "english"))


def topic_keys(words: Iterable[str], *, language: str = "en") -> frozenset[str]:
    """Stems of spaced-script words in ``language``; CJK topics as they are (matched as substrings)."""
    words = [word.casefold() for word in words if word]
    spaced = [word for word in words if not is_cjk(word)]
    return frozenset(_stemmer(language).stemWords(spaced)) | frozenset(word for word in words if is_cjk(word))


def matched(keys: frozenset[str], *, stems: frozenset[str], text: str) -> int:
    """How many of ``keys`` a video's text holds: by stem, or (CJK) as a substring of its text."""
    return sum(1 for key in keys if (key in text if is_cjk(key) else key in stems))
