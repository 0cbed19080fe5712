"""Rights services: a policy change cancels renders; the revenue ledger splits by the rule, once per event."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from backend.rights import services
from backend.rights.models import LedgerEntry
from backend.videos.models import Video
from tests.factories import UserFactory
from tests.rights.conftest import character, request, video_with_everyone

pytestmark = pytest.mark.django_db


class TestCharacterPolicyUpdate:
    def test_turning_a_character_off_cancels_queued_renders(self, studio, django_capture_on_commit_callbacks):
        comet = character(studio[0])
        job, _ = request(UserFactory())
        with django_capture_on_commit_callbacks(execute=True):
            services.character_policy_update(character=comet, by=studio[1], allowed=False)
        job.refresh_from_db()
        assert (job.status, job.error_code) == ("cancelled", "character_not_allowed")


class TestLedger:
    def test_a_split_follows_the_rule(self, studio, settings):
        video = video_with_everyone(studio)
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
        video = Video.objects.filter(prompt="v", status="published").first() or video_with_everyone(studio)
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
