"""Fuzz every /api/v1/ operation from the OpenAPI schema with schemathesis.

Per generated request: never a 5xx, every 4xx comes in the one error envelope
``{"error": {"code": str, "message": str, "details": dict, "request_id": str}}``, and every success has the
content type and the body the schema documents.

The app runs in-process (WSGI, same thread and database connection as the test), so
each request runs in a savepoint that is rolled back: examples do not see each other's
writes, a database error cannot poison the next example, and ``on_commit`` work (render
jobs, fan-out) is never queued. Now and then a seeded value replaces a generated one (in
the path, the query and the body) so requests reach real rows and not only 404s, or an
edge string replaces a path or query value; and now and then the caller is anonymous or
sends a bad token.

Each operation is its own test (``test_...[GET /api/v1/me]``); run one with ``-k``.
"""

import json
import random
import traceback
import zlib

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.wsgi import application
from tests.factories import (
    AppearanceFactory,
    CameoFactory,
    CameoGrantFactory,
    CharacterFactory,
    PersonCameoFactory,
    RenderJobFactory,
    UserFactory,
    VideoFactory,
)

# schemathesis's in-process WSGI client sends `Host: localhost`.
HOST = "localhost"

with override_settings(ALLOWED_HOSTS=[HOST]):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def seeded(db, settings):
    """A caller with a JWT, and a few objects of theirs and of other people's, by parameter name."""
    from backend.creators.services import follow_create
    from backend.videos import services as video_services

    settings.ALLOWED_HOSTS = [HOST]
    me, other, stranger = UserFactory(), UserFactory(), UserFactory()
    follow_create(follower=me, followee=other)
    my_video = VideoFactory(owner=me)
    other_video = VideoFactory(owner=other)
    draft = VideoFactory(owner=me, status="draft", published_at=None)
    tagged = video_services.video_publish(
        video=VideoFactory(owner=other, status="draft", published_at=None), by=other, caption="kickflips #cats"
    )
    my_cameo = CameoFactory(owner=me, audience="approved")
    other_cameo = CameoFactory(owner=other)
    approved_only = CameoFactory(owner=stranger, audience="approved")
    my_person = PersonCameoFactory(owner=me)
    grant = CameoGrantFactory(cameo=my_cameo, grantee=other)
    AppearanceFactory(cameo=my_cameo, video=other_video)
    comment = video_services.comment_create(video=other_video, author=me, body="first")
    character = CharacterFactory(holder__name="Moonbeam Studios", name="Captain Comet")
    character.holder.members.add(me)
    job = RenderJobFactory(requester=me, prompt="a cat", duration_s=4)
    video_ids = [my_video.id, other_video.id, draft.id, tagged.id]
    cameo_ids = [my_cameo.id, other_cameo.id, approved_only.id, my_person.id]
    return {
        "token": str(RefreshToken.for_user(me).access_token),
        "values": {
            "video_id": video_ids,
            "target_id": [*video_ids, comment.id, other.id, other_cameo.id],
            "cameo_id": cameo_ids,
            "grant_id": [grant.id],
            "comment_id": [comment.id],
            "render_id": [str(job.id)],
            "handle": [me.handle, other.handle, stranger.handle],
            "name": ["cats"],
            "period": ["2026-01", "1999-12", "0000-01", "9999-12"],
            "cameo_ids": [[my_cameo.id], [other_cameo.id, approved_only.id]],
            "character_ids": [[character.id]],
        },
    }


@pytest.fixture
def unthrottled(monkeypatch):
    """Throttles would turn most examples into 429s (the envelope of a 429 is tested in test_errors.py)."""
    rates = {scope: "1000000/min" for scope in SimpleRateThrottle.THROTTLE_RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def in_process_requests():
    """As Django's test client does: the end of a request must not close the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def server_errors():
    """Tracebacks of the exceptions Django turned into a 500."""
    captured: list[str] = []

    def record(sender, request=None, **kwargs):
        captured.append(traceback.format_exc())

    got_request_exception.connect(record, dispatch_uid="api-fuzz")
    yield captured
    got_request_exception.disconnect(dispatch_uid="api-fuzz")


# Strings that slip past loose validation: PostgreSQL refuses NUL in text; years at the ends of the calendar.
EDGE_STRINGS = ["\x00", "a\x00b", "0000-01", "9999-12", "9" * 40]


def seeded_or_generated(rng, name: str, generated, values: dict):
    if name not in values:
        return generated
    choice = rng.choice([None, *values[name]])
    return generated if choice is None else choice


def use_seeded_values(case, rng, values: dict) -> None:
    for params in (case.path_parameters, case.query):
        for name in list(params or {}):
            value = seeded_or_generated(rng, name, params[name], values)
            if isinstance(value, str) and rng.random() < 0.15:
                value = rng.choice(EDGE_STRINGS)
            params[name] = value
    if isinstance(case.body, dict):
        for name in list(case.body):
            case.body[name] = seeded_or_generated(rng, name, case.body[name], values)
        events = case.body.get("events")
        for event in events if isinstance(events, list) else []:
            if isinstance(event, dict) and "video_id" in event:
                event["video_id"] = seeded_or_generated(rng, "video_id", event["video_id"], values)


def stable_repr(value) -> str:
    """The same text in every process (a plain repr of some objects shows their address)."""
    return json.dumps(value, default=lambda item: repr(item) if isinstance(item, bytes) else type(item).__name__)


def auth_headers(rng, token: str) -> dict:
    kind = rng.choice(["jwt", "jwt", "jwt", "jwt", "anonymous", "bad"])
    if kind == "anonymous":
        return {}
    return {"Authorization": f"Bearer {token if kind == 'jwt' else token[:-4] + 'AAAA'}"}


def assert_envelope(response) -> None:
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"{response.status_code} is not JSON: {response.content[:300]!r}")
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details", "request_id"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str), body
    assert isinstance(error["details"], dict), body


@schema.parametrize()
@settings(
    max_examples=25,  # per operation, on top of the coverage phase's explicit cases
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_request_without_5xx_and_in_the_envelope(
    case, seeded, unthrottled, in_process_requests, server_errors
):
    # Drawn from the case itself, not from Hypothesis: `given` arguments would switch off the coverage phase.
    body = None if isinstance(case.body, NotSet) else case.body
    rng = random.Random(zlib.crc32(stable_repr([case.path_parameters, case.query, body]).encode()))
    use_seeded_values(case, rng, seeded["values"])
    headers = auth_headers(rng, seeded["token"])
    server_errors.clear()
    with transaction.atomic():
        response = case.call(headers=headers)
        transaction.set_rollback(True)

    request = f"{case.method} {case.formatted_path!r} query={case.query!r} body={body!r} auth={bool(headers)}"
    assert response.status_code < 500, f"{request}\n-> {response.status_code}\n{''.join(server_errors)}"
    if 400 <= response.status_code < 500:
        assert_envelope(response)
    else:  # what the mobile apps are built against: a success looks as the schema says
        checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
        case.validate_response(response, checks=checks)
