import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from backend.cameos.models import Appearance
from backend.core.errors import DomainError
from backend.rights import selectors, services
from backend.rights.models import Character, LedgerEntry, RevenueEvent, RightsHolder, UsageApproval
from backend.videos import services as video_services
from backend.videos.models import Video
from media.models import RenderJob
from media.services import JobCancelled, _recheck_consent, remix_request, render_job_request
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def studio():
    holder = RightsHolder.objects.create(name="Moonbeam Studios")
    member = UserFactory()
    holder.members.add(member)
    return holder, member


def character(holder, **policy):
    fields = {"name": "Captain Comet", "aliases": "The Comet", "allowed": True} | policy
    return Character.objects.create(holder=holder, **fields)


def request(user, prompt="Captain Comet surfing", key="k", **extra):
    return render_job_request(requester=user, idempotency_key=key, prompt=prompt, duration_s=5, **extra)


class TestPolicyAtRequest:
    def test_named_in_the_prompt_or_picked_explicitly(self, studio):
        comet = character(studio[0], restrictions="never holds a weapon")
        job, _ = request(UserFactory(), prompt="the comet, in a café")
        assert list(job.characters.all()) == [comet]
        assert "Captain Comet must never appear: never holds a weapon" in job.directions
        picked, _ = request(UserFactory(), prompt="a quiet beach", character_ids=[comet.id], key="k2")
        assert list(picked.characters.all()) == [comet]

    def test_not_allowed_is_refused_and_nothing_is_queued(self, studio):
        character(studio[0], allowed=False)
        with pytest.raises(selectors.CharacterRefused) as excinfo:
            request(UserFactory())
        assert excinfo.value.detail.code == "character_not_allowed"
        assert not RenderJob.objects.exists()

    def test_official_remixes_only(self, studio):
        holder, member = studio
        character(holder, scope="official_remixes")
        with pytest.raises(selectors.CharacterRefused) as excinfo:
            request(UserFactory())
        assert excinfo.value.detail.code == "character_official_remixes_only"
        official = VideoFactory(owner=member)
        fan_remix = VideoFactory()
        job, _ = remix_request(requester=UserFactory(), idempotency_key="r", source=official,
                               prompt="Captain Comet again", duration_s=5)  # fmt: skip
        assert job.kind == "remix"
        with pytest.raises(selectors.CharacterRefused):
            remix_request(requester=UserFactory(), idempotency_key="r2", source=fan_remix, prompt="Captain Comet",
                          duration_s=5)  # fmt: skip

    def test_needs_approval_creates_a_request_and_works_once_approved(self, studio):
        user = UserFactory()
        comet = character(studio[0], needs_approval=True)
        with pytest.raises(selectors.CharacterRefused) as excinfo:
            request(user)
        assert excinfo.value.detail.code == "character_needs_approval"
        approval = UsageApproval.objects.get(character=comet, requester=user)
        approval.status = "approved"
        approval.save()
        assert request(user, key="again")[0].status == "queued"

    def test_via_the_api_the_refusal_is_403(self, studio, client_for):
        character(studio[0], allowed=False)
        response = client_for(UserFactory()).post("/api/v1/renders", {"prompt": "captain comet", "duration_s": 5},
                                                  format="json", HTTP_IDEMPOTENCY_KEY="x")  # fmt: skip
        assert (response.status_code, response.data["error"]["code"]) == (403, "character_not_allowed")

    def test_characters_are_listed_with_their_policy(self, studio, api_client):
        character(studio[0], needs_approval=True, revenue_share_bps=1500)
        body = api_client.get("/api/v1/characters").data["results"][0]
        assert (body["name"], body["holder"], body["aliases"], body["needs_approval"]) == (
            "Captain Comet", "Moonbeam Studios", ["The Comet"], True)  # fmt: skip


class TestPolicyAtStartAndPublish:
    def test_turning_a_character_off_cancels_queued_renders(self, studio, django_capture_on_commit_callbacks):
        comet = character(studio[0])
        job, _ = request(UserFactory())
        with django_capture_on_commit_callbacks(execute=True):
            services.character_policy_update(character=comet, by=studio[1], allowed=False)
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("cancelled", "character_not_allowed")

    def test_the_worker_rechecks_at_start(self, studio):
        comet = character(studio[0])
        job, _ = request(UserFactory())
        Character.objects.filter(id=comet.id).update(needs_approval=True)
        job.status = "running"
        job.save()
        with pytest.raises(JobCancelled):
            _recheck_consent(job)
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("cancelled", "character_needs_approval")

    def test_publish_rechecks_and_published_videos_stay_up(self, studio):
        comet = character(studio[0])
        creator = UserFactory()
        draft = video_services.video_create_draft(owner=creator, prompt="Captain Comet")
        services.video_characters_record(video=draft, characters=[comet])
        published = video_services.video_create_draft(owner=creator, prompt="Captain Comet")
        services.video_characters_record(video=published, characters=[comet])
        video_services.video_publish(video=published, by=creator)
        services.character_policy_update(character=comet, by=studio[1], allowed=False)
        with pytest.raises(DomainError) as excinfo:
            video_services.video_publish(video=draft, by=creator)
        assert excinfo.value.detail.code == "character_not_allowed"
        published.refresh_from_db()
        assert published.status == "published"  # nothing retroactive unless the holder asks


def _video_with_everyone(studio):
    holder, _ = studio
    comet = character(holder, revenue_share_bps=1200)
    grandparent = VideoFactory()
    parent = video_services.video_create_draft(owner=UserFactory(), prompt="p", parent=grandparent)
    parent = video_services.video_publish(video=parent, by=parent.owner)  # others remix only posts
    video = video_services.video_create_draft(owner=UserFactory(), prompt="v", parent=parent)
    video = video_services.video_publish(video=video, by=video.owner)
    services.video_characters_record(video=video, characters=[comet])
    for _ in range(2):
        Appearance.objects.create(cameo=CameoFactory(), video=video)
    return video


class TestLedger:
    def test_a_split_follows_the_rule(self, studio, settings):
        video = _video_with_everyone(studio)
        services.revenue_event_record(video=video, kind="ad", amount_minor=10_000, currency="eur", external_id="e1")
        by_party = {}
        for entry in LedgerEntry.objects.all():
            by_party[entry.party] = by_party.get(entry.party, 0) + entry.amount_minor
        assert by_party == {"rights_holder": 1200, "cameo_owner": 1500, "ancestor": 1000, "platform": 3000,
                            "creator": 3300}  # fmt: skip

    @hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(amount=st.integers(min_value=1, max_value=10**11), replays=st.integers(min_value=0, max_value=3))
    def test_every_split_adds_up_is_never_negative_and_a_replay_changes_nothing(self, studio, amount, replays):
        # Examples share the test's transaction: make the video once.
        video = Video.objects.filter(prompt="v", status="published").first() or _video_with_everyone(studio)
        external_id = f"evt-{amount}-{replays}"
        with transaction.atomic():
            event, _ = services.revenue_event_record(video=video, kind="tip", amount_minor=amount,
                                                           currency="usd", external_id=external_id)  # fmt: skip
        entries = list(event.entries.all())
        assert sum(entry.amount_minor for entry in entries) == amount
        assert all(entry.amount_minor >= 0 for entry in entries)
        before = LedgerEntry.objects.count()
        for _ in range(replays):
            again, created_again = services.revenue_event_record(video=video, kind="tip", amount_minor=amount,
                                                                 currency="usd", external_id=external_id)  # fmt: skip
            assert (again.id, created_again) == (event.id, False)
        assert LedgerEntry.objects.count() == before

    def test_statements_per_video_and_character_with_csv(self, studio, client_for):
        _, member = studio
        video = _video_with_everyone(studio)
        services.revenue_event_record(video=video, kind="ad", amount_minor=10_000, currency="EUR", external_id="s1")
        period = RevenueEvent.objects.get().created_at.strftime("%Y-%m")
        creator = client_for(video.owner).get("/api/v1/rights/statements", {"period": period}).data
        assert creator["totals"] == {"EUR": 3300}
        assert creator["per_video"][video.id]["EUR"]["creator"] == 3300
        studio_view = client_for(member).get("/api/v1/rights/statements", {"period": period}).data
        assert studio_view["per_character"] == {"Captain Comet": {"EUR": 1200}}
        csv = client_for(member).get("/api/v1/rights/statements", {"period": period, "export": "csv"})
        assert csv["Content-Type"] == "text/csv"
        assert "character,Captain Comet,rights_holder,EUR,1200" in csv.content.decode()
        for period in ("2026-13", "0000-01", "9999-12", "26-01"):
            response = client_for(member).get("/api/v1/rights/statements", {"period": period})
            assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_period")


class TestAdmin:
    @pytest.fixture
    def staff(self, client):
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        return client

    def test_holder_asks_to_take_down_published_videos_audited(self, studio, staff):
        from django.urls import reverse

        from backend.core.models import AuditLogEntry

        comet = character(studio[0])
        creator = UserFactory()
        video = video_services.video_create_draft(owner=creator, prompt="Captain Comet")
        services.video_characters_record(video=video, characters=[comet])
        video = video_services.video_publish(video=video, by=creator)
        staff.post(reverse("admin:rights_character_changelist"), {"action": "take_down_videos",
                                                                  "_selected_action": [comet.id]})  # fmt: skip
        video.refresh_from_db()
        assert video.status == "removed"
        assert AuditLogEntry.objects.filter(action="character.take_down").exists()

    def test_statement_export_and_approvals_queue(self, studio, staff):
        from django.urls import reverse

        holder, _ = studio
        video = _video_with_everyone(studio)
        services.revenue_event_record(video=video, kind="ad", amount_minor=5000, currency="EUR", external_id="adm")
        response = staff.post(reverse("admin:rights_rightsholder_changelist"),
                              {"action": "this_months_statement", "_selected_action": [holder.id]})  # fmt: skip
        assert "character,Captain Comet,rights_holder,EUR,600" in response.content.decode()
        approval = UsageApproval.objects.create(character=Character.objects.get(), requester=UserFactory())
        staff.post(reverse("admin:rights_usageapproval_changelist"), {"action": "approve",
                                                                      "_selected_action": [approval.id]})  # fmt: skip
        approval.refresh_from_db()
        assert approval.status == "approved"
        for model in ("revenueevent", "ledgerentry", "character", "usageapproval"):
            assert staff.get(reverse(f"admin:rights_{model}_changelist")).status_code == 200


POLICY_CHANGES = {
    "not_allowed": ({"allowed": False}, "character_not_allowed"),
    "official_remixes_only": ({"scope": "official_remixes"}, "character_official_remixes_only"),
    "needs_approval": ({"needs_approval": True}, "character_needs_approval"),
}


@pytest.mark.parametrize("policy", POLICY_CHANGES)
def test_every_policy_at_start(studio, policy):
    comet = character(studio[0])
    job, _ = request(UserFactory())
    change, code = POLICY_CHANGES[policy]
    Character.objects.filter(id=comet.id).update(**change)
    RenderJob.objects.filter(id=job.id).update(status="running")
    job.refresh_from_db()
    with pytest.raises(JobCancelled):
        _recheck_consent(job)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("cancelled", code)


@pytest.mark.parametrize("policy", POLICY_CHANGES)
def test_every_policy_at_publish(studio, policy):
    comet = character(studio[0])
    creator = UserFactory()
    draft = video_services.video_create_draft(owner=creator, prompt="Captain Comet")
    services.video_characters_record(video=draft, characters=[comet])
    change, code = POLICY_CHANGES[policy]
    Character.objects.filter(id=comet.id).update(**change)
    with pytest.raises(DomainError) as excinfo:
        video_services.video_publish(video=draft, by=creator)
    assert excinfo.value.detail.code == code
    draft.refresh_from_db()
    assert draft.status == "draft"
