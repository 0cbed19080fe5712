"""Feed steering in the viewer's language (issue 22): markers of every language of ours, Snowball stems in
the viewer's language, CJK topics found in a text without spaces."""

import pytest

from feeds import services, steering
from feeds.models import FeedPreference
from feeds.ranking import Steering
from tests.factories import UserFactory, VideoFactory
from tests.feeds.test_api import all_pages
from tests.feeds.test_ranking import NOW, WEIGHTS, ids, rank, video


@pytest.mark.parametrize(
    ("text", "more", "less"),
    [
        ("more cooking and dogs, no horror; less sports please", ["cooking", "dogs"], ["horror", "sports"]),
        ("más cocina y perros, nada de terror; menos deportes", ["cocina", "perros"], ["deportes", "terror"]),
        ("料理をもっと、ホラーはなし", ["料理"], ["ホラー"]),
        ("もっと猫の動画、スポーツはいらない", ["猫"], ["スポーツ"]),
        ("多一点烹饪，不要恐怖片", ["烹饪"], ["恐怖片"]),  # noqa: RUF001  (the fullwidth comma Chinese writes)
        ("多看貓和狗，別看恐怖片", ["狗", "貓"], ["恐怖片"]),  # noqa: RUF001
        ("요리 더, 공포 없이", ["요리"], ["공포"]),
        ("요리를 더 많이, 공포는 싫어", ["요리"], ["공포"]),
        ("nothing in particular", [], []),
    ],
)
def test_the_markers_of_every_language_are_read(text, more, less):
    assert steering.parse(text) == (more, less)


def test_words_are_stemmed_in_the_viewer_language():
    cooks = video(1, text="cocinar pasta en la luna")
    plain = video(2, text="un paseo por el parque")
    # Spanish stems: "cocina" and "cocinar" are one word; English stems keep them apart.
    spanish = Steering.from_words(more={"cocina"}, language="es")
    english = Steering.from_words(more={"cocina"}, language="en")
    assert ids(rank([plain, cooks], now=NOW, weights=WEIGHTS, steering=spanish)) == [1, 2]
    assert ids(rank([plain, cooks], now=NOW, weights=WEIGHTS, steering=english)) == [2, 1]
    assert steering.topic_keys(["perros", "cocinas"], language="es") == {"perr", "cocin"}


def test_cjk_topics_are_found_in_text_without_spaces():
    cooking = video(1, text="簡単な料理動画")
    horror = video(2, text="ホラー映画の予告編")
    plain = video(3, text="公園の散歩")
    japanese = Steering.from_words(more={"料理"}, less={"ホラー"}, language="ja")
    assert ids(rank([horror, plain, cooking], now=NOW, weights=WEIGHTS, steering=japanese)) == [1, 3, 2]
    korean = Steering.from_words(more={"요리"}, language="ko")
    assert ids(rank([video(4, text="맛있는 요리 영상"), video(5, text="산책")], now=NOW, weights=WEIGHTS,
                    steering=korean)) == [4, 5]  # fmt: skip
    assert steering.topic_keys(["料理", "Cats"], language="ja") == {"料理", "cat"}  # Latin words still stemmed


@pytest.mark.django_db
def test_the_preference_keeps_the_language_it_was_written_in():
    user = UserFactory(language="es")
    assert services.preferences_set(user=user, text="más cocina").language == "es"  # the profile's
    assert services.preferences_set(user=user, text="more cats", language="en-US").language == "en"
    assert services.steering_for(user.id) == Steering.from_words(more={"cats"}, language="en")


@pytest.mark.django_db
def test_steering_in_japanese_shifts_the_feed(client_for, settings):
    settings.FEED_SHARED_FIRST_PAGE = False  # a shared first page knows nobody's preferences
    viewer = UserFactory()
    client = client_for(viewer)
    horror = VideoFactory(prompt="暗い地下室のホラー映画", like_count=50, impression_count=100)
    cooking = VideoFactory(prompt="月面でパスタの料理")

    put = client.put("/api/v1/feed/preferences", {"text": "料理をもっと、ホラーはなし"}, format="json",
                     HTTP_ACCEPT_LANGUAGE="ja")  # fmt: skip

    assert put.status_code == 200, put.content
    assert (put.data["more_topics"], put.data["less_topics"], put.data["language"]) == (["料理"], ["ホラー"], "ja")
    assert FeedPreference.objects.get(user=viewer).language == "ja"
    assert all_pages(client) == [cooking.id, horror.id]
