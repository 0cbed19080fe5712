"""media/services, called directly: request, claim, execute, post-process, cancel, reap and retry.

Renders run in this process with ``ClipProvider`` (tests/media/conftest.py: a provider that returns a real,
short MP4) and the real post-processing (FFmpeg, C2PA, fingerprints); the same paths on real workers are in
tests/e2e. Messages to the broker are recorded, not sent.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from backend.cameos.models import Appearance
from backend.core.errors import Conflict
from backend.core.http import ProviderPermanentError, ProviderTransientError
from backend.rights.models import VideoCharacter
from backend.videos.models import Video
from media import services
from media.models import RenderJob
from media.services import jobs, worker
from tests.factories import CameoFactory, CharacterFactory, RenderJobFactory, UserFactory
from tests.fake_providers import fake_veo_as_provider, google_error, veo_operation, veo_rate_limited
from tests.media.conftest import private_files
from tests.workers import database_unreachable

pytestmark = pytest.mark.django_db

VEO_MODEL = "veo-3.1-lite-generate-preview"  # takes no reference images
VEO_SUBMIT = f"POST /v1beta/models/{VEO_MODEL}:predictLongRunning"
VEO_OPERATION = f"models/{VEO_MODEL}/operations/op-1"


def job_state(job) -> tuple:
    job.refresh_from_db()
    return (job.status, job.stage, job.attempts, job.error_code, job.original, job.result_video_id)


def provider_errors(provider: str, code: str, transient: str) -> float:
    labels = {"provider": provider, "code": code, "transient": transient}
    return REGISTRY.get_sample_value("remix_provider_errors_total", labels) or 0.0


def rendered(job) -> RenderJob:
    """Run a queued job's render and post-processing here, as the two workers would."""
    services.render_job_execute(job_id=str(job.id))
    services.render_job_postprocess(job_id=str(job.id))
    job.refresh_from_db()
    return job


class TestRenderJobRequest:
    def test_the_render_message_is_sent_only_after_the_commit_and_a_replay_sends_none(
        self, provider, sent, django_capture_on_commit_callbacks
    ):
        # Given a creator
        user = UserFactory()
        # When they ask for a render
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            job, created = services.render_job_request(requester=user, idempotency_key="k", prompt="a corgi",
                                                       duration_s=3)  # fmt: skip
            # Then nothing is sent while the transaction is open
            assert sent["render"] == []
        for callback in callbacks:
            callback()
        assert (created, job.status, job.provider) == (True, "queued", "clip")
        assert sent["render"] == [{"job_id": str(job.id)}]
        # And the same request again is the same job, with no second message
        with django_capture_on_commit_callbacks(execute=True):
            again, created_again = services.render_job_request(requester=user, idempotency_key="k", prompt="a corgi",
                                                               duration_s=3)  # fmt: skip
        assert (again.id, created_again, len(sent["render"])) == (job.id, False, 1)

    def test_what_the_provider_would_refuse_is_a_400_now_and_leaves_no_job(self, veo, sent, client_for):
        cameo = CameoFactory(audience="everyone", reference_image="cameos/pixel.jpg")
        user = UserFactory()
        with pytest.raises(services.RenderSpecRefused) as refused:
            services.render_job_request(requester=user, idempotency_key="k", prompt="a corgi", duration_s=4,
                                        cameo_ids=[cameo.id])  # fmt: skip
        assert (refused.value.status_code, refused.value.detail.code) == (400, "reference_images_not_supported")
        response = client_for(user).post("/api/v1/renders", {"prompt": "a corgi", "duration_s": 12}, format="json",
                                         HTTP_IDEMPOTENCY_KEY="k2")  # fmt: skip
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": "duration_not_supported",
            "message": "This video model makes videos of at most 8 seconds.",
            "details": {"max_duration_s": 8},
            "request_id": response["X-Request-ID"],
        }
        assert not RenderJob.objects.exists() and sent["render"] == [] and veo.requests == []


class TestRenderJobClaim:
    def test_a_queued_job_is_claimed_once(self):
        job = RenderJobFactory()
        claimed = services.render_job_claim(job_id=str(job.id))
        assert (claimed.status, claimed.stage, claimed.attempts) == ("running", "starting", 1)
        assert services.render_job_claim(job_id=str(job.id)) is None
        job.refresh_from_db()
        assert job.attempts == 1

    @pytest.mark.parametrize("status", ["running", "succeeded", "failed", "cancelled", "blocked"])
    def test_a_job_that_is_not_queued_is_not_claimed(self, status):
        job = RenderJobFactory(status=status)
        assert services.render_job_claim(job_id=str(job.id)) is None
        job.refresh_from_db()
        assert (job.status, job.attempts) == (status, 0)


class TestRenderJobExecute:
    def test_the_original_is_stored_once_and_post_processing_is_sent_once(
        self, provider, sent, django_capture_on_commit_callbacks
    ):
        job = RenderJobFactory(provider="clip")
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_execute(job_id=str(job.id))
        after_first = job_state(job)
        assert after_first[:3] == ("running", "awaiting_post_processing", 1)
        assert private_files(job) == ["original.mp4"]
        assert sent["postprocess"] == [{"job_id": str(job.id)}]  # through the outbox, after the stage commits
        # The same message delivered again changes nothing
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_execute(job_id=str(job.id))
        assert job_state(job) == after_first
        assert private_files(job) == ["original.mp4"]
        assert len(sent["postprocess"]) == 1
        assert provider.calls == ["submit", "fetch_result"]

    def test_a_transient_provider_error_requeues_until_the_last_attempt_then_fails(self, provider, sent, settings):
        provider.fail_with = ProviderTransientError("busy", code="provider_rate_limited")
        job = RenderJobFactory(provider="clip")
        for attempt in range(1, settings.RENDER_MAX_ATTEMPTS):
            with pytest.raises(ProviderTransientError):  # Celery retries the task with backoff
                services.render_job_execute(job_id=str(job.id))
            job.refresh_from_db()
            assert (job.status, job.stage, job.attempts, job.error_code, job.provider_job_id) == (
                "queued", "waiting_to_retry", attempt, "provider_rate_limited", "")  # fmt: skip
        services.render_job_execute(job_id=str(job.id))  # the last attempt: no retry
        assert provider_errors("clip", "provider_rate_limited", "true") >= settings.RENDER_MAX_ATTEMPTS
        job.refresh_from_db()
        assert (job.status, job.error_code, job.attempts) == ("failed", "provider_unavailable",
                                                              settings.RENDER_MAX_ATTEMPTS)  # fmt: skip
        assert private_files(job) == [] and sent["postprocess"] == []

    def test_a_permanent_provider_error_fails_the_job_at_once(self, provider, sent):
        provider.fail_with = ProviderPermanentError("refused by the model", code="provider_refused")
        job = RenderJobFactory(provider="clip")
        counted = provider_errors("clip", "provider_refused", "false")
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code, job.attempts) == ("failed", "provider_refused", 1)
        assert sent["postprocess"] == []
        assert provider_errors("clip", "provider_refused", "false") == counted + 1  # for operators (/metrics)

    def test_consent_withdrawn_before_the_start_cancels_without_calling_the_provider(self, provider, sent):
        cameo = CameoFactory(audience="everyone")
        job = RenderJobFactory(provider="clip")
        job.cameos.add(cameo)
        cameo.audience = "only_me"
        cameo.save(update_fields=["audience"])
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("cancelled", "consent_withdrawn")
        assert provider.calls == [] and private_files(job) == []


@pytest.fixture
def veo(settings, clip):
    """The Veo adapter against the fake Gemini API (tests/fake_providers.py), as the configured provider."""
    fake = fake_veo_as_provider(settings, clip=clip, model=VEO_MODEL)
    fake.script[VEO_SUBMIT] = [(200, {"name": VEO_OPERATION})]
    yield fake
    fake.stop()


def veo_done(fake) -> tuple[int, dict]:
    return 200, veo_operation(VEO_OPERATION, done=True, uri=f"{fake.url}/files/result.mp4")


class TestRenderJobResume:
    """A job a provider already took is polled again, never submitted again (never billed twice)."""

    def test_a_transient_error_while_polling_resumes_the_same_provider_job(self, veo, sent):
        veo.script[f"GET /v1beta/{VEO_OPERATION}"] = [
            (503, google_error(503, "UNAVAILABLE", "The service is currently unavailable.")), veo_done(veo),
        ]  # fmt: skip
        job = RenderJobFactory(provider="veo")
        with pytest.raises(ProviderTransientError):
            services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.stage, job.provider_job_id) == ("queued", "waiting_to_retry", VEO_OPERATION)

        services.render_job_execute(job_id=str(job.id))  # Celery's retry
        job.refresh_from_db()
        assert (job.status, job.stage, job.attempts) == ("running", "awaiting_post_processing", 2)
        assert private_files(job) == ["original.mp4"]
        assert len(veo.submissions()) == 1

    def test_a_provider_job_the_provider_forgot_fails_the_job_and_is_not_submitted_again(self, veo, sent):
        veo.script[f"GET /v1beta/{VEO_OPERATION}"] = [(404, google_error(404, "NOT_FOUND", "Operation not found."))]
        job = RenderJobFactory(provider="veo", status="queued", attempts=1, provider_job_id=VEO_OPERATION)
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code, job.provider_job_id) == ("failed", "provider_job_lost", VEO_OPERATION)
        assert veo.submissions() == []

    def test_a_rate_limited_submit_leaves_nothing_to_resume_and_the_next_attempt_submits(self, veo, sent):
        veo.script[VEO_SUBMIT] = [veo_rate_limited("37s"), (200, {"name": VEO_OPERATION})]
        veo.script[f"GET /v1beta/{VEO_OPERATION}"] = [veo_done(veo)]
        job = RenderJobFactory(provider="veo")
        with pytest.raises(ProviderTransientError) as excinfo:
            services.render_job_execute(job_id=str(job.id))
        assert excinfo.value.retry_after == 37.0
        job.refresh_from_db()
        assert (job.status, job.provider_job_id) == ("queued", "")
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.stage, job.provider_job_id) == ("awaiting_post_processing", VEO_OPERATION)
        assert len(veo.submissions()) == 2

    def test_a_job_the_provider_can_no_longer_render_fails_with_its_code_before_anything_is_sent(self, veo, sent):
        job = RenderJobFactory(provider="veo", duration_s=12)  # requested under another provider or model
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("failed", "duration_not_supported")
        assert veo.submissions() == []


class TestRenderJobPostprocess:
    def test_one_draft_with_its_cameos_and_characters_however_often_it_runs(self, provider, sent):
        cameo = CameoFactory(audience="everyone")
        character = CharacterFactory()
        job = RenderJobFactory(provider="clip")
        job.cameos.add(cameo)
        job.characters.add(character)
        job = rendered(job)
        assert (job.status, job.stage, job.progress) == ("succeeded", "done", 100)
        video = Video.objects.get(id=job.result_video_id)
        assert (video.owner_id, video.status) == (job.requester_id, "draft")
        assert Appearance.objects.filter(cameo=cameo, video=video).exists()
        assert VideoCharacter.objects.filter(character=character, video=video).exists()
        after_first = job_state(job)
        # A second delivery of the message is a no-op
        services.render_job_postprocess(job_id=str(job.id))
        assert job_state(job) == after_first
        assert Video.objects.count() == 1

    def test_a_job_cancelled_while_it_rendered_is_not_post_processed_and_its_original_goes(self, provider, sent):
        job = RenderJobFactory(provider="clip")
        services.render_job_execute(job_id=str(job.id))
        assert private_files(job) == ["original.mp4"]
        services.render_job_cancel(job=job)
        services.render_job_postprocess(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.result_video_id) == ("cancelled", None)
        assert not Video.objects.exists()


class TestRenderJobCancel:
    def test_a_queued_job_is_cancelled_at_once_and_again_is_harmless(self):
        job = RenderJobFactory()
        services.render_job_cancel(job=job, reason="cancelled_by_user")
        first = job_state(job)
        assert first[0] == "cancelled" and first[3] == "cancelled_by_user"
        finished_at = job.finished_at
        services.render_job_cancel(job=job, reason="consent_withdrawn")
        assert job_state(job) == first and job.finished_at == finished_at

    def test_a_job_waiting_to_retry_has_its_provider_job_stopped_after_the_commit(
        self, sent, django_capture_on_commit_callbacks
    ):
        job = RenderJobFactory(stage="waiting_to_retry", attempts=1, provider="clip", provider_job_id="op-2")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.render_job_cancel(job=job)
            assert sent["provider_cancel"] == []
        for callback in callbacks:
            callback()
        assert sent["provider_cancel"] == [{"provider": "clip", "provider_job_id": "op-2"}]

    def test_a_finished_job_is_not_cancelled(self):
        job = RenderJobFactory(status="succeeded")
        with pytest.raises(Conflict) as caught:
            services.render_job_cancel(job=job)
        assert caught.value.detail.code == "render_finished"
        job.refresh_from_db()
        assert job.status == "succeeded"

    def test_a_cancel_while_rendering_stops_the_provider_job_and_stores_nothing(self, provider, sent):
        job = RenderJobFactory(provider="clip")
        provider.on_submit = lambda: services.render_job_cancel(job=job)
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert job.status == "cancelled"
        assert provider.calls == ["submit", "cancel clip-1"]
        assert private_files(job) == [] and sent["postprocess"] == []


class TestRenderJobsReap:
    def stale(self, settings):
        return timezone.now() - timedelta(seconds=settings.RENDER_HEARTBEAT_TIMEOUT_S + 1)

    def test_a_render_whose_worker_died_is_queued_again_once(self, settings, sent, django_capture_on_commit_callbacks):
        job = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=self.stale(settings),
                               provider_job_id="op-1")  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            assert services.render_jobs_reap() == {"requeued": 1, "failed": 0, "resent": 0}
            assert services.render_jobs_reap() == {"requeued": 0, "failed": 0, "resent": 0}
        job.refresh_from_db()
        # The provider job the dead worker submitted is kept: the next attempt polls it.
        assert (job.status, job.stage, job.attempts, job.provider_job_id) == (
            "queued", "requeued_after_worker_loss", 1, "op-1")  # fmt: skip
        assert sent["render"] == [{"job_id": str(job.id)}]

    def test_after_the_last_attempt_the_job_fails(self, settings, sent, django_capture_on_commit_callbacks):
        job = RenderJobFactory(status="running", stage="rendering", attempts=settings.RENDER_MAX_ATTEMPTS,
                               heartbeat_at=self.stale(settings), provider="clip", provider_job_id="op-9")  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            assert services.render_jobs_reap() == {"requeued": 0, "failed": 1, "resent": 0}
            assert services.render_jobs_reap() == {"requeued": 0, "failed": 0, "resent": 0}
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("failed", "worker_lost")
        assert sent["render"] == []
        # Nobody will poll its provider job again: it is stopped, not left to render (and bill) on.
        assert sent["provider_cancel"] == [{"provider": "clip", "provider_job_id": "op-9"}]

    def test_a_live_render_is_left_alone(self, sent, django_capture_on_commit_callbacks):
        job = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert services.render_jobs_reap() == {"requeued": 0, "failed": 0, "resent": 0}
        job.refresh_from_db()
        assert (job.status, job.stage) == ("running", "rendering")

    def test_post_processing_whose_message_was_lost_is_sent_again_once(
        self, settings, sent, django_capture_on_commit_callbacks
    ):
        job = RenderJobFactory(status="running", stage="awaiting_post_processing", heartbeat_at=self.stale(settings),
                               attempts=1)  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            assert services.render_jobs_reap() == {"requeued": 1, "failed": 0, "resent": 0}
            # not again before another timeout
            assert services.render_jobs_reap() == {"requeued": 0, "failed": 0, "resent": 0}
        assert sent["postprocess"] == [{"job_id": str(job.id)}]

    def test_a_queued_job_whose_message_was_lost_is_sent_again_once(
        self, settings, sent, django_capture_on_commit_callbacks
    ):
        lost = RenderJobFactory(created_at=timezone.now() - timedelta(seconds=settings.RENDER_QUEUED_RESEND_S + 1))
        RenderJobFactory()  # queued just now: not lost
        with django_capture_on_commit_callbacks(execute=True):
            assert services.render_jobs_reap()["resent"] == 1
            assert services.render_jobs_reap()["resent"] == 0
        assert sent["render"] == [{"job_id": str(lost.id)}]


class TestRenderJobRetry:
    """The moderators' "retry" action (media/admin.py) on failed and cancelled renders."""

    def failed(self, **fields):
        return RenderJobFactory(status="failed", stage="rendering", attempts=4, error_code="provider_unavailable",
                                error_message="busy", finished_at=timezone.now(), **fields)  # fmt: skip

    def test_a_failed_job_goes_back_to_the_queue_clean_and_is_sent_after_the_commit(
        self, sent, django_capture_on_commit_callbacks
    ):
        job = self.failed(provider_job_id="op-lost")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            retried = services.render_job_retry(job=job)
            assert sent["render"] == []
        for callback in callbacks:
            callback()
        job.refresh_from_db()
        # From the start: a new provider job too (a person chose to pay for it again).
        assert (job.status, job.stage, job.attempts, job.error_code, job.error_message, job.finished_at,
                job.provider_job_id) == ("queued", "retry_requested", 0, "", "", None, "")  # fmt: skip
        assert retried.status == "queued"
        assert sent["render"] == [{"job_id": str(job.id)}]

    def test_a_cancelled_job_can_be_retried(self, sent, django_capture_on_commit_callbacks):
        job = RenderJobFactory(status="cancelled", error_code="cancelled_by_user", finished_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_retry(job=job)
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("queued", "")
        assert sent["render"] == [{"job_id": str(job.id)}]

    def test_a_second_retry_is_refused_and_changes_nothing(self, sent, django_capture_on_commit_callbacks):
        job = self.failed()
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_retry(job=job)
        after_first = job_state(job)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict) as caught:
            services.render_job_retry(job=job)
        assert caught.value.detail.code == "render_not_retryable"
        assert job_state(job) == after_first
        assert sent["render"] == [{"job_id": str(job.id)}]  # one message: the job is rendered once

    @pytest.mark.parametrize("status", ["queued", "running", "succeeded", "blocked"])
    def test_a_job_that_is_neither_failed_nor_cancelled_is_refused(
        self, status, sent, django_capture_on_commit_callbacks
    ):
        # A blocked prompt stays blocked: a retry would send a refused prompt to the provider.
        job = RenderJobFactory(status=status, error_code="prompt_blocked" if status == "blocked" else "")
        before = job_state(job)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict) as caught:
            services.render_job_retry(job=job)
        assert caught.value.detail.code == "render_not_retryable"
        assert job_state(job) == before
        assert sent["render"] == []

    def test_a_retried_job_renders_with_a_fresh_attempt_count(
        self, provider, sent, settings, django_capture_on_commit_callbacks
    ):
        job = self.failed(provider="clip")
        assert job.attempts == settings.RENDER_MAX_ATTEMPTS
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_retry(job=job)
        job = rendered(job)
        assert (job.status, job.attempts, job.error_code) == ("succeeded", 1, "")
        assert Video.objects.filter(id=job.result_video_id, owner=job.requester).exists()

    def test_a_retry_does_not_get_round_withdrawn_consent(self, provider, sent, django_capture_on_commit_callbacks):
        cameo = CameoFactory(audience="everyone")
        job = RenderJobFactory(provider="clip")
        job.cameos.add(cameo)
        cameo.audience = "only_me"
        cameo.save(update_fields=["audience"])
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("cancelled", "consent_withdrawn")
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_retry(job=job)
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("cancelled", "consent_withdrawn")
        assert provider.calls == [] and not Video.objects.exists()

    def test_a_retry_after_post_processing_failed_renders_again_from_the_start(
        self, provider, sent, django_capture_on_commit_callbacks
    ):
        job = RenderJobFactory(provider="clip")
        services.render_job_execute(job_id=str(job.id))
        services.render_job_fail(job_id=job.id, code="post_processing_failed", message="Post-processing failed.")
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_retry(job=job)
        job = rendered(job)
        assert (job.status, job.attempts) == ("succeeded", 1)
        assert provider.calls == ["submit", "fetch_result", "submit", "fetch_result"]
        assert Video.objects.count() == 1

    def test_a_retry_leaves_no_unreferenced_original_behind(self, provider, sent, django_capture_on_commit_callbacks):
        job = RenderJobFactory(provider="clip")
        services.render_job_execute(job_id=str(job.id))
        services.render_job_fail(job_id=job.id, code="post_processing_failed", message="Post-processing failed.")
        with django_capture_on_commit_callbacks(execute=True):
            services.render_job_retry(job=job)
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert [f"renders/{job.id}/{name}" for name in private_files(job)] == [job.original]


class TestAnAttemptTheReaperGaveAway:
    """A worker the reaper took for dead may be alive (a long pause, a network split): once another
    attempt runs the job, the old one stops at its next step and changes nothing."""

    def test_the_old_attempt_stops_without_touching_the_new_one(self):
        old_attempt = RenderJobFactory(status="running", stage="rendering", attempts=1, provider_job_id="op-1")
        RenderJob.objects.filter(id=old_attempt.id).update(attempts=2, progress=40)  # requeued, claimed again

        with pytest.raises(services.JobCancelled):
            jobs.job_running_update(old_attempt, progress=70)
        assert not worker._requeue_or_fail(old_attempt, ProviderTransientError("busy"))
        services.render_job_fail(job_id=old_attempt.id, code="provider_failed", message="x", attempt=1)

        new_attempt = RenderJob.objects.get(id=old_attempt.id)
        assert (new_attempt.status, new_attempt.attempts, new_attempt.progress, new_attempt.provider_job_id) == (
            "running", 2, 40, "op-1")  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_outlives_a_database_outage(settings):
    settings.RENDER_HEARTBEAT_INTERVAL_S = 0.05
    job = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=timezone.now())
    with jobs.job_heartbeat(job):
        with database_unreachable():
            time.sleep(0.3)
        back = timezone.now()
        time.sleep(0.3)
    job.refresh_from_db()
    assert job.heartbeat_at > back
