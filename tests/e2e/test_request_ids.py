"""A request's id reaches the logs of every task it set off, on real workers: the render it queued
(through the outbox) and the post-processing that render queued in turn."""

import json

import pytest

from tests.e2e.test_render_pipeline import wait_for
from tests.factories import UserFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_the_tasks_a_request_set_off_log_under_its_id(start_worker, client_for):
    worker = start_worker(queues="renders,media")
    client = client_for(UserFactory())

    response = client.post(
        "/api/v1/renders",
        {"prompt": "a lighthouse in a storm", "duration_s": 3, "resolution": "480p"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="req-ids-1",
        HTTP_X_REQUEST_ID="req-e2e-render-1",
    )
    assert response.status_code == 201, response.data
    assert response["X-Request-ID"] == "req-e2e-render-1"
    job = wait_for(response.data["id"], {"succeeded", "failed", "cancelled"}, worker=worker)
    assert job.status == "succeeded", (job.error_code, worker.log()[-3000:])

    def finished() -> dict[str, str]:
        lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
        return {
            line["data"]["name"]: line["request_id"]
            for line in lines
            if line["logger"] == "celery.app.trace" and "succeeded" in line["message"]
        }

    # The job is succeeded inside the post-processing task; its trace line is written as it returns.
    wait_until(lambda: "media.render_job_postprocess" in finished(), worker, timeout=30)
    assert finished()["media.render_job_execute"] == "req-e2e-render-1"
    assert finished()["media.render_job_postprocess"] == "req-e2e-render-1"
