"""The database router: reads marked lag-tolerant go to a replica, everything else to the primary.

The replica here mirrors the test database over a connection of its own (tests/settings.py): the data
is the same, so each test watches which connection ran a query. tests/core/test_streaming_replica.py
runs the same rules against a real streaming replica that lags.
"""

import contextlib
import logging
import time

import pytest
from django.db import connections, transaction
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext

from backend.core import db_router
from backend.creators.models import User
from backend.creators.selectors import creator_get
from backend.videos.selectors import creator_videos
from feeds import sources
from tests.factories import UserFactory, VideoFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica1"])


@pytest.fixture
def replica(settings):
    settings.DATABASE_REPLICAS = ["replica1"]
    db_router._replica_down_until.clear()
    yield "replica1"
    db_router._replica_down_until.clear()


@contextlib.contextmanager
def queries():
    """The SQL each connection ran inside the block: {"default": [...], "replica1": [...]}."""
    ran: dict[str, list[str]] = {}
    primary, replica = CaptureQueriesContext(connections["default"]), CaptureQueriesContext(connections["replica1"])
    with primary, replica:
        yield ran
    ran["default"] = [query["sql"] for query in primary.captured_queries]
    ran["replica1"] = [query["sql"] for query in replica.captured_queries]


def on(sqls: list[str], table: str) -> int:
    return sum(f'FROM "{table}"' in sql for sql in sqls)


def test_without_replicas_every_read_is_on_the_primary(client_for, settings):
    assert settings.DATABASE_REPLICAS == []
    creator = UserFactory()
    with queries() as ran:
        response = client_for(UserFactory()).get(f"/api/v1/creators/{creator.handle}")
    assert response.status_code == 200
    assert ran["replica1"] == []
    assert on(ran["default"], "creators_user") >= 1


def test_a_public_profile_and_its_videos_are_read_on_the_replica_and_unmarked_reads_on_the_primary(replica, client_for):
    creator = UserFactory()
    VideoFactory(owner=creator, caption="on the replica too")
    viewer = client_for(UserFactory())

    with queries() as ran:
        profile = viewer.get(f"/api/v1/creators/{creator.handle}")
        videos = viewer.get(f"/api/v1/creators/{creator.handle}/videos")
        me = viewer.get("/api/v1/me")

    assert (profile.status_code, videos.status_code, me.status_code) == (200, 200, 200)
    assert profile.json()["video_count"] == 1
    assert [video["caption"] for video in videos.json()["results"]] == ["on the replica too"]
    # The profile (creator_get) and the list (creator_videos, a QuerySet the view paginates later) ran on
    # the replica; authentication and `me`, which nobody marked, on the primary.
    assert on(ran["replica1"], "creators_user") == 2
    assert on(ran["replica1"], "videos_video") >= 1
    assert on(ran["default"], "videos_video") == 0
    assert on(ran["default"], "creators_user") >= 3  # the JWT's user, three times, and `me`


def test_a_viewer_reads_their_own_write_from_the_primary_for_a_few_seconds(replica, client_for, settings):
    settings.DATABASE_READ_YOUR_WRITES_S = 2
    creator, follower, other = UserFactory(), UserFactory(), UserFactory()

    with queries() as ran:
        followed = client_for(follower).post(f"/api/v1/creators/{creator.handle}/follow")
    assert followed.status_code in (200, 201)
    assert ran["replica1"] == []  # a request that writes reads nothing on a replica

    with queries() as ran:
        own = client_for(follower).get(f"/api/v1/creators/{creator.handle}")
        theirs = client_for(other).get(f"/api/v1/creators/{creator.handle}")
    assert own.json()["is_following"] is True
    assert own.json()["follower_count"] == theirs.json()["follower_count"] == 1
    # The follower's read on the primary, the other viewer's on the replica.
    assert on(ran["replica1"], "creators_user") == 1
    assert on(ran["default"], "creators_user") >= 3  # two JWT users and the follower's profile

    time.sleep(2.2)
    with queries() as ran:
        client_for(follower).get(f"/api/v1/creators/{creator.handle}")
    assert on(ran["replica1"], "creators_user") == 1  # the window passed: back on the replica


def test_reads_inside_a_transaction_stay_on_the_primary(replica):
    creator = UserFactory()
    with queries() as ran, transaction.atomic():
        assert creator_get(viewer=None, handle=creator.handle) == creator
        assert list(creator_videos(viewer=None, owner=creator)) == []
    assert ran["replica1"] == []


def test_a_video_page_is_read_on_the_replica_only_when_it_is_someone_elses_public_post(replica, client_for):
    owner, viewer = UserFactory(), UserFactory()
    public = VideoFactory(owner=owner)
    draft = VideoFactory(owner=owner, status="draft", published_at=None)

    with queries() as ran:
        assert client_for(viewer).get(f"/api/v1/videos/{public.id}").status_code == 200
    assert on(ran["replica1"], "videos_video") == 1
    assert on(ran["default"], "videos_video") == 0

    with queries() as ran:
        # The owner's own (a draft a worker just made may not be on the replica yet): from the primary.
        assert client_for(owner).get(f"/api/v1/videos/{public.id}").status_code == 200
        assert client_for(owner).get(f"/api/v1/videos/{draft.id}").status_code == 200
    assert on(ran["default"], "videos_video") >= 2

    with queries() as ran:
        assert client_for(viewer).get(f"/api/v1/videos/{draft.id}").status_code == 404
    # Not on the replica: asked of the primary too before answering 404, and still a 404.
    assert on(ran["replica1"], "videos_video") == 1
    assert on(ran["default"], "videos_video") == 1


def test_feed_sources_read_the_replica_unless_the_viewer_just_wrote(replica):
    viewer, creator = UserFactory(), UserFactory()
    db_router.writes_remember(user_id=creator.id)  # someone else's write changes nothing for the viewer

    with queries() as ran:
        sources.following(viewer.id)
        sources.fresh(viewer.id)
    assert on(ran["replica1"], "videos_video") == 2
    assert ran["default"] == []

    db_router.writes_remember(user_id=viewer.id)
    with queries() as ran:
        sources.following(viewer.id)
    assert ran["replica1"] == []


def test_an_object_read_on_a_replica_is_written_and_read_again_on_the_primary(replica):
    creator = UserFactory(display_name="before")
    with db_router.replica_reads() as alias:
        fetched = User.objects.get(id=creator.id)
    assert alias == "replica1" and fetched._state.db == "replica1"

    with queries() as ran:
        fetched.display_name = "after"
        fetched.save(update_fields=["display_name"])
        fetched.refresh_from_db()
        list(fetched.videos.all())
    assert ran["replica1"] == []
    assert any(sql.startswith('UPDATE "creators_user"') for sql in ran["default"])
    assert User.objects.get(id=creator.id).display_name == "after"


def test_a_replica_that_refuses_connections_sends_its_reads_to_the_primary(replica, client_for, caplog):
    creator = UserFactory()
    replica_connection = connections["replica1"]
    saved = dict(replica_connection.settings_dict)
    replica_connection.close()
    replica_connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        primary = CaptureQueriesContext(connections["default"])  # (capturing the replica would connect it)
        with caplog.at_level(logging.WARNING, logger="backend.core.db_router"), primary:
            first = client_for(UserFactory()).get(f"/api/v1/creators/{creator.handle}")
            second = client_for(UserFactory()).get(f"/api/v1/creators/{creator.handle}")
    finally:
        replica_connection.close()
        replica_connection.settings_dict.clear()
        replica_connection.settings_dict.update(saved)
    assert (first.status_code, second.status_code) == (200, 200)
    assert on([query["sql"] for query in primary.captured_queries], "creators_user") >= 4
    # Tried once, then left alone for DATABASE_REPLICA_RETRY_S.
    assert sum("replica1 unreachable" in record.getMessage() for record in caplog.records) == 1


def test_the_admin_and_requests_that_write_read_only_the_primary(replica, rf):
    def view(request):
        with db_router.replica_reads() as alias:
            return HttpResponse(alias or "primary")

    middleware = db_router.ReadYourWritesMiddleware(view)
    assert middleware(rf.get("/admin/creators/user/")).content == b"primary"
    assert middleware(rf.post("/api/v1/videos/1/like")).content == b"primary"
    assert middleware(rf.get("/api/v1/creators/someone")).content == b"replica1"
