"""The side doors, end to end on a real worker: a remix and a reference image carry the likeness of
what went into them, and its owner's consent decides what happens to them."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.cameos import services as cameo_services
from backend.cameos.models import Appearance
from backend.videos.models import Video
from tests.e2e.conftest import bucket_keys
from tests.e2e.test_render_pipeline import wait_for
from tests.factories import CameoFactory, CameoGrantFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

BODY = {"prompt": "a corgi surfing at golden hour", "duration_s": 2, "resolution": "480p"}


def rendered(client, worker, path="/api/v1/renders", **body) -> Video:
    response = client.post(path, {**BODY, **body}, format="multipart", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.json()
    job = wait_for(response.json()["id"], {"succeeded", "failed", "cancelled"}, worker=worker)
    assert job.status == "succeeded", (job.error_code, job.error_message, worker.log()[-3000:])
    return Video.objects.get(id=job.result_video_id)


def published(client, video) -> Video:
    response = client.post(f"/api/v1/videos/{video.id}/publish", {"visibility": "public"}, format="json")
    assert response.status_code == 200, response.json()
    return Video.objects.get(id=video.id)


@pytest.fixture
def scene(start_worker, client_for):
    """Ines's approved-only cameo; Maya, granted, renders and publishes a video with it."""
    worker = start_worker()
    ines, maya = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=ines, audience="approved")
    CameoGrantFactory(cameo=cameo, grantee=maya, status="approved")
    video = published(client_for(maya), rendered(client_for(maya), worker, cameo_ids=[cameo.id]))
    return worker, ines, maya, cameo, video


def test_a_remix_carries_the_cameo_and_its_owner_can_take_it_down(scene, client_for, s3):
    worker, ines, _maya, cameo, video = scene
    leo = UserFactory()
    refused = client_for(leo).post(f"/api/v1/videos/{video.id}/remix", {**BODY, "keep_cameo_ids": []},
                                   format="json", HTTP_IDEMPOTENCY_KEY="drop-it")  # fmt: skip
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "cameo_not_allowed")

    CameoGrantFactory(cameo=cameo, grantee=leo, status="approved")
    remix = rendered(client_for(leo), worker, path=f"/api/v1/videos/{video.id}/remix", prompt="on the moon")
    assert (remix.parent_id, remix.status) == (video.id, "draft")
    assert Appearance.objects.filter(cameo=cameo, video=remix).exists()
    appearances = client_for(ines).get(f"/api/v1/cameos/{cameo.id}/appearances").json()["results"]
    assert {row["video_id"] for row in appearances} == {video.id, remix.id}  # the draft included

    remix = published(client_for(leo), remix)
    assert client_for(UserFactory()).get(f"/api/v1/videos/{remix.id}").status_code == 200
    assert client_for(ines).delete(f"/api/v1/cameos/{cameo.id}/appearances/{remix.id}").status_code in (200, 204)
    assert client_for(UserFactory()).get(f"/api/v1/videos/{remix.id}").status_code == 404
    remix.refresh_from_db()
    assert not remix.media_public  # its files left the public bucket with it
    assert not any(
        key.startswith(f"public/{remix.mp4.rsplit('/', 1)[0]}") for key in bucket_keys(s3, "S3_PUBLIC_BUCKET")
    )


def test_a_poster_used_as_a_reference_carries_the_cameo_and_follows_its_consent(scene, client_for, s3):
    worker, ines, _maya, cameo, video = scene
    poster = s3["client"].get_object(Bucket=s3["env"]["S3_PUBLIC_BUCKET"], Key=f"public/{video.poster}")["Body"].read()

    def upload():
        return SimpleUploadedFile("poster.jpg", poster, content_type="image/jpeg")

    sam = UserFactory()
    refused = client_for(sam).post("/api/v1/renders", {**BODY, "reference_image": upload()}, format="multipart",
                                   HTTP_IDEMPOTENCY_KEY="no-grant")  # fmt: skip
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "cameo_not_allowed")

    grant = CameoGrantFactory(cameo=cameo, grantee=sam, status="approved")
    made = published(client_for(sam), rendered(client_for(sam), worker, reference_image=upload()))
    assert list(made.embedded_sources.values_list("id", flat=True)) == [video.id]
    assert Appearance.objects.filter(cameo=cameo, video=made).exists()
    assert client_for(UserFactory()).get(f"/api/v1/videos/{made.id}").status_code == 200

    cameo_services.grant_revoke(grant=grant, by=ines)
    for viewer in (UserFactory(), sam):
        assert client_for(viewer).get(f"/api/v1/videos/{made.id}").status_code == 404
    appearances = client_for(ines).get(f"/api/v1/cameos/{cameo.id}/appearances").json()["results"]
    assert made.id in {row["video_id"] for row in appearances}  # listed for the likeness's owner to remove
    made.refresh_from_db()
    assert made.withdrawn_reason == "consent" and not made.media_public
