"""Resume, never resubmit: a worker killed after Veo took the render, before the video is ready.

A real Celery worker renders against the fake Gemini API over HTTP and is SIGKILLed while the
operation runs; the reaper re-queues the job and a second worker polls the same operation to the
end. The fake counts the submissions: one, so the render is billed once.
"""

import time

import pytest
from django.conf import settings

from backend.videos.models import Video
from media import services
from media.models import RenderJob
from tests.e2e.conftest import VEO_MODEL, VEO_SUBMIT
from tests.e2e.test_render_pipeline import request_render, wait_for
from tests.factories import UserFactory
from tests.fake_providers import veo_operation
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_a_worker_killed_between_submit_and_done_is_resumed_and_submits_once(start_worker, client_for, veo):
    fake, env = veo
    operation = f"models/{VEO_MODEL}/operations/op-resume"
    poll = f"GET /v1beta/{operation}"
    fake.script[VEO_SUBMIT] = [(200, {"name": operation})]
    fake.script[poll] = [(200, veo_operation(operation, done=False))]  # rendering until the test says
    creator = UserFactory()
    worker = start_worker(concurrency=1, env=env)
    job_id = request_render(client_for(creator)).data["id"]

    # Killed once Veo has the render and the worker is polling it.
    wait_until(lambda: any(r.method == "GET" and r.path.endswith(operation) for r in fake.requests), worker)
    worker.kill()
    job = RenderJob.objects.get(id=job_id)
    assert (job.status, job.provider_job_id) == ("running", operation)

    time.sleep(settings.RENDER_HEARTBEAT_TIMEOUT_S + 0.5)
    assert services.render_jobs_reap() == {"requeued": 1, "failed": 0, "resent": 0}
    assert RenderJob.objects.get(id=job_id).provider_job_id == operation  # kept for the next attempt
    fake.script[poll] = [(200, veo_operation(operation, done=True, uri=f"{fake.url}/files/result.mp4"))]

    replacement = start_worker(concurrency=1, env=env)
    job = wait_for(job_id, {"succeeded", "failed"}, timeout=60, worker=replacement)
    assert (job.status, job.attempts, job.provider_job_id) == ("succeeded", 2, operation), job.error_message
    assert len(fake.submissions()) == 1
    assert "resuming provider job" in replacement.log()
    assert Video.objects.filter(owner=creator).count() == 1
