"""Direct uploads: a form to send a file straight to storage (S3 through moto's server over HTTP, or our local
endpoint), a worker's check before use, and the upload's id where an endpoint takes a file."""

from datetime import timedelta

import av
import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from backend.cameos import tasks
from backend.cameos.models import Cameo, Upload
from backend.cameos.services import direct_uploads
from backend.core import storage
from backend.core.models import OutboxMessage
from tests.e2e.conftest import moto_server, s3  # noqa: F401  (fixtures: S3 as the e2e tests run it)
from tests.factories import PersonCameoFactory, UserFactory

pytestmark = pytest.mark.django_db

UPLOADS = "/api/v1/uploads"


def ask(client, path, kind="reference_clip", content_type="video/mp4", size=None):
    return client.post(UPLOADS, {"kind": kind, "content_type": content_type, "size": size or path.stat().st_size})


def send_local(answer: dict, path, content_type="video/mp4"):
    """POST the form as a phone would, the file last (the local endpoint is ours: through Django's client)."""
    form = answer["upload"]
    url = form["url"].removeprefix(settings.SITE_URL)
    with open(path, "rb") as handle:
        return Client().post(url, {**form["fields"], "Content-Type": content_type, form["file_field"]: handle})


def verify(answer: dict) -> str:
    """The worker's check, run twice: the second run finds nothing to do."""
    assert OutboxMessage.objects.filter(task="cameos.upload_verify", kwargs={"upload_id": answer["id"]}).exists()
    tasks.upload_verify(upload_id=answer["id"])
    tasks.upload_verify(upload_id=answer["id"])
    return Upload.objects.get(id=answer["id"]).status


@pytest.fixture
def owner():
    return UserFactory()


class TestLocalDisk:
    def test_anonymous_is_refused(self, api_client, media_files):
        assert ask(api_client, media_files["good"]).status_code == 401

    def test_an_upload_is_checked_stripped_of_metadata_and_then_used_once(
        self, client_for, owner, media_files, django_capture_on_commit_callbacks
    ):
        client = client_for(owner)
        # Given a clip filmed with its location in its metadata, sent through the form
        answer = ask(client, media_files["geotagged"], content_type="video/quicktime")
        assert answer.status_code == 201
        assert answer["Location"] == f"http://testserver{UPLOADS}/{answer.data['id']}"
        assert answer.data["status"] == "pending" and answer.data["upload"]["url"].startswith(settings.SITE_URL)
        assert send_local(answer.data, media_files["geotagged"], "video/quicktime").status_code == 204
        # When the worker checked it
        assert verify(answer.data) == "verified"
        assert client.get(f"{UPLOADS}/{answer.data['id']}").data["status"] == "verified"
        upload = Upload.objects.get(id=answer.data["id"])
        with storage.private().open(upload.key, "rb") as handle, av.open(handle) as container:
            assert "location" not in container.metadata and "title" not in container.metadata
        # Then a cameo takes it by id, and the upload is used up
        with django_capture_on_commit_callbacks(execute=True):
            created = client.post(
                "/api/v1/cameos",
                {"kind": "character", "display_name": "Rex", "reference_clip_upload_id": answer.data["id"]},
                format="json",
            )
        assert created.status_code == 201, created.data
        assert Cameo.objects.get(id=created.data["id"]).reference_clip
        assert client.get(f"{UPLOADS}/{answer.data['id']}").status_code == 404
        assert not storage.private().exists(upload.key)

    def test_a_verification_clip_by_upload_id(self, client_for, owner, media_files):
        person = PersonCameoFactory(owner=owner)
        client = client_for(owner)
        challenge = client.post(f"/api/v1/cameos/{person.id}/verification", {}, format="json").data
        answer = ask(client, media_files["good"], kind="verification_clip").data
        send_local(answer, media_files["good"])
        assert verify(answer) == "verified"
        body = {"challenge_id": challenge["challenge_id"], "clip_upload_id": answer["id"]}
        answered = client.post(f"/api/v1/cameos/{person.id}/verification", body, format="json")
        assert (answered.status_code, answered.data["status"]) == (201, "submitted")

    def test_what_is_not_media_of_its_kind_is_rejected_with_a_reason_and_deleted(
        self, client_for, owner, media_files, django_capture_on_commit_callbacks
    ):
        client = client_for(owner)
        answer = ask(client, media_files["text"]).data
        send_local(answer, media_files["text"])
        with django_capture_on_commit_callbacks(execute=True):
            assert verify(answer) == "rejected"
        upload = Upload.objects.get(id=answer["id"])
        assert upload.reason.startswith("not_a_video") and not storage.private().exists(upload.key)
        used = client.post(
            "/api/v1/cameos",
            {"kind": "character", "display_name": "Rex", "reference_clip_upload_id": answer["id"]},
            format="json",
        )
        assert (used.status_code, used.data["error"]["code"]) == (400, "upload_rejected")

    def test_an_upload_still_being_checked_is_a_409_with_retry_after(self, client_for, owner, media_files):
        client = client_for(owner)
        answer = ask(client, media_files["good"]).data
        send_local(answer, media_files["good"])
        body = {"kind": "character", "display_name": "Rex", "reference_clip_upload_id": answer["id"]}
        used = client.post("/api/v1/cameos", body, format="json")
        assert (used.status_code, used.data["error"]["code"], used["Retry-After"]) == (409, "upload_not_verified", "2")
        assert not Cameo.objects.exists()

    def test_the_declared_size_and_type_are_enforced(self, client_for, owner, media_files, settings):
        client = client_for(owner)
        too_big = ask(client, media_files["good"], size=settings.CAMEO_CLIP_MAX_BYTES + 1)
        assert (too_big.status_code, too_big.data["error"]["code"]) == (413, "file_too_large")
        wrong_type = ask(client, media_files["good"], content_type="application/pdf")
        assert (wrong_type.status_code, wrong_type.data["error"]["code"]) == (400, "unsupported_content_type")
        # A file larger than declared, or of another type than declared, is refused by the endpoint
        answer = ask(client, media_files["good"], size=100).data
        assert send_local(answer, media_files["good"]).status_code == 413
        answer = ask(client, media_files["good"]).data
        assert send_local(answer, media_files["good"], content_type="image/png").status_code == 400
        # And a form is good only with its token
        answer = ask(client, media_files["good"]).data
        answer["upload"]["fields"]["token"] = "forged"
        assert send_local(answer, media_files["good"]).status_code == 404

    def test_other_peoples_uploads_are_404(self, client_for, owner, media_files):
        answer = ask(client_for(owner), media_files["good"]).data
        send_local(answer, media_files["good"])
        verify(answer)
        stranger = client_for(UserFactory())
        assert stranger.get(f"{UPLOADS}/{answer['id']}").status_code == 404
        assert stranger.post(f"{UPLOADS}/{answer['id']}/complete", {}, format="json").status_code == 404
        body = {"kind": "character", "display_name": "Rex", "reference_clip_upload_id": answer["id"]}
        used = stranger.post("/api/v1/cameos", body, format="json")
        assert (used.status_code, used.data["error"]["code"]) == (404, "not_found")
        assert Upload.objects.filter(id=answer["id"]).exists()


def test_uploads_nobody_used_are_swept_with_their_files(client_for, owner, media_files):
    client = client_for(owner)
    used_soon = ask(client, media_files["good"]).data
    abandoned = ask(client, media_files["good"]).data
    send_local(abandoned, media_files["good"])
    key = Upload.objects.get(id=abandoned["id"]).key
    Upload.objects.filter(id=abandoned["id"]).update(created_at=timezone.now() - timedelta(days=2))
    assert direct_uploads.uploads_sweep() == 1
    assert direct_uploads.uploads_sweep() == 0  # and again: nothing left
    assert not storage.private().exists(key) and not Upload.objects.filter(id=abandoned["id"]).exists()
    assert Upload.objects.filter(id=used_soon["id"]).exists()


class TestS3:
    """Straight to S3 (moto's server over HTTP) with the presigned form; the web process never sees the bytes."""

    def send(self, answer: dict, path, content_type="video/mp4"):
        form = answer["upload"]
        with open(path, "rb") as handle:
            files = {form["file_field"]: (path.name, handle, content_type)}
            return httpx.post(form["url"], data=form["fields"], files=files, timeout=30)

    def test_a_form_upload_then_complete_then_the_check(self, s3, client_for, owner, media_files):  # noqa: F811
        client = client_for(owner)
        answer = ask(client, media_files["good"]).data
        assert answer["upload"]["url"].startswith(s3["env"]["S3_ENDPOINT_URL"])
        assert answer["upload"]["fields"]["key"] == f"private/uploads/{owner.id}/{answer['id']}"
        assert self.send(answer, media_files["good"]).status_code == 204
        completed = client.post(f"{UPLOADS}/{answer['id']}/complete", {}, format="json")
        assert (completed.status_code, completed.data["status"]) == (200, "pending")
        assert verify(answer) == "verified"
        body = {"kind": "character", "display_name": "Rex", "reference_clip_upload_id": answer["id"]}
        assert client.post("/api/v1/cameos", body, format="json").status_code == 201

    def test_the_policy_binds_the_declared_size_and_type(self, s3, client_for, owner, media_files):  # noqa: F811
        client = client_for(owner)
        smaller = ask(client, media_files["good"], size=1000).data
        refused = self.send(smaller, media_files["good"])
        if refused.status_code == 204:  # a store that does not enforce content-length-range: complete does
            completed = client.post(f"{UPLOADS}/{smaller['id']}/complete", {}, format="json")
            assert completed.data["status"] == "rejected"
        else:
            assert refused.status_code == 400 and b"EntityTooLarge" in refused.content
        other_type = ask(client, media_files["good"]).data
        other_type["upload"]["fields"]["Content-Type"] = "image/png"  # not what the policy signed
        refused = self.send(other_type, media_files["good"], content_type="image/png")
        if refused.status_code == 204:  # moto does not check a form against its policy: complete does
            completed = client.post(f"{UPLOADS}/{other_type['id']}/complete", {}, format="json")
            assert completed.data["status"] == "rejected"
        else:
            assert refused.status_code == 403

    def test_complete_before_the_file_arrived_is_409(self, s3, client_for, owner, media_files):  # noqa: F811
        client = client_for(owner)
        answer = ask(client, media_files["good"]).data
        early = client.post(f"{UPLOADS}/{answer['id']}/complete", {}, format="json")
        assert (early.status_code, early.data["error"]["code"]) == (409, "upload_missing")

    def test_a_large_file_goes_in_parts_that_can_be_resent(self, s3, client_for, owner, media_files, settings):  # noqa: F811
        settings.DIRECT_UPLOAD_MULTIPART_BYTES = 100_000
        settings.DIRECT_UPLOAD_PART_BYTES = 5 * 1024 * 1024
        client = client_for(owner)
        content = media_files["good"].read_bytes()
        padded = content + b"\0" * (6 * 1024 * 1024 - len(content))  # two parts; S3 wants 5 MB but the last
        answer = ask(client, media_files["good"], size=len(padded)).data
        parts = answer["upload"]["parts"]
        assert len(parts) == 2 and answer["upload"]["part_size"] == 5 * 1024 * 1024
        etags = []
        for part in parts:
            chunk = padded[(part["number"] - 1) * 5 * 1024 * 1024 : part["number"] * 5 * 1024 * 1024]
            response = httpx.put(part["url"], content=chunk, timeout=30)
            if part["number"] == 2:  # a part lost on the way is simply sent again
                response = httpx.put(part["url"], content=chunk, timeout=30)
            assert response.status_code == 200
            etags.append({"number": part["number"], "etag": response.headers["ETag"]})
        completed = client.post(f"{UPLOADS}/{answer['id']}/complete", {"parts": etags}, format="json")
        assert (completed.status_code, completed.data["status"]) == (200, "pending"), completed.data
        key = f"private/uploads/{owner.id}/{answer['id']}"
        assert s3["client"].head_object(Bucket=s3["env"]["S3_BUCKET"], Key=key)["ContentLength"] == len(padded)

    def test_an_unfinished_multipart_upload_is_aborted_by_the_sweep(self, s3, client_for, owner, media_files, settings):  # noqa: F811
        settings.DIRECT_UPLOAD_MULTIPART_BYTES = 100
        answer = ask(client_for(owner), media_files["good"]).data
        httpx.put(answer["upload"]["parts"][0]["url"], content=b"a part", timeout=30)
        Upload.objects.filter(id=answer["id"]).update(created_at=timezone.now() - timedelta(days=2))
        assert direct_uploads.uploads_sweep() == 1
        assert not s3["client"].list_multipart_uploads(Bucket=s3["env"]["S3_BUCKET"]).get("Uploads")
