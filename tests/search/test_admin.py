"""Moderators' search boxes read search's indexes: accents aside, anywhere in a name, caption or prompt."""

import pytest
from django.urls import reverse

from backend.moderation import services as moderation_services
from tests.factories import UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def listed(staff_client, model: str, query: str) -> list:
    response = staff_client.get(reverse(f"admin:{model}_changelist"), {"q": query})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_users_by_handle_or_name_anywhere_accents_aside_or_email(staff_client):
    ines = UserFactory(handle="the_ines", display_name="Inès Marchand", email="ines@example.com")
    UserFactory(handle="bob", display_name="Bob")
    assert listed(staff_client, "creators_user", "INES") == [ines]
    assert listed(staff_client, "creators_user", "marchand") == [ines]
    assert listed(staff_client, "creators_user", "Ines@Example.com") == [ines]
    assert listed(staff_client, "creators_user", str(ines.id)) == [ines]


def test_videos_by_caption_prompt_hidden_or_not_and_owner(staff_client):
    owner = UserFactory(handle="creme_maker")
    hidden = VideoFactory(owner=owner, caption="dessert time", prompt="brûlée torch closeup", prompt_hidden=True)
    draft = VideoFactory(caption="Crème caramel", status="draft", published_at=None)
    VideoFactory(caption="nothing here")
    assert listed(staff_client, "videos_video", "brulee") == [hidden]
    assert set(listed(staff_client, "videos_video", "creme")) == {draft, hidden}  # a caption, a handle
    assert set(listed(staff_client, "videos_video", "creme_mak")) == {hidden}


def test_cases_by_report_details_or_target(staff_client):
    video = VideoFactory(caption="a video")
    reporter = UserFactory()
    report = moderation_services.report_create(
        reporter=reporter, target_type="video", target_id=video.id, reason="spam", details="Spammy crypto giveaway"
    )
    case = report.case
    assert listed(staff_client, "moderation_case", "giveaway") == [case]
    assert listed(staff_client, "moderation_case", str(video.id)) == [case]
    assert listed(staff_client, "moderation_case", "unrelated") == []
