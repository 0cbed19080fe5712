import pytest
from django.core.management import CommandError, call_command

from backend.cameos.models import Cameo
from backend.videos.models import Video


@pytest.mark.django_db
def test_demo_data_loads_once_with_every_audience_and_a_remix_tree(settings):
    settings.DEBUG = True
    call_command("demo_data")
    call_command("demo_data")  # idempotent
    assert set(Cameo.objects.values_list("audience", flat=True)) == {"only_me", "approved", "mutuals", "everyone"}
    assert Cameo.objects.filter(status="pending_verification", verifications__status="issued").exists()
    assert Video.objects.filter(status="published").count() == 6
    assert Video.objects.order_by("-depth").first().depth == 3
    assert (
        Video.objects.filter(hashtag_links__hashtag__name="skatecat", hashtag_links__hashtag__is_challenge=True).count()
        == 4
    )
    assert all(video.mp4 and video.hls for video in Video.objects.all())
    from backend.rights.models import Character, LedgerEntry, RevenueEvent

    assert sorted(Character.objects.values_list("allowed", flat=True)) == [False, True]
    assert RevenueEvent.objects.count() == 3 and LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_demo_data_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("demo_data")
