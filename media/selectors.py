from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.errors import NotFound
from backend.creators.models import User
from media.models import RenderJob


def render_jobs_of(*, user: User) -> QuerySet[RenderJob]:
    return RenderJob.objects.filter(requester=user).prefetch_related("cameos")


def render_job_of(*, user: User, job_id) -> RenderJob:
    """The requester's own job; anyone else's is a 404."""
    job = render_jobs_of(user=user).filter(id=job_id).first()
    if job is None:
        raise NotFound(_("No such render."))
    return job


def _renders_of_last_day(user: User) -> QuerySet[RenderJob]:
    since = timezone.now() - timedelta(days=1)
    return RenderJob.objects.filter(requester=user, created_at__gte=since).exclude(status=RenderJob.Status.BLOCKED)


def renders_used_today(*, user: User) -> int:
    """Renders requested in the last 24 hours (refused ones do not count): the ``daily_renders`` allowance."""
    return _renders_of_last_day(user).count()


def daily_render_frees_in_s(*, user: User) -> int:
    """Seconds until the oldest render of the last 24 hours leaves the window (a 429's Retry-After)."""
    oldest = _renders_of_last_day(user).order_by("created_at").values_list("created_at", flat=True).first()
    if oldest is None:
        return 1
    return max(1, int((oldest + timedelta(days=1) - timezone.now()).total_seconds()) + 1)
