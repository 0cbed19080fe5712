"""A deleted cameo's media leaves storage: at once when its deletion commits, and whatever is left (a
failed delete, an upload that landed late) by beat once CAMEO_PURGE_DAYS have passed; on disk and on S3."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from backend.cameos import services as cameo_services
from backend.cameos.models import Cameo
from backend.core import storage
from data_rights import tasks
from tests.data_rights.conftest import stored
from tests.factories import UserFactory
from tests.media_files import png_bytes

pytestmark = pytest.mark.django_db


def cameo_files(cameo) -> list[str]:
    return storage.names_under(storage.private(), f"cameos/{cameo.id}")


def deleted_cameo_with_a_leftover(django_capture_on_commit_callbacks) -> Cameo:
    owner = UserFactory()
    image = SimpleUploadedFile("face.png", png_bytes(), content_type="image/png")
    cameo = cameo_services.cameo_create(owner=owner, kind="character", display_name="Rex", reference_image=image)
    assert len(cameo_files(cameo)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        cameo_services.cameo_delete(cameo=cameo, by=owner)
    assert cameo_files(cameo) == []  # erased with the deletion's commit
    # What the erasure missed: a voice sample whose upload finished after the deletion.
    stored(storage.private(), f"cameos/{cameo.id}/voice-sample-late.m4a")
    cameo.refresh_from_db()
    return cameo


def purge_days_pass(cameo, settings):
    Cameo.objects.filter(id=cameo.id).update(
        deleted_at=timezone.now() - timedelta(days=settings.CAMEO_PURGE_DAYS, minutes=1)
    )


def test_beat_erases_what_is_left_once_the_days_have_passed_on_disk(settings, django_capture_on_commit_callbacks):
    cameo = deleted_cameo_with_a_leftover(django_capture_on_commit_callbacks)
    assert cameo.deleted_at is not None
    assert tasks.cameos_media_purge() == 0  # not yet
    assert len(cameo_files(cameo)) == 1

    purge_days_pass(cameo, settings)
    assert tasks.cameos_media_purge() == 1

    assert cameo_files(cameo) == []
    assert not (settings.MEDIA_ROOT / "private" / "cameos" / str(cameo.id)).exists()
    assert Cameo.objects.get(id=cameo.id).media_purged_at is not None
    assert tasks.cameos_media_purge() == 0  # done once


def test_a_cameo_deleted_before_the_deletion_time_was_recorded_counts_from_its_last_change(settings):
    cameo = Cameo.objects.create(owner=UserFactory(), kind="character", display_name="Old", status="deleted",
                                 updated_at=timezone.now() - timedelta(days=settings.CAMEO_PURGE_DAYS + 1))  # fmt: skip
    stored(storage.private(), f"cameos/{cameo.id}/reference-image-old.jpg")
    assert tasks.cameos_media_purge() == 1
    assert cameo_files(cameo) == []


def test_a_live_cameo_is_never_purged(settings):
    cameo = Cameo.objects.create(owner=UserFactory(), kind="character", display_name="Live", status="active",
                                 updated_at=timezone.now() - timedelta(days=settings.CAMEO_PURGE_DAYS + 1))  # fmt: skip
    stored(storage.private(), f"cameos/{cameo.id}/reference-image.jpg")
    assert tasks.cameos_media_purge() == 0
    assert len(cameo_files(cameo)) == 1


@pytest.mark.e2e
def test_on_s3_the_bucket_lists_nothing_of_the_cameo_after_the_purge(s3, settings, django_capture_on_commit_callbacks):
    cameo = deleted_cameo_with_a_leftover(django_capture_on_commit_callbacks)
    bucket = s3["client"].list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"private/cameos/{cameo.id}/")
    assert [item["Key"] for item in bucket.get("Contents", [])] == [f"private/cameos/{cameo.id}/voice-sample-late.m4a"]

    purge_days_pass(cameo, settings)
    assert tasks.cameos_media_purge() == 1

    bucket = s3["client"].list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"private/cameos/{cameo.id}/")
    assert bucket.get("Contents", []) == []
