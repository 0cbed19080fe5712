"""Moonbeam Studios and Captain Comet, shared by the rights tests."""

import pytest

from backend.rights import services
from backend.videos import services as video_services
from media.services import render_job_request
from tests.factories import AppearanceFactory, CharacterFactory, RightsHolderFactory, UserFactory, VideoFactory


@pytest.fixture
def studio():
    holder = RightsHolderFactory(name="Moonbeam Studios")
    member = UserFactory()
    holder.members.add(member)
    return holder, member


def character(holder, **policy):
    """Captain Comet, allowed anywhere unless ``policy`` says otherwise."""
    return CharacterFactory(holder=holder, **({"name": "Captain Comet", "aliases": "The Comet"} | policy))


def request(user, prompt="Captain Comet surfing", key="k", **extra):
    return render_job_request(requester=user, idempotency_key=key, prompt=prompt, duration_s=5, **extra)


def video_with_everyone(studio):
    """A published remix of a remix, with Captain Comet (12%) and two cameos: every party of the split."""
    holder, _ = studio
    comet = character(holder, revenue_share_bps=1200)
    grandparent = VideoFactory()
    parent = video_services.video_create_draft(owner=UserFactory(), prompt="p", parent=grandparent)
    parent = video_services.video_publish(video=parent, by=parent.owner)  # others remix only posts
    video = video_services.video_create_draft(owner=UserFactory(), prompt="v", parent=parent)
    video = video_services.video_publish(video=video, by=video.owner)
    services.video_characters_record(video=video, characters=[comet])
    for _ in range(2):
        AppearanceFactory(video=video)
    return video
