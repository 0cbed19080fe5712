"""Render requests: idempotency, quotas, consent and policy refusals; nothing queued on refusal."""

import pytest

from media.models import RenderJob
from tests.factories import BlockedTermFactory, CameoFactory, ProtectedLikenessFactory, UserFactory

pytestmark = pytest.mark.django_db

RENDERS = "/api/v1/renders"
BODY = {"prompt": "a dragon learning to skate", "duration_s": 5}


@pytest.fixture
def queued(monkeypatch):
    """Messages the request would send to the broker (the worker path is covered in tests/e2e)."""
    sent = []
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: sent.append(kwargs))
    return sent


def post(client, body=BODY, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(RENDERS, body, format="json", **headers)


def test_anonymous_is_refused(api_client):
    assert post(api_client).status_code == 401


def test_a_request_is_queued_once_committed(client_for, user, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(user))
    assert (response.status_code, response.data["status"], response.data["aspect"]) == (201, "queued", "9:16")
    assert queued == [{"job_id": response.data["id"]}]


def test_same_key_same_body_returns_the_same_job_and_another_body_is_409(client_for, user, queued):
    client = client_for(user)
    first = post(client)
    again = post(client)
    assert (again.status_code, again.data["id"]) == (200, first.data["id"])
    conflict = post(client, body={**BODY, "prompt": "something else"})
    assert (conflict.status_code, conflict.data["error"]["code"]) == (409, "idempotency_key_reused")
    assert RenderJob.objects.count() == 1


def test_the_key_is_required_and_scoped_per_user(client_for, queued):
    ana, bea = client_for(UserFactory()), client_for(UserFactory())
    assert post(ana, key=None).data["error"]["code"] == "idempotency_key_required"
    assert post(ana).status_code == post(bea).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "", "duration_s": 5}, "prompt"),
        ({"prompt": "x", "duration_s": "five"}, "duration_s"),
        ({"prompt": "x", "duration_s": 5, "aspect": "4:3"}, "aspect"),
        ({"prompt": "x", "duration_s": 5, "cameo_ids": "1"}, "cameo_ids"),
    ],
)
def test_bad_input_is_a_400_with_the_field(client_for, user, queued, body, field):
    response = post(client_for(user), body=body)
    assert response.status_code == 400
    assert field in response.data["error"]["details"]


def test_duration_over_the_tier_cap_is_refused(client_for, user, queued):
    response = post(client_for(user), body={**BODY, "duration_s": 20})
    assert (response.status_code, response.data["error"]["code"]) == (403, "duration_over_tier_cap")
    user.tier = "pro"
    user.save()
    assert post(client_for(user), body={**BODY, "duration_s": 20}, key="pro").status_code == 201


def test_concurrent_and_daily_caps(client_for, user, queued, settings):
    free = settings.TIER_QUOTAS["free"]
    settings.TIER_QUOTAS = {**settings.TIER_QUOTAS, "free": {**free, "concurrent_renders": 2, "daily_renders": 3}}
    client = client_for(user)
    assert [post(client, key=f"k{n}").status_code for n in range(3)] == [201, 201, 429]
    RenderJob.objects.filter(requester=user).update(status="succeeded")
    assert post(client, key="k3").status_code == 201
    RenderJob.objects.filter(requester=user).update(status="succeeded")
    limited = post(client, key="k4")
    assert (limited.status_code, limited.data["error"]["code"]) == (429, "daily_render_limit")


def test_a_cameo_the_requester_may_not_use_is_refused_and_nothing_is_queued(client_for, user, queued):
    private = CameoFactory(audience="only_me")
    response = post(client_for(user), body={**BODY, "cameo_ids": [private.id]})
    assert (response.status_code, response.data["error"]["code"]) == (403, "cameo_not_allowed")
    assert response.data["error"]["details"]["reason"] == "only_me"
    assert not RenderJob.objects.exists() and queued == []


def test_unknown_cameo_is_404(client_for, user, queued):
    assert post(client_for(user), body={**BODY, "cameo_ids": [999999]}).status_code == 404


@pytest.mark.parametrize("policy", ["protected", "blocklist"])
def test_prompt_policy_refusals_are_kept_as_blocked_jobs_but_never_queued(client_for, user, queued, policy):
    ProtectedLikenessFactory(name="Taylor Swift")
    BlockedTermFactory(term="gore")
    prompt = "taylor swift skating" if policy == "protected" else "lots of GORE please"
    response = post(client_for(user), body={**BODY, "prompt": prompt})
    assert response.status_code == 403
    code = "protected_likeness" if policy == "protected" else "prompt_blocked"
    assert response.data["error"]["code"] == code
    job = RenderJob.objects.get()
    assert (job.status, job.error_code) == ("blocked", code)
    assert queued == []
    assert post(client_for(user), body={**BODY, "prompt": prompt}).status_code == 403  # replay: same refusal


def test_owners_see_their_jobs_and_nobody_elses(client_for, user, queued):
    job_id = post(client_for(user)).data["id"]
    other = client_for(UserFactory())
    assert other.get(f"{RENDERS}/{job_id}").status_code == 404
    assert other.post(f"{RENDERS}/{job_id}/cancel").status_code == 404
    assert [job["id"] for job in client_for(user).get(RENDERS).data["results"]] == [job_id]


def test_cancel_a_queued_job_then_cancelling_a_finished_one_is_409(client_for, user, queued):
    client = client_for(user)
    job_id = post(client).data["id"]
    cancelled = client.post(f"{RENDERS}/{job_id}/cancel")
    assert (cancelled.data["status"], cancelled.data["error"]["code"]) == ("cancelled", "cancelled_by_user")
    assert client.post(f"{RENDERS}/{job_id}/cancel").status_code == 200
    done = post(client, key="other").data["id"]
    RenderJob.objects.filter(id=done).update(status="succeeded")
    assert client.post(f"{RENDERS}/{done}/cancel").status_code == 409


def test_revoking_consent_cancels_queued_jobs_at_once(client_for, user, queued, django_capture_on_commit_callbacks):
    cameo = CameoFactory(audience="everyone")
    job_id = post(client_for(user), body={**BODY, "cameo_ids": [cameo.id]}).data["id"]
    with django_capture_on_commit_callbacks(execute=True):
        client_for(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", {"audience": "only_me"}, format="json")
    job = RenderJob.objects.get(id=job_id)
    assert (job.status, job.error_code) == ("cancelled", "consent_withdrawn")
