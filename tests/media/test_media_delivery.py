"""Public media plays from S3 at plain, stable URLs (moto's server over HTTP, with the README's bucket policy):
a published video's HLS stream is fetched without credentials and played end to end by PyAV; private media
stays behind signed links."""

from urllib.parse import urljoin, urlsplit

import av
import pytest
import requests

# The URLconf adds the local disk's media routes only without S3_BUCKET: load it before a test here sets
# S3_BUCKET, so tests of the local disk that run later in the session still find those routes.
import backend.urls  # noqa: F401
from backend.settings import s3_public_url_options
from backend.videos import services as video_services
from media import postprocessing
from tests.e2e.conftest import moto_server, s3  # noqa: F401  (fixtures: S3 as the e2e tests run it)
from tests.factories import RenderJobFactory, VideoFactory
from tests.media_files import make_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(s3, tmp_path):  # noqa: F811
    """A draft as the render pipeline leaves it: a real render post-processed by ``media.postprocessing``
    (the MP4, its HLS ladder, the stills), its files in the private store."""
    job = RenderJobFactory()
    original = make_clip(tmp_path / "original.mp4", seconds=3)
    (tmp_path / "work").mkdir()
    outputs = postprocessing.process(job=job, original=original, workdir=tmp_path / "work")
    postprocessing.publish(job=job, outputs=outputs)
    prefix = postprocessing.public_prefix(job.id)
    return VideoFactory(
        owner=job.requester,
        mp4=f"{prefix}/video.mp4",
        poster=f"{prefix}/poster.jpg",
        hls=f"{prefix}/hls/master.m3u8",
        status="draft",
        published_at=None,
        media_public=False,
    )


def playlist_entries(url: str) -> list[str]:
    """GET a playlist with no credentials; the absolute URLs it names."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, (url, response.status_code)
    return [urljoin(url, line) for line in response.text.splitlines() if line and not line.startswith("#")]


def test_a_published_video_plays_over_plain_http(s3, draft, client_for, django_capture_on_commit_callbacks):  # noqa: F811
    # Given a published video
    video = draft
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner)
    body = client_for(video.owner).get(f"/api/v1/videos/{video.id}").json()

    # Then its URLs are absolute, unsigned and stable (the same on every request: cacheable)
    master = body["hls_url"]
    assert master.startswith(f"{s3['env']['S3_ENDPOINT_URL']}/") and not urlsplit(master).query
    assert client_for(video.owner).get(f"/api/v1/videos/{video.id}").json()["hls_url"] == master
    assert not urlsplit(body["mp4_url"]).query and not urlsplit(body["poster_url"]).query

    # And the master playlist, a variant playlist and a segment answer a plain GET
    variant = playlist_entries(master)[0]
    segment = playlist_entries(variant)[0]
    response = requests.get(segment, timeout=10)
    assert response.status_code == 200 and response.content
    assert requests.get(body["mp4_url"], timeout=10).headers["Cache-Control"].startswith("public, max-age=")

    # And a player (FFmpeg's HLS demuxer, through PyAV) plays the stream end to end
    with av.open(master, options={"protocol_whitelist": "http,tcp,file,crypto"}) as container:
        frames = [frame for frame in container.decode(video=0)]
    assert len(frames) >= 3 * 24 - 2
    assert (frames[0].width, frames[0].height) == (320, 240)


def test_private_media_stays_signed(draft, client_for):
    video = draft
    body = client_for(video.owner).get(f"/api/v1/videos/{video.id}").json()
    signed = body["mp4_url"]
    assert "Signature=" in urlsplit(signed).query
    assert requests.get(signed, timeout=10).status_code == 200
    unsigned = signed.split("?", 1)[0]
    assert requests.get(unsigned, timeout=10).status_code == 403  # the bucket policy covers public/ only


def test_media_public_base_url_builds_the_public_urls(settings, draft, client_for, django_capture_on_commit_callbacks):
    # Given a CDN origin in front of the public bucket (here: the bucket itself, path style)
    public = settings.STORAGES["public"]
    base = f"{public['OPTIONS']['endpoint_url']}/{public['OPTIONS']['bucket_name']}"
    options = {**public["OPTIONS"], **s3_public_url_options(base, cache_seconds=60)}
    settings.STORAGES = {**settings.STORAGES, "public": {**public, "OPTIONS": options}}
    video = draft
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_publish(video=video, by=video.owner)

    master = client_for(video.owner).get(f"/api/v1/videos/{video.id}").json()["hls_url"]
    assert master == f"{base}/public/{video.hls}"
    assert playlist_entries(playlist_entries(master)[0])
