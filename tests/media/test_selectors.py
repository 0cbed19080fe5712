"""media/selectors: a requester reads their own renders and nobody else's, and what counts against the daily cap."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.errors import NotFound
from media import selectors
from tests.factories import CameoFactory, RenderJobFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestRenderJobsOf:
    def test_only_the_callers_jobs_newest_first(self):
        user = UserFactory()
        older = RenderJobFactory(requester=user, created_at=timezone.now() - timedelta(hours=1))
        newer = RenderJobFactory(requester=user)
        RenderJobFactory()  # someone else's
        assert list(selectors.render_jobs_of(user=user)) == [newer, older]

    def test_the_cameos_of_every_job_come_in_one_more_query(self, django_assert_num_queries):
        user = UserFactory()
        for _ in range(3):
            RenderJobFactory(requester=user).cameos.add(CameoFactory(), CameoFactory())
        with django_assert_num_queries(2):  # the jobs, then the cameos of all of them
            cameo_counts = [len(job.cameos.all()) for job in selectors.render_jobs_of(user=user)]
        assert cameo_counts == [2, 2, 2]


class TestRenderJobOf:
    def test_the_requester_gets_their_job_by_id_or_its_text(self):
        job = RenderJobFactory()
        assert selectors.render_job_of(user=job.requester, job_id=job.id) == job
        assert selectors.render_job_of(user=job.requester, job_id=str(job.id)) == job

    @pytest.mark.parametrize("case", ["someone_elses", "missing"])
    def test_someone_elses_job_looks_exactly_like_one_that_does_not_exist(self, case):
        job = RenderJobFactory()
        job_id = job.id if case == "someone_elses" else uuid.uuid4()
        with pytest.raises(NotFound) as refused:
            selectors.render_job_of(user=UserFactory(), job_id=job_id)
        assert str(refused.value) == "No such render."


class TestRendersUsedToday:
    def test_counts_the_callers_renders_of_the_last_24_hours_whatever_their_outcome(self):
        user = UserFactory()
        for status in ("queued", "running", "succeeded", "failed", "cancelled"):
            RenderJobFactory(requester=user, status=status)
        RenderJobFactory(requester=user, created_at=timezone.now() - timedelta(hours=23))
        assert selectors.renders_used_today(user=user) == 6

    def test_refused_renders_older_ones_and_other_users_do_not_count(self):
        user = UserFactory()
        RenderJobFactory(requester=user)
        RenderJobFactory(requester=user, status="blocked", error_code="prompt_blocked")
        RenderJobFactory(requester=user, created_at=timezone.now() - timedelta(days=1, minutes=1))
        RenderJobFactory()
        assert selectors.renders_used_today(user=user) == 1

    def test_nothing_requested_is_zero(self):
        assert selectors.renders_used_today(user=UserFactory()) == 0
