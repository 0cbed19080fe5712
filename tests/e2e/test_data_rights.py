"""Data rights on a real Celery worker (default queue), real PostgreSQL and Redis, and moto's S3: an export's
zip is written to the private bucket and opens through its link; a purged account leaves nothing of its
own in either bucket."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from backend.cameos import services as cameo_services
from backend.core import storage
from backend.creators.models import User
from data_rights import selectors, tasks
from data_rights.models import DataExport
from tests.factories import PASSWORD, UserFactory, VideoFactory
from tests.media_files import png_bytes
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def keys(s3, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in s3["client"].list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_an_export_then_the_purge_on_s3(start_worker, s3, client_for):
    worker = start_worker(queues="default", env={"EMAIL_URL": "consolemail://"})
    user = UserFactory()
    image = SimpleUploadedFile("face.png", png_bytes(), content_type="image/png")
    cameo = cameo_services.cameo_create(owner=user, kind="character", display_name="Rex", reference_image=image)
    mp4 = storage.public().save("videos/job-e2e/video.mp4", ContentFile(b"MP4"))
    post = VideoFactory(owner=user, mp4=mp4)
    client = client_for(user)

    asked = client.post("/api/v1/me/exports")
    assert asked.status_code == 202
    export_id = asked.json()["id"]
    wait_until(lambda: DataExport.objects.get(id=export_id).status == "ready", worker, timeout=120)

    export = DataExport.objects.get(id=export_id)
    assert keys(s3, s3["env"]["S3_BUCKET"], f"private/exports/{user.id}/") == [f"private/{export.file_name}"]
    token = selectors.export_link_token(export=export)
    response = client.get(f"/api/v1/me/exports/{export_id}/download", {"token": token})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert json.loads(archive.read("videos.json"))[0]["id"] == post.id
    assert archive.read(f"videos/{post.id}/video.mp4") == b"MP4"
    assert len(json.loads(archive.read("cameos.json"))[0]["files"]) == 1

    assert client.delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    User.objects.filter(id=user.id).update(deletion_requested_at=timezone.now() - timedelta(days=31))
    tasks.accounts_purge.delay()
    wait_until(lambda: User.objects.get(id=user.id).purged_at is not None, worker, timeout=120)

    assert keys(s3, s3["env"]["S3_BUCKET"], f"private/cameos/{cameo.id}/") == []
    assert keys(s3, s3["env"]["S3_BUCKET"], f"private/exports/{user.id}/") == []
    assert keys(s3, s3["env"]["S3_PUBLIC_BUCKET"], "public/videos/job-e2e/") == []
