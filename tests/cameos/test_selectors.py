import pytest

from backend.cameos import selectors
from backend.cameos.models import Cameo
from backend.core.errors import NotFound
from tests.cameos.conftest import ALLOWED, AUDIENCES, RELATIONSHIPS
from tests.factories import CameoFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("relationship", RELATIONSHIPS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_permission_matrix(cameo_and_user, audience, relationship):
    cameo, user = cameo_and_user(audience, relationship)
    permission = selectors.cameo_permission(user=user, cameo=cameo)
    assert permission.allowed is (audience in ALLOWED[relationship]), permission
    listed = selectors.cameos_usable_by(user=user).filter(id=cameo.id).exists()
    assert listed is permission.allowed


@pytest.mark.parametrize(
    ("audience", "relationship", "reason"),
    [
        ("only_me", "owner", "owner"),
        ("only_me", "stranger", "only_me"),
        ("mutuals", "follower", "not_mutuals"),
        ("mutuals", "mutual", "mutuals"),
        ("approved", "stranger", "no_grant"),
        ("approved", "approved", "grant_approved"),
        ("approved", "denied", "grant_denied"),
        ("approved", "revoked", "grant_revoked"),
        ("everyone", "blocked", "blocked"),
        ("everyone", "stranger", "audience_everyone"),
    ],
)
def test_refusals_say_why(cameo_and_user, audience, relationship, reason):
    cameo, user = cameo_and_user(audience, relationship)
    assert selectors.cameo_permission(user=user, cameo=cameo).reason == reason


@pytest.mark.parametrize("status", ["pending_verification", "suspended", "deleted"])
def test_an_inactive_cameo_is_usable_by_nobody_not_even_its_owner(status):
    cameo = CameoFactory(status=status, audience="everyone")
    for user in (cameo.owner, UserFactory()):
        assert selectors.cameo_permission(user=user, cameo=cameo).reason == "not_active"
        assert not selectors.cameos_usable_by(user=user).exists()


def test_mutuals_is_evaluated_at_the_moment_of_the_check(cameo_and_user):
    from backend.creators import services

    cameo, user = cameo_and_user("mutuals", "mutual")
    assert selectors.cameo_permission(user=user, cameo=cameo).allowed
    services.follow_delete(follower=cameo.owner, followee=user)
    assert not selectors.cameo_permission(user=user, cameo=cameo).allowed


def test_available_cameos_take_a_constant_number_of_queries(django_assert_num_queries):
    user = UserFactory()
    for _ in range(5):
        CameoFactory(audience="everyone")
    with django_assert_num_queries(1):
        assert len(list(selectors.cameos_usable_by(user=user))) == 5
    for _ in range(20):
        CameoFactory(audience="everyone")
    with django_assert_num_queries(1):
        assert len(list(selectors.cameos_usable_by(user=user))) == 25


def test_visible_to_is_a_404_for_anyone_who_may_not_use_it(cameo_and_user):
    cameo, stranger = cameo_and_user("only_me", "stranger")
    with pytest.raises(NotFound):
        selectors.cameo_visible_to(viewer=stranger, cameo_id=cameo.id)
    assert selectors.cameo_visible_to(viewer=cameo.owner, cameo_id=cameo.id) == cameo


class TestProtectedLikenessMatching:
    @pytest.fixture(autouse=True)
    def protected(self):
        from backend.cameos.models import ProtectedLikeness

        ProtectedLikeness.objects.create(name="Beyoncé Knowles", aliases="Beyonce\nQueen B")
        ProtectedLikeness.objects.create(name="Barack Obama", aliases="Obama")
        ProtectedLikeness.objects.create(name="Jean-Luc Godard", kind="estate_opt_out", requested_by="the estate")
        ProtectedLikeness.objects.create(name="Retired Star", is_active=False)

    @pytest.mark.parametrize(
        "text",
        [
            "beyonce dancing on the moon",
            "BEYONCÉ at the beach",
            "Beyoncé's new dog",
            "a portrait of  barack\nobama  in oil",
            "obama, eating soup",
            "Jean Luc Godard directs a cat",
            "jean-luc GODARD",
            "queen b sings",
            "«Obama»",
        ],
    )
    def test_names_and_aliases_match_whatever_the_case_accents_and_punctuation(self, text):
        assert selectors.protected_likeness_match(text=text) is not None

    @pytest.mark.parametrize(
        "text",
        [
            "obamacare explained by a cat",
            "a beyoncefan club meeting",
            "queen bee documentary",
            "godardian long takes",
            "retired star on a yacht",
            "",
        ],
    )
    def test_words_inside_other_words_and_inactive_entries_do_not_match(self, text):
        assert selectors.protected_likeness_match(text=text) is None

    def test_only_the_verified_person_may_render_their_name(self):
        from backend.cameos.models import ProtectedLikeness

        obama = ProtectedLikeness.objects.get(name="Barack Obama")
        stranger, himself = UserFactory(), UserFactory()
        Cameo.objects.create(owner=himself, kind="person", display_name="Barack", status="active",
                             protected_likeness=obama)  # fmt: skip
        with pytest.raises(selectors.ProtectedLikenessRefused):
            selectors.prompt_likeness_check(user=stranger, text="Obama surfing")
        selectors.prompt_likeness_check(user=himself, text="Obama surfing")
