"""The render pipeline end to end: real Celery workers, Redis, PostgreSQL and S3 (moto over HTTP)."""

import time
import uuid
from pathlib import Path

import av
import pytest
from django.conf import settings

from backend.cameos.models import Appearance
from backend.videos.models import Video
from media import provenance, services
from media.models import RenderJob
from media.tasks import render_job_execute
from tests.e2e.conftest import VEO_MODEL, VEO_SUBMIT, bucket_keys
from tests.factories import CameoFactory, UserFactory
from tests.fake_providers import veo_operation, veo_rate_limited

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def request_render(client, **body):
    payload = {"prompt": "a corgi surfing a wave at golden hour", "duration_s": 3, "resolution": "480p"} | body
    return client.post("/api/v1/renders", payload, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def wait_for(job_id, statuses, *, timeout=120, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = RenderJob.objects.get(id=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    log = worker.log()[-4000:] if worker else ""
    raise AssertionError(f"job stayed {job.status}/{job.stage}; worker log:\n{log}")


def download(s3, bucket_env, key, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    s3["client"].download_file(s3["env"][bucket_env], key, str(destination))
    return destination


def test_request_to_a_playable_signed_draft(start_worker, client_for, s3, tmp_path):
    worker = start_worker()
    creator = UserFactory()
    cameo = CameoFactory(audience="everyone", restrictions="never drinking")
    response = request_render(client_for(creator), cameo_ids=[cameo.id], aspect="9:16")
    assert response.status_code == 201, response.data
    assert response.data["status"] == "queued"

    job = wait_for(response.data["id"], {"succeeded", "failed", "cancelled"}, worker=worker)
    assert job.status == "succeeded", (job.error_code, job.error_message, worker.log()[-3000:])
    assert job.attempts == 1
    assert set(job.stage_seconds) >= {"rendering", "downloading", "storing"}
    assert job.directions == [f"{cameo.display_name} must never appear: never drinking"]

    detail = client_for(creator).get(f"/api/v1/renders/{job.id}").data
    assert (detail["status"], detail["progress"], detail["result_video_id"]) == ("succeeded", 100, job.result_video_id)
    video = Video.objects.get(id=job.result_video_id)
    assert (video.owner, video.status) == (creator, "draft")
    assert Appearance.objects.filter(cameo=cameo, video=video).exists()

    # A draft: its files are in the private bucket, behind signed links, until it is shown to everyone.
    assert not video.media_public and bucket_keys(s3, "S3_PUBLIC_BUCKET") == []
    private = bucket_keys(s3, "S3_BUCKET")
    assert f"private/{video.mp4}" in private and f"private/{video.hls}" in private
    mp4 = download(s3, "S3_BUCKET", f"private/{video.mp4}", tmp_path / "video.mp4")
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (480, 852)
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
        assert abs(container.duration / av.time_base - 3) <= 0.5

    hls_keys = [key for key in private if "/hls/" in key]
    for key in hls_keys:
        download(s3, "S3_BUCKET", key, tmp_path / "hls" / Path(key).name)
    master = (tmp_path / "hls" / "master.m3u8").read_text()
    assert "360p.m3u8" in master and "RESOLUTION=360x640" in master
    with av.open(str(tmp_path / "hls" / "360p.m3u8")) as variant:
        assert variant.streams.video[0].codec_context.height == 640
        assert sum(1 for _ in variant.decode(video=0)) > 24 * 2

    _, _, anchor = provenance.ensure_dev_certificate(settings.VAR_DIR / "c2pa")
    manifest = provenance.read_manifest(mp4, trust_anchors_pem=anchor.read_text())
    assert manifest["validation_state"] == "Trusted"
    assert manifest["metadata"]["render_id"] == str(job.id)
    assert manifest["metadata"]["cameo_ids"] == [str(cameo.id)]
    assert video.fingerprint.frame_hashes


def test_the_same_message_delivered_twice_renders_once(start_worker, client_for, s3):
    creator = UserFactory()
    job_id = request_render(client_for(creator)).data["id"]
    render_job_execute.delay(job_id=job_id)  # a duplicate of the message the request queued
    worker = start_worker(concurrency=2)
    job = wait_for(job_id, {"succeeded", "failed"}, worker=worker)
    time.sleep(1)  # let the duplicate finish its no-op
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert Video.objects.filter(owner=creator).count() == 1
    assert worker.log().count("nothing to do") >= 1


def test_a_worker_killed_mid_render_completes_the_job_exactly_once(start_worker, client_for, s3):
    creator = UserFactory()
    worker = start_worker(concurrency=1)
    # 10 s at 720p: the preview renderer takes about 3.5 s for it on a quiet 2-core machine.
    job_id = request_render(client_for(creator), duration_s=10, resolution="720p").data["id"]
    wait_for(job_id, {"running"}, worker=worker)
    time.sleep(1.5)  # the provider is rendering now
    worker.kill()
    assert RenderJob.objects.get(id=job_id).status == "running"

    time.sleep(settings.RENDER_HEARTBEAT_TIMEOUT_S + 0.5)
    assert services.render_jobs_reap() == {"requeued": 1, "failed": 0, "resent": 0}
    replacement = start_worker(concurrency=1)
    job = wait_for(job_id, {"succeeded", "failed"}, timeout=180, worker=replacement)
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert Video.objects.filter(owner=creator).count() == 1
    assert services.render_jobs_reap() == {"requeued": 0, "failed": 0, "resent": 0}


def test_consent_revoked_mid_render_cancels_and_leaves_nothing(start_worker, client_for, s3):
    creator = UserFactory()
    cameo = CameoFactory(audience="everyone")
    worker = start_worker(concurrency=1)
    job_id = request_render(client_for(creator), cameo_ids=[cameo.id], duration_s=6, resolution="720p").data["id"]
    wait_for(job_id, {"running"}, worker=worker)
    revoke = client_for(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", {"audience": "only_me"}, format="json")
    assert revoke.status_code == 200
    job = RenderJob.objects.get(id=job_id)
    assert (job.status, job.error_code) == ("cancelled", "consent_withdrawn")

    time.sleep(1)
    deadline = time.monotonic() + 60
    while "cancelled at stage" not in worker.log() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "cancelled at stage" in worker.log()
    assert not Video.objects.filter(owner=creator).exists()
    assert bucket_keys(s3, "S3_PUBLIC_BUCKET") == []
    assert [
        key for key in bucket_keys(s3, "S3_BUCKET") if key.startswith(("private/renders/", "private/videos/"))
    ] == []


def test_provider_rate_limit_then_success(start_worker, client_for, veo):
    fake, env = veo
    operation = f"models/{VEO_MODEL}/operations/op-1"
    # Each 429 says when to come back (RetryInfo): the task's countdown is that delay.
    fake.script[VEO_SUBMIT] = [veo_rate_limited("1s"), veo_rate_limited("1s"), (200, {"name": operation})]
    fake.script[f"GET /v1beta/{operation}"] = [
        (200, veo_operation(operation, done=True, uri=f"{fake.url}/files/result.mp4"))
    ]
    worker = start_worker(env=env)
    job_id = request_render(client_for(UserFactory())).data["id"]
    job = wait_for(job_id, {"succeeded", "failed"}, worker=worker)
    assert (job.status, job.attempts) == ("succeeded", 3), (job.error_code, worker.log()[-3000:])
    assert len(fake.submissions()) == 3


def test_provider_permanent_error_fails_with_a_clear_code(start_worker, client_for, veo):
    fake, env = veo
    operation = f"models/{VEO_MODEL}/operations/op-2"
    fake.script[VEO_SUBMIT] = [(200, {"name": operation})]
    fake.script[f"GET /v1beta/{operation}"] = [
        (200, veo_operation(operation, done=True, filtered=["The prompt names a real person."]))
    ]
    worker = start_worker(env=env)
    client = client_for(UserFactory())
    job_id = request_render(client).data["id"]
    job = wait_for(job_id, {"succeeded", "failed"}, worker=worker)
    assert (job.status, job.error_code, job.attempts) == ("failed", "provider_safety_refusal", 1)
    body = client.get(f"/api/v1/renders/{job_id}").data
    assert body["error"] == {"code": "provider_safety_refusal", "message": "The prompt names a real person."}
