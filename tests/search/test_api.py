"""The search, suggest and discover endpoints: who may call them, what they answer, how they page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.creators import services as creator_services
from backend.videos.models import Hashtag
from search import services
from tests.factories import ProtectedLikenessFactory, UserFactory, VideoFactory
from tests.search.conftest import tagged_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer():
    return UserFactory()


@pytest.fixture
def client(client_for, viewer):
    return client_for(viewer)


def error_code(response):
    return response.json()["error"]["code"]


def test_anonymous_callers_are_asked_to_sign_in(api_client):
    for path in ("/api/v1/search?q=cat", "/api/v1/search/suggest?q=cat", "/api/v1/discover"):
        response = api_client.get(path)
        assert response.status_code == 401 and "error" in response.json()


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "   "}, {"q": "\x00\x01"}, {"q": "cat", "type": "people"}, {"q": "x" * 201}]
)
def test_bad_queries_are_400(client, params):
    response = client.get("/api/v1/search", params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]


def test_videos_page_through_with_opaque_cursors(client, viewer):
    made = {VideoFactory(caption=f"pelican number {n}").id for n in range(45)}
    VideoFactory(caption="pelican private", visibility="private")
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(
            "/api/v1/search", {"q": "pelican", "type": "videos", **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"results", "next"}
        seen += [card["id"] for card in body["results"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 45 and set(seen) == made
    card = body["results"][0]
    assert {"id", "owner", "caption", "prompt", "like_count", "liked", "mp4_url"} <= set(card)


def test_a_tampered_or_foreign_cursor_is_400(client):
    for n in range(25):
        UserFactory(handle=f"heron_{n}")
    first = client.get("/api/v1/search", {"q": "heron", "type": "creators"}).json()
    assert len(first["results"]) == 20 and first["next"]
    tampered = client.get("/api/v1/search", {"q": "heron", "type": "creators", "cursor": first["next"][:-2] + "xx"})
    assert (tampered.status_code, error_code(tampered)) == (400, "invalid_cursor")
    other_query = client.get("/api/v1/search", {"q": "hero", "type": "creators", "cursor": first["next"]})
    assert (other_query.status_code, error_code(other_query)) == (400, "invalid_cursor")
    other_type = client.get("/api/v1/search", {"q": "heron", "type": "videos", "cursor": first["next"]})
    assert (other_type.status_code, error_code(other_type)) == (400, "invalid_cursor")
    second = client.get("/api/v1/search", {"q": "heron", "type": "creators", "cursor": first["next"]}).json()
    assert len(second["results"]) == 5 and second["next"] is None


def test_creators_and_hashtags_answer_their_fields(client, viewer):
    UserFactory(handle="ines_x", display_name="Inès")
    tagged_video("inesdance")
    services.hashtag_stats_refresh()
    creators = client.get("/api/v1/search", {"q": "inès", "type": "creators"}).json()["results"]
    assert creators == [{"handle": "ines_x", "display_name": "Inès", "avatar_url": None, "follower_count": 0}]
    tags = client.get("/api/v1/search", {"q": "#ines", "type": "hashtags"}).json()["results"]
    assert tags == [{"name": "inesdance", "is_challenge": False, "title": "", "video_count": 1}]


def test_a_blocked_creator_and_their_videos_are_not_found(client, viewer):
    other = UserFactory(handle="walrus_w")
    VideoFactory(owner=other, caption="walrus song")
    creator_services.block_create(blocker=other, blocked=viewer)
    for kind in ("creators", "videos"):
        assert client.get("/api/v1/search", {"q": "walrus", "type": kind}).json() == {"results": [], "next": None}


def test_suggest_answers_a_handful_of_mixed_results(client):
    UserFactory(handle="otter_o", display_name="Otter")
    tagged_video("otterlife")
    Hashtag.objects.create(name="OtterChallenge", is_challenge=True, title="Otters!")
    services.hashtag_stats_refresh()
    body = client.get("/api/v1/search/suggest", {"q": "ott"}).json()
    assert body["next"] is None
    found = [(item["type"], item["label"]) for item in body["results"]]
    assert found[0] == ("creator", "@otter_o")  # creators first, then hashtags and challenges
    assert sorted(found[1:]) == [("challenge", "#OtterChallenge"), ("hashtag", "#otterlife")]
    assert body["results"][0]["creator"]["handle"] == "otter_o"
    challenge = next(item for item in body["results"] if item["type"] == "challenge")
    assert challenge["hashtag"] == {
        "name": "OtterChallenge",
        "is_challenge": True,
        "title": "Otters!",
        "video_count": 0,
    }


def test_suggest_never_completes_a_protected_name(client):
    ProtectedLikenessFactory(name="Nova Starling")
    UserFactory(handle="novastarling", display_name="Nova Starling")
    assert client.get("/api/v1/search/suggest", {"q": "novast"}).json()["results"] == []
    assert client.get("/api/v1/search/suggest", {"q": "Nova Starling"}).json()["results"] == []


def _queries(client, path, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, params).status_code == 200
    return len(captured.captured_queries)


def test_queries_per_request_do_not_grow_with_results(client, viewer):
    UserFactory(handle="ibis_1")
    tagged_video("ibisfeed", caption="ibis")
    services.hashtag_stats_refresh()
    _queries(client, "/api/v1/search/suggest", {"q": "ibis"})  # the first compiles the protected-name lists
    few = {
        "suggest": _queries(client, "/api/v1/search/suggest", {"q": "ibis"}),
        **{kind: _queries(client, "/api/v1/search", {"q": "ibis", "type": kind}) for kind in ("creators", "videos")},
    }
    for n in range(2, 25):
        UserFactory(handle=f"ibis_{n}")
        tagged_video(f"ibisfeed{n}", caption="ibis", owner=UserFactory())
    services.hashtag_stats_refresh()
    many = {
        "suggest": _queries(client, "/api/v1/search/suggest", {"q": "ibis"}),
        **{kind: _queries(client, "/api/v1/search", {"q": "ibis", "type": kind}) for kind in ("creators", "videos")},
    }
    assert few == many


def test_discover_trending_and_challenge_leaderboards(client, viewer):
    challenge = Hashtag.objects.create(name="PaperPlanes", is_challenge=True, title="Fold one", description="Go")
    top = tagged_video("PaperPlanes", remix_count=7)
    second = tagged_video("PaperPlanes", remix_count=2, like_count=100)
    tagged_video("PaperPlanes", visibility="private", remix_count=99)
    tagged_video("origami", like_count=3)
    services.hashtag_stats_refresh()
    body = client.get("/api/v1/discover").json()
    assert [tag["name"] for tag in body["hashtags"]] == ["origami"]
    [entry] = body["challenges"]
    assert (entry["name"], entry["title"], entry["video_count"]) == ("PaperPlanes", "Fold one", 2)
    assert [card["id"] for card in entry["leaderboard"]] == [top.id, second.id]
    by_likes = client.get("/api/v1/discover/challenges/paperplanes/leaderboard", {"by": "likes"}).json()
    assert [card["id"] for card in by_likes["results"]] == [second.id, top.id] and by_likes["next"] is None
    assert challenge.id


def test_a_leaderboard_of_no_challenge_is_404(client):
    tagged_video("plainhashtag")
    for name in ("plainhashtag", "nosuchthing"):
        response = client.get(f"/api/v1/discover/challenges/{name}/leaderboard")
        assert (response.status_code, error_code(response)) == (404, "not_found")
    bad = client.get("/api/v1/discover/challenges/plainhashtag/leaderboard", {"by": "views"})
    assert bad.status_code == 400
