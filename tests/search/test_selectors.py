"""What search finds, in which order, and for whom."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from backend.creators import services as creator_services
from backend.creators.models import User
from backend.videos.models import Hashtag, Video
from search import selectors, services
from search.models import VideoDocument
from tests.factories import (
    AppearanceFactory,
    BlockedTermFactory,
    ProtectedLikenessFactory,
    UserFactory,
    VideoFactory,
)
from tests.search.conftest import tagged_video
from tests.videos.viewers import CASES, VIEWERS, make_viewer, video_in

pytestmark = pytest.mark.django_db


def creators(query, viewer=None):
    return [user.handle for user in selectors.creators_search(viewer=viewer, query=query, offset=0, limit=20)]


def videos(query, viewer=None, as_of=None):
    found = selectors.videos_search(viewer=viewer, query=query, as_of=as_of or timezone.now(), offset=0, limit=50)
    return [video.id for video in found]


def page(kind, query, viewer=None):
    return selectors.search_page(viewer=viewer, kind=kind, query=query, as_of=timezone.now(), offset=0, limit=20)


def suggested(query, viewer=None):
    found = selectors.suggest(viewer=viewer, query=query)
    return [(s.kind, getattr(s.item, "handle", None) or s.item.name) for s in found]


# --- Creators -------------------------------------------------------------------------


def test_creators_by_handle_prefix_exact_first_then_display_name():
    UserFactory(handle="mayapapaya", display_name="Papaya")
    UserFactory(handle="maya", display_name="Maya")
    UserFactory(handle="chef_x", display_name="Maya Lopez")
    UserFactory(handle="bob", display_name="Bob")
    assert creators("maya") == ["maya", "mayapapaya", "chef_x"]
    assert creators("@MAYA")[0] == "maya"


def test_creators_with_a_typo():
    UserFactory(handle="maya", display_name="Maya")
    UserFactory(handle="zed", display_name="Zed")
    UserFactory(handle="jo_99", display_name="Jonathan Pryce")
    assert creators("mya") == ["maya"]
    assert creators("jonathn") == ["jo_99"]  # a letter left out of the display name


def test_a_first_letter_in_common_is_no_likeness():
    UserFactory(handle="mika_r", display_name="Mika R")
    UserFactory(handle="marco_p", display_name="Marco Polo")
    assert creators("mik") == ["mika_r"]
    assert creators("mko") == []  # "m" alone in common with both


def test_creators_accents_either_way():
    UserFactory(handle="ines_b", display_name="Inès Bérénice")
    UserFactory(handle="zoe", display_name="Zoë")
    assert creators("ines") == ["ines_b"]
    assert creators("INÈS") == ["ines_b"]
    assert creators("berenice") == ["ines_b"]  # a word of the display name
    assert creators("zoe") == ["zoe"]


def test_creators_in_scripts_without_spaces():
    UserFactory(handle="neko_lover", display_name="猫咪爱好者")
    UserFactory(handle="dog_lover", display_name="狗狗爱好者")
    assert creators("猫咪爱好") == ["neko_lover"]


def test_creators_more_followers_first_among_equals():
    quiet = UserFactory(handle="lee_quiet")
    UserFactory(handle="lee_loud", follower_count=5000)
    assert creators("lee") == ["lee_loud", quiet.handle]


def test_no_suspended_deleted_purged_or_blocked_creators():
    viewer = UserFactory()
    UserFactory(handle="kai_ok")
    UserFactory(handle="kai_suspended", suspended_until=timezone.now() + timedelta(days=3))
    UserFactory(handle="kai_was_suspended", suspended_until=timezone.now() - timedelta(days=1))
    UserFactory(handle="kai_deleted", is_active=False)
    UserFactory(handle="kai_purged", purged_at=timezone.now())
    blocked_by_viewer = UserFactory(handle="kai_blocked")
    blocks_viewer = UserFactory(handle="kai_blocker")
    creator_services.block_create(blocker=viewer, blocked=blocked_by_viewer)
    creator_services.block_create(blocker=blocks_viewer, blocked=viewer)
    assert sorted(creators("kai", viewer)) == ["kai_ok", "kai_was_suspended"]
    assert sorted(creators("kai")) == ["kai_blocked", "kai_blocker", "kai_ok", "kai_was_suspended"]


# --- Videos ---------------------------------------------------------------------------


def test_videos_by_caption_hashtag_and_shown_prompt_only():
    by_caption = VideoFactory(caption="sunset over the harbour", prompt="x")
    by_hashtag = tagged_video("harbourlife", prompt="y")
    by_prompt = VideoFactory(caption="", prompt="a harbour at night, neon")
    hidden_prompt = VideoFactory(caption="", prompt="harbour secret", prompt_hidden=True)
    VideoFactory(caption="mountains", prompt="snow")
    assert set(videos("harbour")) == {by_caption.id, by_hashtag.id, by_prompt.id}
    assert videos("secret") == [] and videos("secret", viewer=hidden_prompt.owner) == []
    assert videos("harbourl") == [by_hashtag.id]  # the last word as a prefix: type-ahead
    assert videos("neon harbour") == [by_prompt.id]  # every word


def test_videos_accents_and_case_either_way():
    video = VideoFactory(caption="Crème BRÛLÉE at the Café")
    assert videos("creme brulee") == [video.id]
    assert videos("CAFÉ") == [video.id]


def test_videos_in_chinese_japanese_korean_and_thai():
    cat = VideoFactory(caption="我的猫咪在跳舞")
    sushi = VideoFactory(caption="", prompt="ねこがすしをたべる")
    korean = VideoFactory(caption="고양이가 춤을 춘다")
    thai = VideoFactory(caption="แมวเต้นรำ")
    assert videos("猫咪") == [cat.id]
    assert videos("跳舞") == [cat.id]
    assert videos("猫") == [cat.id]
    assert videos("猫跳") == []  # not in the text as typed
    assert videos("すし") == [sushi.id]
    assert videos("고양이") == [korean.id]
    assert videos("เต้น") == [thai.id]


def test_relevance_caption_before_prompt_at_equal_engagement():
    in_prompt = VideoFactory(caption="weekend", prompt="a corgi surfing")
    in_caption = VideoFactory(caption="corgi surfing", prompt="a weekend")
    assert videos("corgi") == [in_caption.id, in_prompt.id]


def test_relevance_blends_likes_and_recency():
    now = timezone.now()
    old_popular = VideoFactory(caption="latte art", like_count=5000, published_at=now - timedelta(days=30))
    new_quiet = VideoFactory(caption="latte art", like_count=0, published_at=now)
    new_liked = VideoFactory(caption="latte art", like_count=50, published_at=now)
    stale_quiet = VideoFactory(caption="latte art", like_count=0, published_at=now - timedelta(days=365))
    # 50 likes today outrank 5,000 a month ago; a month-old hit outranks a new post nobody liked.
    assert videos("latte", as_of=now) == [new_liked.id, old_popular.id, new_quiet.id, stale_quiet.id]


@pytest.mark.parametrize(("state", "allowed"), CASES)
@pytest.mark.parametrize("kind", VIEWERS)
def test_videos_found_only_by_who_may_see_them(state, allowed, kind):
    video = video_in(*state)
    video.caption = "quokka parade"
    video.save(update_fields=["caption"])
    viewer = make_viewer(kind, video)
    # Search lists posts: a draft is opened by its owner and cameo owners, never found.
    findable = allowed if state[0] == "published" else set()
    assert (videos("quokka", viewer) == [video.id]) == (kind in findable)


# Where the posts lie: among the recent ones, the newer ring, or the oldest (each read by a query of its own).
RINGS = {
    "recent": {"recent": 100, "newer": 100},
    "newer": {"recent": 1, "newer": 100},
    "older": {"recent": 1, "newer": 1},
}


@pytest.mark.parametrize("ring", RINGS)
def test_videos_hidden_by_teen_withdrawal_suspension_and_blocks(ring):
    adult, teen = UserFactory(), UserFactory(birth_date=timezone.now().date().replace(year=timezone.now().year - 15))
    safe = VideoFactory(caption="axolotl one")
    restricted = VideoFactory(caption="axolotl two", safe_for_teens=False)
    withdrawn = VideoFactory(caption="axolotl three", withdrawn_at=timezone.now(), withdrawn_reason="consent")
    VideoFactory(caption="axolotl four", owner__suspended_until=timezone.now() + timedelta(days=1))
    VideoFactory(caption="axolotl five", owner__is_active=False)
    blocked = VideoFactory(caption="axolotl six")
    blocker = VideoFactory(caption="axolotl seven")
    creator_services.block_create(blocker=adult, blocked=blocked.owner)
    creator_services.block_create(blocker=blocker.owner, blocked=adult)
    VideoFactory(caption="walrus")  # the newest post
    services.recent_documents_refresh(**RINGS[ring])
    assert set(videos("axolotl", adult)) == {safe.id, restricted.id}
    assert set(videos("axolotl", teen)) == {safe.id, blocked.id, blocker.id}
    # The owner of a cameo in a withdrawn video finds it among their appearances, not in search.
    star = AppearanceFactory(video=withdrawn).cameo.owner
    assert withdrawn.id not in videos("axolotl", star)


# --- Hashtags and challenges ----------------------------------------------------------


def test_hashtags_by_prefix_with_counts_of_public_posts():
    for _ in range(3):
        tagged_video("catsofremix")
    tagged_video("catsofremix", visibility="private")
    tagged_video("catnap")
    tagged_video("catwalk_secret", visibility="private")  # only on a private post: not found
    tagged_video("dogs")
    services.hashtag_stats_refresh()
    found = page("hashtags", "#cat")
    assert [(tag.name, tag.video_count) for tag in found] == [("catsofremix", 3), ("catnap", 1)]


def test_challenges_are_found_apart_from_hashtags():
    Hashtag.objects.create(name="SkyRemix", is_challenge=True, title="Remix the sky")
    tagged_video("skyline")
    services.hashtag_stats_refresh()
    assert [tag.name for tag in page("challenges", "sky")] == ["SkyRemix"]
    assert [tag.name for tag in page("hashtags", "sky")] == ["skyline"]


def test_hashtag_with_a_typo():
    tagged_video("photography")
    services.hashtag_stats_refresh()
    assert [tag.name for tag in page("hashtags", "photgraphy")] == ["photography"]


# --- Protected names and blocked terms ------------------------------------------------


def test_a_query_naming_a_protected_person_or_blocked_term_finds_nothing():
    UserFactory(handle="nova_fan", display_name="Nova fan club")
    VideoFactory(caption="nova starling dance")  # written before the name was protected
    ProtectedLikenessFactory(name="Nova Starling")
    BlockedTermFactory(term="gorefest")
    VideoFactory(caption="gorefest tonight")
    for kind in selectors.KINDS:
        assert page(kind, "Nova Starling") == []
        assert page(kind, "n0va starl1ng") == []  # any form the name guard reads
        assert page(kind, "gorefest") == []
    assert selectors.suggest(viewer=None, query="Nova Starling") == []


def test_no_suggestion_completes_a_protected_name():
    ProtectedLikenessFactory(name="Nova Starling")
    UserFactory(handle="nova_starling_real", display_name="Nova Starling")
    UserFactory(handle="nova_baker", display_name="Nova the baker")
    tagged_video("NovaStarlingFan")
    tagged_video("novabakes")
    services.hashtag_stats_refresh()
    assert suggested("nova") == [("creator", "nova_baker"), ("hashtag", "novabakes")]
    # The videos naming the person are not listed either, whatever word finds them.
    assert page("videos", "fan") == []


# --- Suggest --------------------------------------------------------------------------


def test_suggest_mixes_creators_hashtags_and_challenges():
    UserFactory(handle="skater_sam")
    tagged_video("skatepark")
    Hashtag.objects.create(name="SkateChallenge", is_challenge=True)
    services.hashtag_stats_refresh()
    found = suggested("ska")
    assert ("creator", "skater_sam") in found
    assert ("hashtag", "skatepark") in found
    assert ("challenge", "SkateChallenge") in found


# --- Discovery ------------------------------------------------------------------------


def test_trending_hashtags_by_recent_engagement():
    now = timezone.now()
    for _ in range(3):
        tagged_video("oldnews", published_at=now - timedelta(days=30))
    tagged_video("busy", like_count=10)
    tagged_video("busy")
    tagged_video("quiet")
    tagged_video("hidden", visibility="private")
    services.hashtag_stats_refresh()
    assert [tag.name for tag in selectors.trending_hashtags(challenges=False)] == ["busy", "quiet"]


def test_challenge_leaderboard_by_remixes_then_likes_as_the_viewer_may_see():
    challenge = Hashtag.objects.create(name="DanceOff", is_challenge=True)
    most_remixed = tagged_video("DanceOff", remix_count=9, like_count=1)
    most_liked = tagged_video("DanceOff", remix_count=1, like_count=90)
    tie = tagged_video("DanceOff", remix_count=1, like_count=5)
    private = tagged_video("DanceOff", remix_count=50, visibility="private")
    viewer = UserFactory()
    by_remixes = selectors.challenge_entries(viewer=viewer, hashtag=challenge, by="remixes")
    assert list(by_remixes) == [most_remixed, most_liked, tie]
    by_likes = selectors.challenge_entries(viewer=viewer, hashtag=challenge, by="likes")
    assert list(by_likes) == [most_liked, tie, most_remixed]
    previews = selectors.leaderboard_previews(viewer=private.owner, hashtags=[challenge])
    assert previews[challenge.id] == [private, most_remixed, most_liked]


def test_stats_refresh_is_idempotent():
    tagged_video("again")
    assert services.hashtag_stats_refresh() == services.hashtag_stats_refresh()
    assert Hashtag.objects.get(name="again").stats.video_count == 1


def test_the_stored_document_follows_every_change_of_its_video():
    video = VideoFactory(caption="first words", prompt="a lighthouse")
    assert videos("first") == [video.id] and videos("lighthouse") == [video.id]
    Video.objects.filter(id=video.id).update(caption="second words")  # any path, bulk SQL included
    assert videos("first") == [] and videos("second") == [video.id]
    Video.objects.filter(id=video.id).update(prompt_hidden=True)
    assert videos("lighthouse") == []
    Video.objects.filter(id=video.id).delete()
    assert not VideoDocument.objects.filter(video_id=video.id).exists()


def test_the_stored_document_follows_the_state_of_its_video_and_owner():
    staff = UserFactory(is_staff=True)
    video = VideoFactory(caption="gannet dive")
    document = lambda: VideoDocument.objects.get(video_id=video.id)  # noqa: E731
    assert document().listed and document().visibility == "public" and document().owner_active
    Video.objects.filter(id=video.id).update(like_count=7, remix_count=2, visibility="followers")
    assert (document().like_count, document().remix_count, document().visibility) == (7, 2, "followers")
    Video.objects.filter(id=video.id).update(withdrawn_at=timezone.now())
    assert not document().listed
    Video.objects.filter(id=video.id).update(withdrawn_at=None, visibility="public")
    assert videos("gannet") == [video.id]
    creator_services.account_suspend(user=video.owner, by=staff, reason="spam", days=3)
    assert document().owner_suspended_until is not None
    assert videos("gannet") == []  # neither by the copy nor by the rule
    User.objects.filter(id=video.owner_id).update(suspended_until=None, is_active=False)
    assert not document().owner_active and videos("gannet") == []
    User.objects.filter(id=video.owner_id).update(is_active=True)
    assert videos("gannet") == [video.id]


def test_wider_rings_of_posts_are_searched_for_words_rare_among_the_narrower_ones(monkeypatch):
    oldest = VideoFactory(caption="walrus one")
    old = [VideoFactory(caption=f"walrus {word}") for word in ("two", "three")]
    newest = VideoFactory(caption="walrus four")
    assert services.recent_documents_refresh(recent=1, newer=3) == 3 + 1  # the newest stays recent, 3 newer
    assert services.recent_documents_refresh(recent=1, newer=3) == 0  # idempotent
    documents = VideoDocument.objects.order_by("video_id")
    assert list(documents.filter(recent=True).values_list("video_id", flat=True)) == [newest.id]
    assert list(documents.filter(newer=True).values_list("video_id", flat=True)) == [*(v.id for v in old), newest.id]
    # One recent match of "walrus" is fewer than RARE_MATCHES: the newer posts are read, then the oldest too.
    assert set(videos("walrus")) == {newest.id, oldest.id, *(video.id for video in old)}
    assert videos("three") == [old[1].id]
    assert videos("one") == [oldest.id]
    # Enough recent matches: the newest posts are the candidates.
    monkeypatch.setattr(selectors, "RARE_MATCHES", 1)
    assert videos("walrus") == [newest.id]
    # Enough among the recent and newer ones together: the oldest post is not read.
    monkeypatch.setattr(selectors, "RARE_MATCHES", 3)
    assert set(videos("walrus")) == {newest.id, *(video.id for video in old)}
    # A new post is recent and newer from the start; larger settings make the older ones so again.
    later = VideoFactory(caption="walrus five")
    assert VideoDocument.objects.filter(video_id=later.id, recent=True, newer=True).exists()
    services.recent_documents_refresh(recent=10, newer=10)
    assert not VideoDocument.objects.filter(Q(recent=False) | Q(newer=False)).exists()


def test_a_renamed_hashtag_is_found_by_its_new_name():
    tagged_video("puffinparade")
    services.hashtag_stats_refresh()
    Hashtag.objects.filter(name="puffinparade").update(name="KittiwakeSoirée")
    assert [tag.name for tag in page("hashtags", "kittiwakesoiree")] == ["KittiwakeSoirée"]
    assert page("hashtags", "puffinpar") == []
