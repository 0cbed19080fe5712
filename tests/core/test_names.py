"""The one name matcher (backend.core.names) and the lists that use it."""

from __future__ import annotations

import pytest

from backend.cameos import selectors as cameo_selectors
from backend.cameos.models import ProtectedLikeness
from backend.core import names
from backend.moderation import services as moderation_services
from backend.moderation.models import BlockedTerm
from backend.rights import services as rights_services
from backend.rights.models import Character, RightsHolder
from tests.core import name_corpus

DEMO = [
    names.Entry(1, "Nova Starling", ("Nova Starling", "Nova", "The Starling", "ノヴァ・スターリング")),
    names.Entry(2, "Arthur Penrose", ("Arthur Penrose",)),
    names.Entry(3, "Captain Comet", ("Captain Comet", "The Comet")),
    names.Entry(4, "Professor Nebula", ("Professor Nebula",)),
]


@pytest.fixture(scope="module")
def demo_index() -> names.NameIndex:
    return names.NameIndex.build(DEMO)


class TestMatcher:
    @pytest.mark.parametrize(
        "text",
        [
            "Nov\ufe0fa Starling",
            "Nov\u034fa Starling",
            "Nov\u3164a Starling",
            "Nov\u2800a Starling",
            "#ProfessorNebula teaching",
            "N0va St4rling",
            "Нова Старлинг",
            "ノヴァ・スターリング",
            "A. Penrose",
            "Penrose, Arthur",
            "Artur Penrose",
            "\uff2e\uff4f\uff56\uff41 Starling",
            "N@va $tarling",
            "#ArthurPenroseFan",
            "N o v a S t a r l i n g",
        ],
    )
    def test_the_evasions_of_the_issue_are_caught(self, demo_index, text):
        assert demo_index.match(text), text

    @pytest.mark.parametrize(
        "text",
        ["a starling on a wire", "Nova Scotia at dawn", "penrose tiling", "the professor's nebula photo", ""],
    )
    def test_ordinary_words_pass(self, demo_index, text):
        assert demo_index.match(text) == []

    def test_an_entrys_own_exceptions_are_not_it(self):
        index = names.NameIndex.build([names.Entry(1, "Rio Vega", ("Rio Vega", "Vega"), exceptions=("Las Vegas",))])
        assert index.match("Vega at the beach")
        assert index.match("Las Vegas strip") == []


@pytest.fixture(scope="module")
def index() -> names.NameIndex:
    return names.NameIndex.build(name_corpus.ENTRIES)


class TestCorpus:
    """Measured recall and false positives over the corpus (``tests/core/name_corpus.py``)."""

    def test_the_corpus_is_large_enough(self):
        assert len(name_corpus.evasions()) >= 300
        assert len(name_corpus.near_misses()) >= 300

    def test_recall_is_at_least_99_percent(self, index):
        evasions = name_corpus.evasions()
        missed = [text for text in evasions if not index.match(text)]
        assert len(missed) <= 0.01 * len(evasions), f"{len(missed)} of {len(evasions)} missed: {missed}"

    def test_false_positives_are_at_most_1_percent(self, index):
        near_misses = name_corpus.near_misses()
        flagged = {text: [e.label for e in index.match(text)] for text in near_misses if index.match(text)}
        assert len(flagged) <= 0.01 * len(near_misses), f"{len(flagged)} of {len(near_misses)} flagged: {flagged}"


@pytest.mark.django_db
class TestOneMatcherForEveryList:
    def test_a_hashtag_matches_a_likeness_a_character_and_a_blocked_term(self):
        holder = RightsHolder.objects.create(name="Studio")
        ProtectedLikeness.objects.create(name="Mickey Mouse")
        Character.objects.create(holder=holder, name="Mickey Mouse")
        BlockedTerm.objects.create(term="Mickey Mouse")

        assert [p.name for p in cameo_selectors.protected_likenesses_in(text="#MickeyMouse")] == ["Mickey Mouse"]
        assert [c.name for c in rights_services.characters_in(text="#MickeyMouse")] == ["Mickey Mouse"]
        with pytest.raises(moderation_services.PromptRefused) as caught:
            moderation_services.prompt_blocklist_check(text="#MickeyMouse")
        assert caught.value.details["label"] == "Mickey Mouse"

    def test_the_index_is_rebuilt_when_an_entry_changes(self):
        likeness = ProtectedLikeness.objects.create(name="Rio Vega")
        assert cameo_selectors.protected_likeness_match(text="Ryo Vega") is None
        likeness.aliases = "Ryo Vega"
        likeness.save()
        assert cameo_selectors.protected_likeness_match(text="Ryo Vega") == likeness
        likeness.is_active = False
        likeness.save()
        assert cameo_selectors.protected_likeness_match(text="Rio Vega") is None

    def test_a_blocked_terms_alias_is_blocked(self):
        BlockedTerm.objects.create(term="gore", aliases="ゴア")
        with pytest.raises(moderation_services.PromptRefused):
            moderation_services.prompt_blocklist_check(text="lots of ゴア")
