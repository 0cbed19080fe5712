"""The render pipeline, one module per use case; callers import from here.

- ``request``: a render or a remix asked for (quotas, consent, policy, idempotency);
- ``worker``: a queued job claimed, rendered by the provider, its original stored;
- ``postprocess``: renditions, watermark, provenance, and the draft video;
- ``lifecycle``: cancel, re-check after consent or policy changes, reap, retry;
- ``jobs``: what every step shares (running state, heartbeat, consent re-check, finishing).

A job moves queued → running → succeeded | failed | cancelled. Every step
locks the job row and checks its state first, so a message delivered twice,
a worker killed halfway or a reaper running at the same moment never renders
a job twice nor stores its result twice. Consent is checked when the job is
requested, when a worker starts it, before the provider's result is stored,
and again before the draft video is created.
"""

from media.services.jobs import JobCancelled, render_job_cancel, render_job_fail
from media.services.lifecycle import (
    render_job_retry,
    render_jobs_cancel_of_requester,
    render_jobs_cancel_with_character,
    render_jobs_erase,
    render_jobs_reap,
    render_jobs_recheck_cameo,
    render_provider_job_cancel,
)
from media.services.postprocess import render_job_postprocess
from media.services.request import (
    QuotaExceeded,
    RenderRefused,
    RenderSpecRefused,
    remix_request,
    render_job_request,
)
from media.services.worker import render_job_claim, render_job_execute

__all__ = [
    "JobCancelled",
    "QuotaExceeded",
    "RenderRefused",
    "RenderSpecRefused",
    "remix_request",
    "render_job_cancel",
    "render_job_claim",
    "render_job_execute",
    "render_job_fail",
    "render_job_postprocess",
    "render_job_request",
    "render_job_retry",
    "render_jobs_cancel_of_requester",
    "render_jobs_cancel_with_character",
    "render_jobs_erase",
    "render_jobs_reap",
    "render_jobs_recheck_cameo",
    "render_provider_job_cancel",
]
