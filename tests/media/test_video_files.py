"""A video's files follow who may see it: private store for drafts and hidden videos, public store for posts
shown to everyone, on the local disk and on S3 (moto's server over HTTP)."""

import errno
import io
import json
import os
import uuid
from types import SimpleNamespace

import pytest
import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backend.core import storage
from backend.core.private_media import media_file_url, private_media_url
from backend.creators import services as creator_services
from backend.videos import events
from backend.videos import services as video_services
from backend.videos.models import Video
from feeds.cards import cards_build
from media import postprocessing, video_files
from tests.e2e.conftest import moto_server, s3  # noqa: F401  (fixtures: S3 as the e2e tests run it)
from tests.factories import PASSWORD, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

# Every kind of file a render leaves: the MP4, the poster, thumbnails and an HLS ladder.
FILES = {
    "video.mp4": b"\x00\x00\x00\x18ftypmp42 an mp4",
    "poster.jpg": b"\xff\xd8\xff a poster",
    "thumbs/0.jpg": b"\xff\xd8\xff thumb 0",
    "thumbs/1.jpg": b"\xff\xd8\xff thumb 1",
    "hls/master.m3u8": b"#EXTM3U\n360p.m3u8\n",
    "hls/360p.m3u8": b"#EXTM3U\n360p_000.ts\n",
    "hls/360p_000.ts": b"G segment",
}


@pytest.fixture(params=["disk", "s3", "s3_one_bucket"])
def stores(request, settings, monkeypatch):
    """The two media stores: folders on the local disk, two S3 buckets, or one bucket with two locations.
    Files move by a rename or a server-side copy there, never through this process."""
    monkeypatch.setattr(video_files, "_copy_streamed", lambda *args, **kwargs: pytest.fail("copied through Python"))
    if request.param == "disk":
        return "disk"
    request.getfixturevalue("s3")
    if request.param == "s3_one_bucket":
        public = settings.STORAGES["public"]
        settings.STORAGES = {
            **settings.STORAGES,
            "public": {**public, "OPTIONS": {**public["OPTIONS"], "bucket_name": settings.S3_BUCKET}},
        }
    return request.param


def draft_with_files(**fields) -> Video:
    """A draft as the render pipeline leaves it: every file under one prefix in the private store
    (``fields`` may change its state, not where its files are)."""
    prefix = f"videos/{uuid.uuid4()}"
    for name, content in FILES.items():
        storage.private().save(f"{prefix}/{name}", ContentFile(content))
    return VideoFactory(
        mp4=f"{prefix}/video.mp4",
        poster=f"{prefix}/poster.jpg",
        thumbnails=[f"{prefix}/thumbs/0.jpg", f"{prefix}/thumbs/1.jpg"],
        hls=f"{prefix}/hls/master.m3u8",
        **{"status": "draft", "published_at": None, **fields, "media_public": False},
    )


def names(video: Video) -> list[str]:
    prefix = video.mp4.rsplit("/", 1)[0]
    return [f"{prefix}/{name}" for name in FILES]


def where(video: Video) -> dict[str, set[str]]:
    """Which of the video's files each store holds."""
    return {
        "private": {name for name in names(video) if storage.private().exists(name)},
        "public": {name for name in names(video) if storage.public().exists(name)},
    }


def assert_files_in(video: Video, store: str) -> None:
    video.refresh_from_db()
    other = "public" if store == "private" else "private"
    assert where(video) == {store: set(names(video)), other: set()}
    assert video.media_public is (store == "public")


def fetch(url: str) -> tuple[int, bytes, str]:
    """GET a media URL the way a client would: through Django on the local disk, from S3 otherwise."""
    if url.startswith(settings.SITE_URL + "/"):
        url = url.removeprefix(settings.SITE_URL)
    if url.startswith("http"):
        response = requests.get(url, timeout=10)
        return response.status_code, response.content, response.headers.get("Content-Type", "")
    response = Client().get(url)
    # Reading a streamed body to its end closes it (closing it again would close the test's DB connection).
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, response.get("Content-Type", "")


def public_url(name: str) -> str:
    return storage.public().url(name)


def test_files_follow_the_video_through_publish_narrow_remove_and_restore(stores, django_capture_on_commit_callbacks):
    # Given a fresh draft
    video = draft_with_files()
    mp4 = video.mp4
    assert_files_in(video, "private")
    assert fetch(public_url(mp4))[0] == 404
    status, body, content_type = fetch(private_media_url(mp4))
    assert (status, body, content_type) == (200, FILES["video.mp4"], "video/mp4")

    # When it is published for everyone, then its files are public
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner, visibility="public")
    assert_files_in(video, "public")
    assert fetch(public_url(mp4))[:2] == (200, FILES["video.mp4"])
    assert fetch(public_url(video.hls.replace("master.m3u8", "360p_000.ts")))[:2] == (200, FILES["hls/360p_000.ts"])

    # When it is narrowed to followers, then the public URL stops answering and a signed link works
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_update(video=video, by=video.owner, visibility="followers")
    assert_files_in(video, "private")
    assert fetch(public_url(mp4))[0] == 404
    assert fetch(private_media_url(mp4))[:2] == (200, FILES["video.mp4"])

    # When it is widened again, then removed by a moderator, then restored
    moderator = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_update(video=video, by=video.owner, visibility="public")
    assert_files_in(video, "public")
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_remove(video=video, by=moderator, reason="spam")
    assert_files_in(video, "private")  # kept, not deleted: a moderator may restore it
    assert fetch(public_url(mp4))[0] == 404
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_restore(video=video, by=moderator, reason="a mistake")
    assert_files_in(video, "public")
    assert fetch(public_url(mp4))[0] == 200


def test_an_account_being_deleted_keeps_nothing_public_and_a_restore_brings_it_back(
    stores, django_capture_on_commit_callbacks
):
    video = draft_with_files()
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner)
    assert_files_in(video, "public")

    with django_capture_on_commit_callbacks(execute=True):
        creator_services.account_deletion_request(user=video.owner, password=PASSWORD)
    assert_files_in(video, "private")

    with django_capture_on_commit_callbacks(execute=True):
        creator_services.account_restore(user=video.owner)
    assert_files_in(video, "public")


def test_a_withdrawn_video_goes_private(stores, django_capture_on_commit_callbacks):
    video = draft_with_files()
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner)
    assert_files_in(video, "public")

    with django_capture_on_commit_callbacks(execute=True):
        video_services.videos_mark_consent_withdrawn(video_ids=[video.id])
    assert_files_in(video, "private")


def test_a_move_that_died_half_way_is_finished_by_the_next_sync(stores):
    # Given a post whose move to the public store stopped after two files, one of them not yet deleted
    video = draft_with_files()
    Video.objects.filter(id=video.id).update(status="published", visibility="public")
    for name in names(video)[:2]:
        with storage.private().open(name, "rb") as handle:
            storage.public().save(name, ContentFile(handle.read()))
    storage.private().delete(names(video)[0])

    video_files.video_files_sync(video_id=video.id)
    video_files.video_files_sync(video_id=video.id)  # and again: nothing left to do

    assert_files_in(video, "public")
    assert fetch(public_url(video.poster))[:2] == (200, FILES["poster.jpg"])


def test_stores_on_different_file_systems_move_by_copy_then_rename(monkeypatch):
    video = draft_with_files(status="published", published_at=timezone.now())
    rename = os.replace

    def across_devices(source, target):
        if ".moving-" not in os.path.basename(source):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        rename(source, target)

    monkeypatch.setattr(video_files.os, "replace", across_devices)
    video_files.video_files_sync(video_id=video.id)

    assert_files_in(video, "public")
    assert storage.public().open(video.mp4).read() == FILES["video.mp4"]


def test_other_stores_stream_the_file_and_replace_a_partial_copy():
    name = "videos/x/poster.jpg"
    storage.private().save(name, ContentFile(FILES["poster.jpg"]))
    storage.public().save(name, ContentFile(b"\xff\xd8"))  # cut short by a crash

    video_files._copy_streamed(name, source=storage.private(), target=storage.public())

    assert storage.public().open(name).read() == FILES["poster.jpg"]


def test_uploads_from_a_render_land_in_the_private_store(tmp_path):
    hls_dir = tmp_path / "hls"
    hls_dir.mkdir()
    (hls_dir / "master.m3u8").write_bytes(FILES["hls/master.m3u8"])
    for name in ("video.mp4", "poster.jpg", "thumb.jpg"):
        (tmp_path / name).write_bytes(b"x")
    job = SimpleNamespace(id=uuid.uuid4())
    outputs = postprocessing.Outputs(
        job_id=str(job.id),
        info=postprocessing.ProbeResult(duration_s=1.0, width=2, height=2, video_codec="h264", audio_codec=None),
        mp4=tmp_path / "video.mp4",
        hls_dir=hls_dir,
        poster=tmp_path / "poster.jpg",
        thumbnails=[tmp_path / "thumb.jpg"],
        fingerprint=[],
    )

    written = postprocessing.publish(job=job, outputs=outputs)

    assert f"videos/{job.id}/video.mp4" in written and f"videos/{job.id}/hls/master.m3u8" in written
    assert all(storage.private().exists(name) and not storage.public().exists(name) for name in written)


def test_the_api_hands_out_signed_links_while_the_files_are_private(client_for, django_capture_on_commit_callbacks):
    video = draft_with_files()
    owner = client_for(video.owner)

    draft = owner.get(f"/api/v1/videos/{video.id}").json()
    assert draft["hls_url"] is None  # a playlist's segments cannot ride on a signed link
    private_link = f"{settings.SITE_URL}/media/private/"
    assert draft["mp4_url"].startswith(private_link) and draft["poster_url"].startswith(private_link)
    status, _, content_type = fetch(draft["poster_url"])
    assert (status, content_type) == (200, "image/jpeg")

    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner)
    post = owner.get(f"/api/v1/videos/{video.id}").json()
    assert post["mp4_url"] == public_url(video.mp4) and post["hls_url"] == public_url(video.hls)
    assert fetch(post["hls_url"])[0] == 200


def test_feed_cards_point_at_the_store_that_holds_the_files(django_capture_on_commit_callbacks):
    video = draft_with_files()
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner, visibility="followers")

    card = json.loads(cards_build([video.id])[video.id].body)
    assert card["hls_url"] is None
    assert fetch(card["mp4_url"])[:2] == (200, FILES["video.mp4"])

    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_update(video=video, by=video.owner, visibility="public")
    card = json.loads(cards_build([video.id])[video.id].body)
    assert (card["hls_url"], card["mp4_url"]) == (public_url(video.hls), public_url(video.mp4))


def test_media_file_url():
    assert media_file_url("", public=True) is None and media_file_url("", public=False) is None
    # Absolute, as the API hands them out: under SITE_URL on the local disk.
    assert media_file_url("videos/x/video.mp4", public=True) == f"{settings.SITE_URL}/media/public/videos/x/video.mp4"
    assert media_file_url("videos/x/video.mp4", public=False).startswith(f"{settings.SITE_URL}/media/private/")


def test_a_failed_move_never_fails_the_change_and_is_retried(monkeypatch, django_capture_on_commit_callbacks):
    # Given a store that refuses every write
    video = draft_with_files()
    monkeypatch.setattr(video_files, "_move", lambda name, **stores: (_ for _ in ()).throw(OSError("disk full")))
    retries = []
    monkeypatch.setattr("media.tasks.video_files_sync_many.delay", lambda **kwargs: retries.append(kwargs))

    # When the video is published, then the publish succeeds, the files stay put and a retry is queued
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner)
    video.refresh_from_db()
    assert (video.status, video.media_public) == ("published", False)
    assert retries == [{"video_ids": [video.id]}]

    # When the store is back, then the repair command moves them
    monkeypatch.undo()
    out = io.StringIO()
    call_command("video_media_sync", "--dry-run", stdout=out)
    assert out.getvalue().startswith("1 video(s)")
    call_command("video_media_sync", stdout=out)
    assert_files_in(video, "public")
    out = io.StringIO()
    call_command("video_media_sync", "--dry-run", stdout=out)
    assert out.getvalue().startswith("0 video(s)")


def test_the_repair_command_moves_existing_drafts_out_of_the_public_store(stores):
    # Given data from before: every video's files public, drafts and removed videos included
    draft = draft_with_files()
    removed = draft_with_files()
    post = draft_with_files()
    Video.objects.filter(id=removed.id).update(status="removed")
    Video.objects.filter(id=post.id).update(status="published")
    for video in (draft, removed, post):
        for name in names(video):
            with storage.private().open(name, "rb") as handle:
                storage.public().save(name, ContentFile(handle.read()))
            storage.private().delete(name)
    Video.objects.filter(id__in=[draft.id, removed.id, post.id]).update(media_public=True)

    call_command("video_media_sync", stdout=io.StringIO())
    call_command("video_media_sync", stdout=io.StringIO())

    assert_files_in(draft, "private")
    assert_files_in(removed, "private")
    assert_files_in(post, "public")


def test_events_for_a_video_that_is_gone_are_harmless():
    events.video_hidden.send(sender=None, video_ids=[10**9])
    video_files.video_files_sync(video_id=10**9)
