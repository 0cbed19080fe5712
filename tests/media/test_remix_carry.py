"""A likeness travels with its pixels: remixes and recognised reference images carry the cameos,
characters and visibility limits of what went into them, whatever the request says."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backend.cameos import services as cameo_services
from backend.creators import services as creator_services
from media import fingerprint
from media.models import RenderJob, VideoFingerprint
from tests.factories import (
    AppearanceFactory,
    CameoFactory,
    CameoGrantFactory,
    CharacterFactory,
    UserFactory,
    VideoCharacterFactory,
    VideoFactory,
)

pytestmark = pytest.mark.django_db

BODY = {"prompt": "the same, on the moon", "duration_s": 4}


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Messages the request would send (the worker path is in tests/e2e/test_consent_paths.py)."""
    sent = []
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: sent.append(kwargs))
    return sent


@pytest.fixture
def approved_only():
    """A published video by its creator that shows someone's approved-only cameo, used with a grant."""
    owner, creator = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience="approved")
    CameoGrantFactory(cameo=cameo, grantee=creator, status="approved")
    video = VideoFactory(owner=creator)
    AppearanceFactory(cameo=cameo, video=video)
    return owner, cameo, video


def remix(client, video, body=None, key="remix-1"):
    return client.post(f"/api/v1/videos/{video.id}/remix", body or BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.parametrize("who", ["no_grant", "blocked_by_owner", "former_grantee"])
def test_a_remix_cannot_drop_a_cameo_its_source_shows(who, approved_only, client_for):
    owner, cameo, video = approved_only
    remixer = UserFactory()
    if who == "blocked_by_owner":
        creator_services.block_create(blocker=owner, blocked=remixer)
    if who == "former_grantee":
        grant = CameoGrantFactory(cameo=cameo, grantee=remixer, status="approved")
        cameo_services.grant_revoke(grant=grant, by=owner)
    response = remix(client_for(remixer), video, {**BODY, "keep_cameo_ids": []})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cameo_not_allowed"
    assert response.json()["error"]["details"]["cameo_id"] == cameo.id
    assert not RenderJob.objects.filter(requester=remixer).exists()


def test_a_granted_remix_carries_the_sources_cameos_and_characters(approved_only, client_for):
    _owner, cameo, video = approved_only
    character = CharacterFactory(holder__name="Studio", name="Glimmer")
    VideoCharacterFactory(video=video, character=character)
    remixer = UserFactory()
    CameoGrantFactory(cameo=cameo, grantee=remixer, status="approved")
    response = remix(client_for(remixer), video)
    assert response.status_code == 201, response.json()
    job = RenderJob.objects.get(id=response.json()["id"])
    assert set(job.cameos.values_list("id", flat=True)) == {cameo.id}
    assert set(job.characters.values_list("id", flat=True)) == {character.id}


@pytest.mark.parametrize(("visibility", "status"), [("followers", 403), ("private", 404)])
def test_others_remix_only_public_videos(visibility, status, client_for):
    video = VideoFactory(visibility=visibility)
    follower = UserFactory()
    creator_services.follow_create(follower=follower, followee=video.owner)
    response = remix(client_for(follower), video)
    assert response.status_code == status  # a follower sees a followers-only post, but may not spread it
    assert response.json()["error"]["code"] == ("remix_not_allowed" if status == 403 else "not_found")
    assert remix(client_for(video.owner), video).status_code == 201  # their own: capped at publish


def poster_like(seed: int) -> bytes:
    """A still with structure (a perceptual hash of a flat colour is meaningless)."""
    rng = np.random.default_rng(seed)
    pixels = (rng.random((12, 7, 3)) * 255).astype("uint8")
    image = Image.fromarray(pixels).resize((360, 640), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def fingerprinted(video, still: bytes) -> None:
    with Image.open(io.BytesIO(still)) as image:
        hashes = [fingerprint.image_hash(image.convert("RGB"))]
    VideoFingerprint.objects.create(video=video, frame_hashes=fingerprint.to_signed(hashes))


def render_with_reference(client, still: bytes, key: str):
    upload = SimpleUploadedFile("poster.jpg", still, content_type="image/jpeg")
    return client.post(
        "/api/v1/renders", {**BODY, "reference_image": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_poster_uploaded_as_a_reference_carries_its_videos_cameos(approved_only, client_for):
    _owner, cameo, video = approved_only
    still = poster_like(1)
    fingerprinted(video, still)
    stranger = UserFactory()
    refused = render_with_reference(client_for(stranger), still, "ref-1")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cameo_not_allowed"

    CameoGrantFactory(cameo=cameo, grantee=stranger, status="approved")
    accepted = render_with_reference(client_for(stranger), still, "ref-2")
    assert accepted.status_code == 201
    job = RenderJob.objects.get(id=accepted.json()["id"])
    assert job.reference_video_id == video.id
    assert set(job.cameos.values_list("id", flat=True)) == {cameo.id}


def test_an_unrelated_reference_carries_nothing(approved_only, client_for):
    _, _, video = approved_only
    fingerprinted(video, poster_like(1))
    response = render_with_reference(client_for(UserFactory()), poster_like(2), "ref-3")
    assert response.status_code == 201
    job = RenderJob.objects.get(id=response.json()["id"])
    assert job.reference_video_id is None
    assert not job.cameos.exists()


def test_a_reference_from_someone_elses_hidden_video_is_refused(client_for):
    draft = VideoFactory(status="draft", published_at=None)
    still = poster_like(3)
    fingerprinted(draft, still)
    response = render_with_reference(client_for(UserFactory()), still, "ref-4")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reference_not_allowed"
    assert not RenderJob.objects.exists()
