"""Every list of the API answers one shape: ``{"results": [...], "next": <opaque cursor or null>}`` (plus totals
of its own), and ``next`` sent back as ``?cursor=`` walks it to the end with no item twice and none missed.

The lists are found, not listed: every GET of the OpenAPI schema whose body holds an array, and every
paginated view of the URL conf. A new list in another shape, or one this module does not walk, fails here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import pytest
from django.urls import get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.mixins import ListModelMixin

from backend.creators import services as creator_services
from backend.videos import services as video_services
from backend.videos.models import Comment
from data_rights.models import DataExport
from notifications import services as notification_services
from notifications.models import Kind
from tests.factories import (
    AppearanceFactory,
    CameoFactory,
    CameoGrantFactory,
    CharacterFactory,
    CommentFactory,
    HashtagFactory,
    RenderJobFactory,
    UserFactory,
    VideoFactory,
    VideoHashtagFactory,
)

pytestmark = pytest.mark.django_db
API = "/api/v1"

# Arrays in a GET body that are not lists, and why: they are never paged.
NOT_LISTS = {
    f"{API}/notifications/preferences": "every kind on every channel: a fixed grid of settings, set whole with PUT",
    f"{API}/videos/{{video_id}}/lineage ancestors": "the path from the root down to the parent, as deep as the tree",
}


# --- Finding the lists ------------------------------------------------------------------------------------


@functools.cache
def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolved(node: dict) -> dict:
    while "$ref" in node:
        node = api_schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def get_bodies() -> dict[str, dict]:
    """The JSON body of every GET of the API, by its path in the schema."""
    bodies = {}
    for path, operations in api_schema()["paths"].items():
        content = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        if "application/json" in content:
            bodies[path] = resolved(content["application/json"]["schema"])
    return bodies


def _array_of_objects(node: dict) -> bool:
    node = resolved(node)
    return node.get("type") == "array" and resolved(node.get("items", {})).get("type") == "object"


def arrays_in(body: dict) -> list[str]:
    """What holds an array of objects in a body: "" for the body itself, else the names of its properties.
    (An array of plain values, a render's ``cameo_ids``, is an attribute, not a list.)"""
    if body.get("type") == "array":
        return [""]
    return [name for name, prop in body.get("properties", {}).items() if _array_of_objects(prop)]


def schema_lists() -> dict[str, dict]:
    return {path: body for path, body in get_bodies().items() if "results" in body.get("properties", {})}


def paginated_routes() -> set[str]:
    """The schema paths of the URL conf's views that paginate with DRF's paginator."""
    routes = set()
    (api,) = [p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/"]
    for pattern in api.url_patterns:
        view = getattr(pattern.callback, "cls", None)
        if view is not None and issubclass(view, ListModelMixin) and view.pagination_class is not None:
            routes.add(f"{API}/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern)))
    return routes


# --- Filling each list --------------------------------------------------------------------------------------


@dataclass
class Listing:
    """A list with more than one page of items in it, as some viewer sees it."""

    viewer: object
    url: str
    expected: list  # the keys of every item the viewer must be shown
    key: object = field(default=lambda item: item["id"])
    params: dict = field(default_factory=dict)
    page: int = 2  # the most items a page holds: ?page_size=2 (a list that ignores it fills more than a page)
    paged: bool = True  # False: a short list served whole (next always null), which takes no cursor


def _followers():
    star = UserFactory()
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        creator_services.follow_create(follower=fan, followee=star)
    return Listing(None, f"{API}/creators/{star.handle}/followers", [f.handle for f in fans],
                   key=lambda item: item["creator"]["handle"])  # fmt: skip


def _following():
    fan, stars = UserFactory(), [UserFactory() for _ in range(3)]
    for star in stars:
        creator_services.follow_create(follower=fan, followee=star)
    return Listing(None, f"{API}/creators/{fan.handle}/following", [s.handle for s in stars],
                   key=lambda item: item["creator"]["handle"])  # fmt: skip


def _creator_videos():
    maker = UserFactory()
    return Listing(None, f"{API}/creators/{maker.handle}/videos", [VideoFactory(owner=maker).id for _ in range(3)])


def _hashtag():
    tag = HashtagFactory(name="skatecat")
    return Listing(None, f"{API}/hashtags/skatecat", [VideoHashtagFactory(hashtag=tag).video_id for _ in range(3)])


def _cameos():
    owner = UserFactory()
    return Listing(owner, f"{API}/cameos", [CameoFactory(owner=owner).id for _ in range(3)])


def _cameos_available():
    return Listing(UserFactory(), f"{API}/cameos/available", [CameoFactory().id for _ in range(3)])


def _grants():
    cameo = CameoFactory(audience="approved")
    grants = [CameoGrantFactory(cameo=cameo).id for _ in range(3)]
    return Listing(cameo.owner, f"{API}/cameos/{cameo.id}/grants", grants)


def _appearances():
    cameo = CameoFactory()
    videos = [AppearanceFactory(cameo=cameo, video=VideoFactory()).video_id for _ in range(3)]
    return Listing(cameo.owner, f"{API}/cameos/{cameo.id}/appearances", videos, key=lambda item: item["video_id"])


def _characters():
    return Listing(None, f"{API}/characters", [CharacterFactory().id for _ in range(3)])


def _exports():
    user = UserFactory()
    exports = [DataExport.objects.create(user=user, status=DataExport.Status.READY).id for _ in range(3)]
    return Listing(user, f"{API}/me/exports", exports)


def _renders():
    user = UserFactory()
    return Listing(user, f"{API}/renders", [str(RenderJobFactory(requester=user).id) for _ in range(3)])


def _comments():
    video = VideoFactory()
    return Listing(None, f"{API}/videos/{video.id}/comments", [CommentFactory(video=video).id for _ in range(3)])


def _remix(parent):
    video = video_services.video_create_draft(owner=UserFactory(), prompt="remix", parent=parent)
    return video_services.video_publish(video=video, by=video.owner)


def _lineage():
    root = VideoFactory()
    return Listing(None, f"{API}/videos/{root.id}/lineage", [_remix(root).id for _ in range(3)])


def _remixes():
    root = VideoFactory()
    child = _remix(root)
    return Listing(None, f"{API}/videos/{root.id}/remixes", [child.id, _remix(root).id, _remix(child).id])


def _notifications():
    recipient = UserFactory()
    items = [
        notification_services.notify(recipient_id=recipient.id, kind=Kind.GRANT_REQUESTED, key=f"grant:{n}",
                                     target_type="grant", target_id=n, deep_link="/cameos/1/grants",
                                     actor_id=UserFactory().id).id
        for n in range(3)
    ]  # fmt: skip
    return Listing(recipient, f"{API}/notifications", items)


def _feed():
    return Listing(UserFactory(), f"{API}/feed", [VideoFactory().id for _ in range(3)])


LISTINGS = {
    f"{API}/creators/{{handle}}/followers": _followers,
    f"{API}/creators/{{handle}}/following": _following,
    f"{API}/creators/{{handle}}/videos": _creator_videos,
    f"{API}/hashtags/{{name}}": _hashtag,
    f"{API}/cameos": _cameos,
    f"{API}/cameos/available": _cameos_available,
    f"{API}/cameos/{{cameo_id}}/grants": _grants,
    f"{API}/cameos/{{cameo_id}}/appearances": _appearances,
    f"{API}/characters": _characters,
    f"{API}/me/exports": _exports,
    f"{API}/renders": _renders,
    f"{API}/videos/{{video_id}}/comments": _comments,
    f"{API}/videos/{{video_id}}/lineage": _lineage,
    f"{API}/videos/{{video_id}}/remixes": _remixes,
    f"{API}/notifications": _notifications,
    f"{API}/feed": _feed,
}
PAGE = 2  # every list pages by ?page_size= but the feed, whose page is FEED_PAGE_SIZE (set to 2 below)


@pytest.fixture
def listing_client(api_client, client_for, settings, monkeypatch):
    settings.FEED_PAGE_SIZE = PAGE
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: None)
    monkeypatch.setattr("feeds.tasks.video_fanout.delay", lambda **kwargs: None)
    return lambda viewer: client_for(viewer) if viewer is not None else api_client


# --- The shape, in the schema -------------------------------------------------------------------------------


def test_every_array_in_a_get_body_is_a_page_of_a_list():
    for path, body in get_bodies().items():
        for name in arrays_in(body):
            if name == "results" or f"{path} {name}".strip() in NOT_LISTS:
                continue
            raise AssertionError(f"GET {path}: {name or 'the body'} is an array: page it as results/next")


@pytest.mark.parametrize("path", sorted(schema_lists()))
def test_the_schema_of_every_list_says_results_and_next(path):
    body = schema_lists()[path]
    assert {"results", "next"} <= set(body.get("required", []))
    assert resolved(body["properties"]["results"])["type"] == "array"
    assert body["properties"]["next"]["type"] == "string" and body["properties"]["next"]["nullable"] is True
    assert body["properties"]["next"].get("format") != "uri"


def test_every_list_of_the_api_is_walked_here():
    assert set(schema_lists()) | paginated_routes() == set(LISTINGS)


# --- The shape, served ----------------------------------------------------------------------------------------


def _declared_keys(path: str) -> set[str]:
    return set(schema_lists()[path]["properties"])


@pytest.mark.parametrize("path", sorted(LISTINGS))
def test_next_walks_the_whole_list_once(path, listing_client):
    listing = LISTINGS[path]()
    client = listing_client(listing.viewer)
    params = {**listing.params, "page_size": PAGE}
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(listing.url, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == _declared_keys(path)
        assert len(body["results"]) <= listing.page
        seen += [listing.key(item) for item in body["results"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and "/" not in cursor  # a token, not a URL
        assert pages < 10
    assert pages >= 2 if listing.paged else pages == 1
    assert len(seen) == len(set(seen)), f"an item came twice: {seen}"
    assert sorted(seen) == sorted(listing.expected)


@pytest.mark.parametrize("path", sorted(LISTINGS))
def test_a_tampered_or_made_up_cursor_is_invalid(path, listing_client):
    listing = LISTINGS[path]()
    if not listing.paged:
        pytest.skip("served whole: takes no cursor")
    client = listing_client(listing.viewer)
    params = {**listing.params, "page_size": PAGE}
    real = client.get(listing.url, params).json()["next"]
    tail = "abcd" if real[-4:] != "abcd" else "efgh"
    for cursor in (real[:-4] + tail, "bz0yMCZwPTIwMjY=", "x" * 3000):
        response = client.get(listing.url, {**params, "cursor": cursor})
        assert response.status_code == 400, (cursor, response.content)
        assert response.json()["error"]["code"] == "invalid_cursor"


class TestCursorsBelongToTheirList:
    def test_a_cursor_of_another_list_is_invalid(self, api_client):
        one, other = _creator_videos(), _creator_videos()
        cursor = api_client.get(one.url, {"page_size": PAGE}).json()["next"]
        response = api_client.get(other.url, {"page_size": PAGE, "cursor": cursor})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor")

    def test_a_cursor_of_another_order_is_invalid(self, api_client):
        listing = _hashtag()
        cursor = api_client.get(listing.url, {"page_size": PAGE, "order": "likes"}).json()["next"]
        response = api_client.get(listing.url, {"page_size": PAGE, "cursor": cursor})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor")
        same_order = api_client.get(listing.url, {"page_size": PAGE, "order": "likes", "cursor": cursor})
        assert same_order.status_code == 200

    def test_a_lineage_cursor_does_not_page_the_subtree(self, api_client):
        listing = _lineage()
        cursor = api_client.get(listing.url, {"page_size": PAGE}).json()["next"]
        response = api_client.get(listing.url.replace("/lineage", "/remixes"), {"cursor": cursor})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor")


def test_rows_created_at_one_instant_are_each_served_once(api_client):
    """The cursor holds a position and an offset into rows that share it (bulk inserts, one timestamp)."""
    video = VideoFactory()
    comments = [CommentFactory(video=video).id for _ in range(7)]
    Comment.objects.filter(id__in=comments).update(created_at=timezone.now())
    seen, cursor = [], None
    while True:
        body = api_client.get(
            f"{API}/videos/{video.id}/comments", {"page_size": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [comment["id"] for comment in body["results"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == sorted(comments, reverse=True)  # newest first, ties by id


@pytest.mark.parametrize("make", [_comments, _remixes, _notifications])
def test_page_size_means_the_same_everywhere(make, listing_client):
    listing = make()
    client = listing_client(listing.viewer)
    assert len(client.get(listing.url, {"page_size": 1}).json()["results"]) == 1
    for unusable in ("0", "-3", "many"):  # the default page (20) holds all three
        assert len(client.get(listing.url, {"page_size": unusable}).json()["results"]) == 3
