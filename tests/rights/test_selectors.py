"""Rights reads: the character policy at request, at the worker's start and at publish; the statements."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.core.errors import DomainError
from backend.rights import selectors, services
from backend.rights.models import Character, LedgerEntry, RevenueEvent, UsageApproval
from backend.videos import services as video_services
from media.models import RenderJob
from media.services import JobCancelled, remix_request
from media.services.jobs import job_consent_recheck
from tests.factories import UserFactory, VideoFactory
from tests.rights.conftest import character, request, video_with_everyone

pytestmark = pytest.mark.django_db


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


class TestPolicyAtStartAndPublish:
    def test_the_worker_rechecks_at_start(self, studio):
        comet = character(studio[0])
        job, _ = request(UserFactory())
        Character.objects.filter(id=comet.id).update(needs_approval=True)
        job.status = "running"
        job.save()
        with pytest.raises(JobCancelled):
            job_consent_recheck(job)
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
        job_consent_recheck(job)
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


class TestStatements:
    def test_a_creator_and_a_holder_member_see_their_parts_of_a_month(self, studio):
        _, member = studio
        video = video_with_everyone(studio)
        services.revenue_event_record(video=video, kind="ad", amount_minor=10_000, currency="EUR", external_id="s1")
        when = RevenueEvent.objects.get().created_at
        creator = selectors.statement(user=video.owner, year=when.year, month=when.month)
        assert (creator["period"], creator["totals"]) == (f"{when:%Y-%m}", {"EUR": 3300})
        assert creator["per_video"] == {video.id: {"EUR": {"creator": 3300}}}
        holder = selectors.statement(user=member, year=when.year, month=when.month)
        assert (holder["totals"], holder["per_character"]) == ({"EUR": 1200}, {"Captain Comet": {"EUR": 1200}})
        assert selectors.holder_statement(holder=studio[0], year=when.year, month=when.month) == {
            "period": f"{when:%Y-%m}",
            "totals": {"EUR": 1200},
            "per_video": {video.id: {"EUR": {"rights_holder": 1200}}},
            "per_character": {"Captain Comet": {"EUR": 1200}},
        }

    @pytest.mark.parametrize(("year", "month"), [(2025, 12), (2026, 1), (2026, 6)])
    def test_a_month_runs_from_its_first_instant_to_the_next_months(self, studio, year, month):
        video = video_with_everyone(studio)
        event, _ = services.revenue_event_record(video=video, kind="ad", amount_minor=1000, currency="EUR",
                                                 external_id="m")  # fmt: skip
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        for created_at, counted in ((start, True), (end - timedelta(microseconds=1), True), (end, False),
                                    (start - timedelta(microseconds=1), False)):  # fmt: skip
            LedgerEntry.objects.filter(event=event).update(created_at=created_at)
            totals = selectors.statement(user=video.owner, year=year, month=month)["totals"]
            assert bool(totals) is counted, created_at

    def test_the_csv_has_a_row_per_video_party_and_per_character(self):
        data = {"period": "2026-03", "totals": {"EUR": 5}, "per_video": {7: {"EUR": {"creator": 3, "platform": 2}}},
                "per_character": {"Captain Comet": {"EUR": 1}}}  # fmt: skip
        assert selectors.statement_csv(data).splitlines() == [
            "period,kind,item,party,currency,amount_minor",
            "2026-03,video,7,creator,EUR,3",
            "2026-03,video,7,platform,EUR,2",
            "2026-03,character,Captain Comet,rights_holder,EUR,1",
        ]
