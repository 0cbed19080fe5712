"""A direct upload end to end: the phone's form straight to S3 (moto over HTTP), then a real Celery worker
(the media queue, real Redis and PostgreSQL) checks it, and a cameo takes it by id."""

import time

import httpx
import pytest

from backend.cameos.models import Cameo, Upload
from tests.factories import UserFactory
from tests.media_files import make_clip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def wait_for_check(upload_id, *, worker, timeout=60) -> Upload:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = Upload.objects.get(id=upload_id)
        if upload.status != Upload.Status.PENDING:
            return upload
        time.sleep(0.2)
    raise AssertionError(f"the upload stayed pending; worker log:\n{worker.log()[-4000:]}")


def send(answer: dict, path, content_type: str):
    form = answer["upload"]
    with open(path, "rb") as handle:
        files = {form["file_field"]: (path.name, handle, content_type)}
        return httpx.post(form["url"], data=form["fields"], files=files, timeout=30)


def test_upload_check_on_a_worker_then_use(start_worker, client_for, s3, tmp_path):
    worker = start_worker(queues="media")
    owner = UserFactory()
    client = client_for(owner)
    clip = make_clip(tmp_path / "clip.mp4", seconds=4)
    not_a_clip = tmp_path / "notes.mp4"
    not_a_clip.write_text("just some notes, not a video\n" * 50)

    answers = {}
    for name, path in (("good", clip), ("bad", not_a_clip)):
        body = {"kind": "reference_clip", "content_type": "video/mp4", "size": path.stat().st_size}
        answers[name] = client.post("/api/v1/uploads", body, format="json").data
        assert send(answers[name], path, "video/mp4").status_code == 204
        assert client.post(f"/api/v1/uploads/{answers[name]['id']}/complete", {}, format="json").status_code == 200

    good = wait_for_check(answers["good"]["id"], worker=worker)
    bad = wait_for_check(answers["bad"]["id"], worker=worker)
    assert good.status == "verified", worker.log()[-3000:]
    assert (bad.status, bad.reason.split(":")[0]) == ("rejected", "not_a_video")
    keys = {item["Key"] for item in s3["client"].list_objects_v2(Bucket=s3["env"]["S3_BUCKET"]).get("Contents", [])}
    assert f"private/{good.key}" in keys and f"private/{bad.key}" not in keys

    body = {"kind": "character", "display_name": "Rex", "reference_clip_upload_id": str(good.id)}
    created = client.post("/api/v1/cameos", body, format="json")
    assert created.status_code == 201, created.data
    assert Cameo.objects.get(id=created.data["id"]).reference_clip
    assert not Upload.objects.filter(id=good.id).exists()
