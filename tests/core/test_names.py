"""The one name matcher (backend.core.names) and the lists that use it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.cameos import selectors as cameo_selectors
from backend.cameos.models import Cameo, ProtectedLikeness
from backend.core import names
from backend.moderation import selectors as moderation_selectors
from backend.moderation.models import BlockedTerm
from backend.rights import selectors as rights_selectors
from backend.rights.models import Character, RightsHolder
from backend.videos.models import Comment, VideoHashtag
from tests.core import name_corpus
from tests.factories import CameoFactory, UserFactory, VideoFactory

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
        assert [c.name for c in rights_selectors.characters_in(text="#MickeyMouse")] == ["Mickey Mouse"]
        with pytest.raises(moderation_selectors.PromptRefused) as caught:
            moderation_selectors.prompt_blocklist_check(text="#MickeyMouse")
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
        with pytest.raises(moderation_selectors.PromptRefused):
            moderation_selectors.prompt_blocklist_check(text="lots of ゴア")


@pytest.fixture
def protected(db):
    """The demo's entries: two protected likenesses, a character its holder does not allow, a blocked term."""
    holder = RightsHolder.objects.create(name="Orbit Studios")
    Character.objects.create(holder=holder, name="Captain Comet", aliases="The Comet", allowed=True)
    Character.objects.create(holder=holder, name="Professor Nebula", allowed=False)
    BlockedTerm.objects.create(term="gore")
    return {
        "nova": ProtectedLikeness.objects.create(name="Nova Starling", aliases="Nova\nThe Starling"),
        "penrose": ProtectedLikeness.objects.create(name="Arthur Penrose", kind="estate_opt_out"),
    }


def _refused(response, field: str, label: str, code: str) -> None:
    assert response.status_code == 403, response.data
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"]["field"] == field
    assert error["details"]["label"] == label


EVASIONS = [
    ("Nov\u2800a Starling", "Nova Starling", "protected_likeness"),
    ("Penrose, Arthur", "Arthur Penrose", "protected_likeness"),
    ("#ProfessorNebula teaching", "Professor Nebula", "character_not_allowed"),
    ("so much G0RE", "gore", "prompt_blocked"),
]


@pytest.mark.django_db
class TestEveryFieldThroughTheApi:
    @pytest.mark.parametrize(("text", "label", "code"), EVASIONS)
    def test_a_caption_on_publish_is_refused_and_nothing_is_written(self, protected, client_for, text, label, code):
        draft = VideoFactory(status="draft", published_at=None, caption="")
        response = client_for(draft.owner).post(f"/api/v1/videos/{draft.id}/publish", {"caption": text}, format="json")
        _refused(response, "caption", label, code)
        draft.refresh_from_db()
        assert (draft.status, draft.caption) == ("draft", "")
        assert not VideoHashtag.objects.filter(video=draft).exists()

    def test_a_caption_edit_is_refused_so_the_hashtag_page_never_lists_it(self, protected, client_for, api_client):
        video = VideoFactory(caption="sunset #skate")
        response = client_for(video.owner).patch(
            f"/api/v1/videos/{video.id}", {"caption": "#ArthurPenrose lives"}, format="json"
        )
        _refused(response, "caption", "Arthur Penrose", "protected_likeness")
        video.refresh_from_db()
        assert video.caption == "sunset #skate"
        assert api_client.get("/api/v1/hashtags/ArthurPenrose").status_code == 404

    def test_a_comment_is_refused(self, protected, client_for):
        video = VideoFactory()
        response = client_for(UserFactory()).post(
            f"/api/v1/videos/{video.id}/comments", {"body": "N0va St4rling did it better"}, format="json"
        )
        _refused(response, "body", "Nova Starling", "protected_likeness")
        assert not Comment.objects.filter(video=video).exists()

    @pytest.mark.parametrize(
        ("field", "text", "label", "code"),
        [
            ("display_name", "Professor Nebula", "Professor Nebula", "character_not_allowed"),
            ("display_name", "Nov\ufe0fa Starling", "Nova Starling", "protected_likeness"),
            ("appearance_notes", "make me look like Artur Penrose", "Arthur Penrose", "protected_likeness"),
            ("restrictions", "never next to Нова Старлинг", "Nova Starling", "protected_likeness"),
        ],
    )
    def test_a_cameos_texts_are_refused_on_create_and_update(self, protected, client_for, field, text, label, code):
        owner = UserFactory()
        client = client_for(owner)
        created = client.post("/api/v1/cameos", {"kind": "character", "display_name": "Pixel", field: text})
        _refused(created, field, label, code)
        assert not Cameo.objects.filter(owner=owner).exists()
        cameo = CameoFactory(owner=owner, appearance_notes="", restrictions="")
        updated = client.patch(f"/api/v1/cameos/{cameo.id}", {field: text}, format="json")
        _refused(updated, field, label, code)
        cameo.refresh_from_db()
        assert getattr(cameo, field) == {"display_name": cameo.display_name}.get(field, "")

    @pytest.mark.parametrize(
        ("field", "text", "label", "code"),
        [
            ("display_name", "The Starling", "Nova Starling", "protected_likeness"),
            ("bio", "official fan page of A. Penrose", "Arthur Penrose", "protected_likeness"),
            ("bio", "I draw #ProfessorNebula", "Professor Nebula", "character_not_allowed"),
        ],
    )
    def test_a_profile_is_refused(self, protected, client_for, field, text, label, code):
        user = UserFactory(display_name="Sam", bio="")
        _refused(client_for(user).patch("/api/v1/me", {field: text}, format="json"), field, label, code)
        user.refresh_from_db()
        assert (user.display_name, user.bio) == ("Sam", "")

    def test_ordinary_words_pass_everywhere(self, protected, client_for):
        user = UserFactory()
        client = client_for(user)
        bio = {"bio": "a starling on a wire; Nova Scotia at dawn"}
        assert client.patch("/api/v1/me", bio, format="json").status_code == 200
        video = VideoFactory(owner=user)
        caption = {"caption": "penrose tiling #math"}
        assert client.patch(f"/api/v1/videos/{video.id}", caption, format="json").status_code == 200
        comment = {"body": "the professor's nebula photo"}
        assert client.post(f"/api/v1/videos/{video.id}/comments", comment, format="json").status_code == 201
        assert client.post("/api/v1/cameos", {"kind": "character", "display_name": "Captain Comet"}).status_code == 201

    def test_the_verified_person_may_name_themself(self, protected, client_for):
        nova = UserFactory(display_name="N")
        CameoFactory(owner=nova, kind="person", display_name="Nova", protected_likeness=protected["nova"])
        client = client_for(nova)
        assert client.patch("/api/v1/me", {"display_name": "Nova Starling"}, format="json").status_code == 200
        draft = VideoFactory(owner=nova, status="draft", published_at=None)
        published = client.post(f"/api/v1/videos/{draft.id}/publish", {"caption": "#NovaStarling live"}, format="json")
        assert published.status_code == 200, published.data
        _refused(
            client.patch("/api/v1/me", {"bio": "with Arthur Penrose"}, format="json"),
            "bio",
            "Arthur Penrose",
            "protected_likeness",
        )


@pytest.mark.django_db
class TestCharacterNamesInTheRightsAdmin:
    @pytest.fixture
    def staff(self, client):
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        return client

    def _form(self, **fields):
        return {"name": "Captain Comet", "aliases": "", "exceptions": "", "reference_image": "", "scope": "anywhere",
                "restrictions": "", "revenue_share_bps": 0, "allowed": "on", **fields}  # fmt: skip

    def test_a_character_named_after_a_protected_likeness_is_refused(self, protected, staff):
        comet = Character.objects.get(name="Captain Comet")
        url = reverse("admin:rights_character_change", args=[comet.id])
        response = staff.post(url, self._form(aliases="Penrose, Arthur"))
        assert response.status_code == 200
        assert "Arthur Penrose" in response.content.decode()
        comet.refresh_from_db()
        assert comet.aliases == "The Comet"

    def test_a_new_alias_reaches_the_guard_at_once(self, protected, staff):
        comet = Character.objects.get(name="Captain Comet")
        assert [c.name for c in rights_selectors.characters_in(text="Kapitan Komet")] == []
        url = reverse("admin:rights_character_change", args=[comet.id])
        assert staff.post(url, self._form(aliases="The Comet\nKapitan Komet")).status_code == 302
        assert [c.name for c in rights_selectors.characters_in(text="Kapitan Komet")] == ["Captain Comet"]


@pytest.mark.django_db
class TestRenderPrompts:
    @pytest.mark.parametrize(("text", "label", "code"), EVASIONS)
    def test_a_prompt_evasion_is_refused_and_never_queued(self, protected, client_for, monkeypatch, text, label, code):
        sent = []
        monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: sent.append(kwargs))
        response = client_for(UserFactory()).post(
            "/api/v1/renders", {"prompt": f"{text} skating", "duration_s": 5}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        )
        assert response.status_code == 403, response.data
        error = response.json()["error"]
        assert error["code"] == code
        assert label in error["message"] or error["details"].get("label") == label
        assert sent == []
