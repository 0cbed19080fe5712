"""The schema is the contract: a client generated from it drives a whole journey.

At the start of the session openapi-python-client generates a Python client from the schema the live
server serves (/api/schema/), into a temporary folder; every request below goes through its
functions and models, none is written by hand. The client refuses any status the schema does not
document for an operation (``raise_on_unexpected_status``) and parses every body into the models
the schema describes; and every JSON body it receives is also checked against the schema of its
operation and status (a null where the schema does not say nullable, a missing required field), so a
schema that drifts from what the server answers fails here.

Real everything: a live server, Celery workers on Redis, PostgreSQL, S3 (moto over HTTP), the local
``preview`` provider (FFmpeg) and an SMTP server that receives the verification mails.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
import uuid

import httpx
import jsonschema
import pytest
import yaml
from django.test import override_settings
from django.utils import timezone

from backend.rights import services as rights_services
from backend.videos.models import Video
from tests.factories import VideoFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PACKAGE = "remix_client"
# The download of a data export is a zip; the generator reads it as the bytes it is.
GENERATOR_CONFIG = "content_type_overrides:\n  application/zip: application/octet-stream\npost_hooks: []\n"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def generated(live_server, tmp_path_factory):
    """The generated client package, imported; generation warnings fail the session's tests."""
    root = tmp_path_factory.mktemp("generated-client")
    # Before any test runs, so before pytest-django lets the live server's host in for one.
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        schema = httpx.get(f"{live_server.url}/api/schema/", timeout=60)
    assert schema.status_code == 200, schema.text[:500]
    (root / "schema.yaml").write_bytes(schema.content)
    (root / "config.yaml").write_text(GENERATOR_CONFIG)
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(root / "schema.yaml"),
         "--output-path", str(root / PACKAGE), "--meta", "none", "--config", str(root / "config.yaml"),
         "--fail-on-warning"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield Generated(live_server.url, ResponseChecker(yaml.safe_load(schema.content)))
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def json_schema(node, *, names: bool = False):
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a null alternative."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:  # the keys of ``properties`` are field names, whatever they are called
        return {name: json_schema(value) for name, value in node.items()}
    converted = {key: json_schema(value, names=key in ("properties", "schemas")) for key, value in node.items()
                 if key not in ("nullable", "example", "readOnly", "writeOnly")}  # fmt: skip
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted


class ResponseChecker:
    """Checks every JSON answer against the schema its operation documents for its status."""

    def __init__(self, schema: dict):
        self.components = json_schema(schema["components"])
        # Literal paths first: /cameos/available before /cameos/{cameo_id}.
        self.routes = [
            (re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"), path, item)
            for path, item in sorted(schema["paths"].items(), key=lambda route: route[0].count("{"))
        ]
        self.checked = 0

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        if not response.headers.get("content-type", "").startswith("application/json"):
            return
        method, path = response.request.method.lower(), response.request.url.path
        (template, item) = next((template, item) for pattern, template, item in self.routes if pattern.match(path))
        documented = item[method]["responses"][str(response.status_code)]
        schema = json_schema(documented["content"]["application/json"]["schema"])
        validator = jsonschema.Draft202012Validator({**schema, "components": self.components})
        errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(response.json())]
        assert not errors, (method.upper(), template, response.status_code, errors[:5])
        self.checked += 1


class Generated:
    """The generated package: ``op("renders.renders_create")``, ``models.X``, clients for a token."""

    def __init__(self, base_url: str, checker: ResponseChecker):
        self.base_url, self.checker = base_url, checker
        self.package = importlib.import_module(PACKAGE)
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")

    def op(self, name: str):
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    def _options(self) -> dict:
        hooks = {"event_hooks": {"response": [self.checker]}}
        return {"raise_on_unexpected_status": True, "timeout": httpx.Timeout(60), "httpx_args": hooks}

    def anonymous(self):
        return self.package.Client(base_url=self.base_url, **self._options())

    def signed_in(self, access: str):
        return self.package.AuthenticatedClient(base_url=self.base_url, token=access, **self._options())


def answer(response, status: int):
    """The parsed body of an answer that must have ``status``."""
    assert response.status_code == status, (response.status_code, response.content[:1000])
    return response.parsed


def refusal(response, status: int, code: str) -> None:
    """An answer in the documented error envelope, parsed as the ErrorEnvelope model."""
    envelope = answer(response, status)
    assert type(envelope).__name__ == "ErrorEnvelope", envelope
    assert envelope.error.code == code, envelope.error
    assert envelope.error.request_id


def wait_for_mail(inbox, address: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mails := inbox.to(address):
            return mails[-1]
        time.sleep(0.2)
    raise AssertionError(f"no mail reached {address}")


def wait_for_render(gen, client, render_id, worker, timeout: float = 240):
    retrieve = gen.op("renders.renders_retrieve")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = answer(retrieve.sync_detailed(render_id=render_id, client=client), 200)
        if job.status.value in ("succeeded", "failed", "cancelled", "blocked"):
            assert job.status.value == "succeeded", (job.error, worker.log()[-3000:])
            return job
        time.sleep(0.5)
    raise AssertionError(f"render {render_id} did not finish:\n{worker.log()[-3000:]}")


def test_a_whole_journey_through_the_generated_client(generated, smtp_inbox, start_worker, settings):
    gen, m = generated, generated.models
    worker = start_worker(env={"EMAIL_URL": f"smtp://127.0.0.1:{settings.EMAIL_PORT}"})
    anonymous = gen.anonymous()

    # Sign up: maya owns a cameo, leo makes videos with it, sam watches.
    people = {}
    for handle in ("maya", "leo", "sam"):
        body = m.RegisterInputRequest(email=f"{handle}@example.com", password=PASSWORD, handle=handle)
        signed_up = answer(gen.op("auth.auth_register").sync_detailed(client=anonymous, body=body), 201)
        assert (signed_up.user.handle, signed_up.user.email_verified) == (handle, False)
        people[handle] = signed_up
    # Signing in gives a pair too.
    token = m.TokenObtainPairRequest(email="leo@example.com", password=PASSWORD)
    pair = answer(gen.op("auth.auth_token_create").sync_detailed(client=anonymous, body=token), 200)
    maya, leo, sam = (gen.signed_in(people["maya"].tokens.access), gen.signed_in(pair.access),
                      gen.signed_in(people["sam"].tokens.access))  # fmt: skip
    wrong = m.TokenObtainPairRequest(email="leo@example.com", password="not it")
    refusal(gen.op("auth.auth_token_create").sync_detailed(client=anonymous, body=wrong), 401, "no_active_account")

    # Verify the email addresses of maya and leo through the links mailed to them (by the worker).
    for handle in ("maya", "leo"):
        mail = wait_for_mail(smtp_inbox, f"{handle}@example.com")
        verify = m.TokenInputRequest(token=mail.link_param("token"))
        answer(gen.op("auth.auth_verify_email").sync_detailed(client=anonymous, body=verify), 204)
    me = answer(gen.op("me.me_retrieve").sync_detailed(client=leo), 200)
    assert me.email_verified and me.quotas.renders_left_today > 0

    # Maya's character cameo, for the people she approves.
    create = m.CameoCreateInputRequest(
        kind=m.CameoKindEnum.CHARACTER, display_name="Captain Whiskers", audience=m.CameoAudienceEnum.APPROVED,
        appearance_notes="an orange tabby in a tiny red cape",
    )  # fmt: skip
    cameo = answer(gen.op("cameos.cameos_create").sync_detailed(client=maya, body=create), 201)
    assert (cameo.status, cameo.audience) == (m.CameoStatusEnum.ACTIVE, m.CameoAudienceEnum.APPROVED)

    # Leo asks to use it (sam, unverified, may not ask), maya approves, and leo may use it now.
    grants_create = gen.op("cameos.cameos_grants_create")
    refusal(grants_create.sync_detailed(cameo_id=cameo.id, client=sam), 403, "email_unverified")
    available = gen.op("cameos.cameos_available_list")
    assert cameo.id not in [c.id for c in answer(available.sync_detailed(client=leo), 200).results]
    grant = answer(grants_create.sync_detailed(cameo_id=cameo.id, client=leo), 201)
    assert grant.status == m.GrantStatusEnum.REQUESTED
    pending = answer(gen.op("cameos.cameos_grants_list").sync_detailed(cameo_id=cameo.id, client=maya), 200)
    assert [(g.id, g.grantee_handle) for g in pending.results] == [(grant.id, "leo")]
    approve = gen.op("cameos.cameos_grants_approve_create")
    approved = answer(approve.sync_detailed(cameo_id=cameo.id, grant_id=grant.id, client=maya), 200)
    assert approved.status == m.GrantStatusEnum.APPROVED
    assert cameo.id in [c.id for c in answer(available.sync_detailed(client=leo), 200).results]

    # Leo renders a short clip with the cameo; nobody signed in may not.
    render_create = gen.op("renders.renders_create")
    spec = m.RenderRequestInputRequest(
        prompt="a cat in a red cape skateboarding down a rainy street", duration_s=3,
        resolution=m.RenderResolutionEnum("480p"), cameo_ids=[cameo.id],
    )  # fmt: skip
    refusal(render_create.sync_detailed(client=anonymous, body=spec, idempotency_key="x"), 401, "not_authenticated")
    key = str(uuid.uuid4())
    queued = answer(render_create.sync_detailed(client=leo, body=spec, idempotency_key=key), 201)
    assert (queued.status, queued.cameo_ids) == (m.RenderStatusEnum.QUEUED, [cameo.id])
    again = answer(render_create.sync_detailed(client=leo, body=spec, idempotency_key=key), 200)
    assert again.id == queued.id  # a retry is the same job
    job = wait_for_render(gen, leo, queued.id, worker)
    assert job.error is None and job.progress == 100

    # The draft, then published.
    draft = answer(gen.op("videos.videos_retrieve").sync_detailed(video_id=job.result_video_id, client=leo), 200)
    assert (draft.status, draft.owner.handle) == (m.VideoStatusEnum.DRAFT, "leo")
    publish = gen.op("videos.videos_publish_create")
    post = answer(
        publish.sync_detailed(
            video_id=draft.id, client=leo,
            body=m.PublishInputRequest(caption="rainy night run #skatecat", visibility=m.VideoVisibilityEnum.PUBLIC),
        ),
        200,
    )  # fmt: skip
    assert post.status == m.VideoStatusEnum.PUBLISHED and post.mp4_url.startswith("http")

    # Maya remixes it (her own cameo is in it), and publishes the remix.
    remix_spec = m.RemixRequestInputRequest(
        prompt="the same street at night, snow falling", duration_s=3, resolution=m.RenderResolutionEnum("480p")
    )
    remix = gen.op("videos.videos_remix_create")
    remix_job = answer(remix.sync_detailed(video_id=post.id, client=maya, body=remix_spec,
                                           idempotency_key=str(uuid.uuid4())), 201)  # fmt: skip
    assert (remix_job.kind, remix_job.source_video_id) == (m.RenderKindEnum.REMIX, post.id)
    remix_job = wait_for_render(gen, maya, remix_job.id, worker)
    remix_post = answer(
        publish.sync_detailed(video_id=remix_job.result_video_id, client=maya, body=m.PublishInputRequest()), 200
    )
    assert remix_post.parent_id == post.id

    # Lineage both ways.
    lineage = gen.op("videos.videos_lineage_retrieve")
    of_remix = answer(lineage.sync_detailed(video_id=remix_post.id, client=sam), 200)
    assert [node.id for node in of_remix.ancestors] == [post.id] and of_remix.depth == 1
    of_post = answer(lineage.sync_detailed(video_id=post.id, client=sam), 200)
    assert [node.id for node in of_post.remixes] == [remix_post.id]

    # Sam's feed, page after page by its `next` cursor, to the end.
    others = [VideoFactory().id for _ in range(14)]
    feed = gen.op("feed.feed_retrieve")
    seen, cursor, pages = [], gen.types.UNSET, 0
    while True:
        page = answer(feed.sync_detailed(client=sam, cursor=cursor), 200)
        seen += [card.id for card in page.results]
        pages += 1
        if not page.next_:
            break
        cursor = page.next_
        assert pages < 20, "the feed never ends"
    assert pages >= 2 and len(seen) == len(set(seen))
    assert {post.id, remix_post.id, *others} <= set(seen)

    # Sam likes, comments on and reports what he watched.
    liked = answer(gen.op("videos.videos_like_create").sync_detailed(video_id=post.id, client=sam), 200)
    assert (liked.liked, liked.like_count) == (True, 1)
    comment_create = gen.op("videos.videos_comments_create")
    comment = answer(comment_create.sync_detailed(video_id=post.id, client=sam,
                                                  body=m.CommentInputRequest(body="love the cape")), 201)  # fmt: skip
    comments = answer(gen.op("videos.videos_comments_list").sync_detailed(video_id=post.id, client=leo), 200)
    assert [(c.id, c.author_handle, c.body) for c in comments.results] == [(comment.id, "sam", "love the cape")]
    report = m.ReportInputRequest(
        target_type=m.ModerationTargetTypeEnum.VIDEO, target_id=remix_post.id, reason=m.ReportReasonEnum.SPAM
    )
    reported = answer(gen.op("reports.reports_create").sync_detailed(client=sam, body=report), 201)
    assert (reported.target_id, reported.reason) == (remix_post.id, m.ReportReasonEnum.SPAM)

    # What the post earned this month, on leo's statement (revenue comes from the ad integration).
    rights_services.revenue_event_record(
        video=Video.objects.get(id=post.id), kind="ad", amount_minor=10_000, currency="EUR", external_id="journey"
    )
    period = timezone.now().strftime("%Y-%m")
    statements = gen.op("rights.rights_statements_retrieve")
    statement = answer(statements.sync_detailed(client=leo, period=period), 200)
    assert statement.period == period and statement.totals["EUR"] > 0
    assert str(post.id) in statement.per_video.additional_properties
    refusal(statements.sync_detailed(client=leo, period="2026-13"), 400, "invalid_period")
    assert gen.checker.checked > 40  # every answer above was checked against the schema
