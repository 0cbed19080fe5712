"""Every event that notifies someone reaches the inbox: the lower app's real service writes the task's
outbox message in its own transaction (none survives a rollback), and the task, run twice as a
redelivering worker would, leaves the one item the recipient sees: kind, actors, target, deep link,
and nothing private (a draft's prompt)."""

import json

import pytest
from django.db import transaction
from redis import RedisError

from backend.cameos import services as cameo_services
from backend.cameos.selectors import ProtectedLikenessRefused
from backend.core.http import ProviderPermanentError
from backend.core.models import OutboxMessage
from backend.creators import services as creator_services
from backend.moderation import services as moderation_services
from backend.moderation.models import Case
from backend.rights import services as rights_services
from backend.videos import services as video_services
from media import services as media_services
from media.models import RenderJob
from notifications import receivers, tasks
from notifications.models import Kind, Notification
from tests.factories import (
    AppearanceFactory,
    BlockFactory,
    CameoFactory,
    CameoGrantFactory,
    CameoVerificationFactory,
    CharacterFactory,
    PersonCameoFactory,
    ProtectedLikenessFactory,
    UserFactory,
    VideoCharacterFactory,
    VideoFactory,
)
from tests.media.conftest import clip  # noqa: F401  (a fixture)
from tests.media.conftest import provider as clip_provider  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

PROMPT = "a secret birthday surprise for my sister"


@pytest.fixture
def provider(clip_provider):  # noqa: F811  (the imported fixture, under its name here)
    """Renders finish at once with a real clip (tests/media/conftest.py)."""
    return clip_provider


class _RolledBack(Exception):
    pass


def _messages(task) -> set[int]:
    return set(OutboxMessage.objects.filter(task=task.name).values_list("id", flat=True))


def written_with_the_cause(task, cause, *, raises=None) -> dict:
    """The kwargs of the one message ``cause`` (a lower app's service) writes for ``task``: rolled back
    with the cause's transaction, kept when it commits."""
    before = _messages(task)
    with pytest.raises(_RolledBack), transaction.atomic():
        _call(cause, raises)
        assert len(_messages(task) - before) == 1, "the message is written inside the cause's transaction"
        raise _RolledBack
    assert _messages(task) == before, "rolled back with the cause"
    _call(cause, raises)
    (message_id,) = _messages(task) - before
    return OutboxMessage.objects.get(id=message_id).kwargs


def _call(cause, raises):
    if raises is None:
        return cause()
    with pytest.raises(raises):
        cause()


def delivered(task, cause, *, raises=None) -> dict:
    """The message written with the cause, run twice by the task as a redelivering worker would."""
    kwargs = written_with_the_cause(task, cause, raises=raises)
    task(**kwargs)
    task(**kwargs)
    return kwargs


def inbox(client_for, user) -> list[dict]:
    """The user's inbox as the app shows it: (kind, actor handles, target, deep link, data) per item."""
    response = client_for(user).get("/api/v1/notifications")
    assert response.status_code == 200
    return [
        {
            "kind": item["kind"],
            "actors": [actor["handle"] for actor in item["actors"]],
            "target": (item["target"]["type"], item["target"]["id"]),
            "deep_link": item["deep_link"],
            "data": item["data"],
        }
        for item in response.json()["results"]
    ]


def only_item(client_for, user) -> dict:
    items = inbox(client_for, user)
    assert len(items) == 1, items
    return items[0]


def assert_private_text_absent(*texts: str) -> None:
    everything = json.dumps(list(Notification.objects.values()), default=str)
    for text in texts:
        assert text not in everything


# --- Likeness and creation ---------------------------------------------------------------------


def request_render(requester, **fields):
    return media_services.render_job_request(
        requester=requester, idempotency_key="k", prompt=PROMPT, duration_s=3, **fields
    )[0]


class TestRenders:
    def test_a_friends_cameo_tells_them_of_the_render_then_of_the_draft_and_the_requester_of_success(
        self, provider, client_for
    ):
        requester, friend = UserFactory(), UserFactory()
        cameo = CameoFactory(owner=friend, audience="everyone")
        delivered(tasks.render_requested_notify, lambda: request_render(requester, cameo_ids=[cameo.id]))
        assert only_item(client_for, friend) == {
            "kind": Kind.LIKENESS_RENDER,
            "actors": [requester.handle],
            "target": ("cameo", str(cameo.id)),
            "deep_link": f"/cameos/{cameo.id}/appearances",
            "data": {},
        }
        job = RenderJob.objects.get(requester=requester)
        media_services.render_job_execute(job_id=str(job.id))
        kwargs = delivered(
            tasks.render_finished_notify, lambda: media_services.render_job_postprocess(job_id=str(job.id))
        )
        job.refresh_from_db()
        assert (job.status, kwargs) == ("succeeded", {"job_id": str(job.id), "status": "succeeded"})
        assert only_item(client_for, requester) == {
            "kind": Kind.RENDER_SUCCEEDED,
            "actors": [],
            "target": ("render", str(job.id)),
            "deep_link": f"/renders/{job.id}",
            "data": {"video_id": job.result_video_id},
        }
        draft = inbox(client_for, friend)[0]
        assert draft == {
            "kind": Kind.LIKENESS_DRAFT,
            "actors": [requester.handle],
            "target": ("video", str(job.result_video_id)),
            "deep_link": f"/videos/{job.result_video_id}",
            "data": {},
        }
        assert_private_text_absent(PROMPT)

    def test_a_remix_carries_the_sources_cameo_and_tells_its_owner(self, provider, client_for):
        friend, remixer = UserFactory(), UserFactory()
        cameo = CameoFactory(owner=friend, audience="everyone")
        source = VideoFactory()
        AppearanceFactory(cameo=cameo, video=source)
        remix = lambda: media_services.remix_request(  # noqa: E731
            requester=remixer, idempotency_key="k", source=source, prompt=PROMPT, duration_s=3
        )
        delivered(tasks.render_requested_notify, remix)
        item = only_item(client_for, friend)
        assert (item["kind"], item["actors"], item["target"]) == (Kind.LIKENESS_RENDER, [remixer.handle],
                                                                  ("cameo", str(cameo.id)))  # fmt: skip

    def test_a_failed_render_tells_the_requester_with_the_reason_code(self, provider, client_for):
        requester = UserFactory()
        job = request_render(requester)
        provider.fail_with = ProviderPermanentError("refused by the model", code="provider_refused")
        delivered(tasks.render_finished_notify, lambda: media_services.render_job_execute(job_id=str(job.id)))
        assert only_item(client_for, requester) == {
            "kind": Kind.RENDER_FAILED,
            "actors": [],
            "target": ("render", str(job.id)),
            "deep_link": f"/renders/{job.id}",
            "data": {"reason": "provider_refused"},
        }

    def test_a_protected_name_blocks_the_render_and_tells_the_verified_person_who_asked(self, provider, client_for):
        requester, star = UserFactory(), UserFactory()
        likeness = ProtectedLikenessFactory(name="Nova Starling")
        cameo = PersonCameoFactory(owner=star, status="active", protected_likeness=likeness)
        prompt = "nova starling reading my diary"
        blocked = lambda: media_services.render_job_request(  # noqa: E731
            requester=requester, idempotency_key="k", prompt=prompt, duration_s=3
        )
        delivered(tasks.render_finished_notify, blocked, raises=ProtectedLikenessRefused)
        job = RenderJob.objects.get(requester=requester)
        assert only_item(client_for, requester) == {
            "kind": Kind.RENDER_BLOCKED,
            "actors": [],
            "target": ("render", str(job.id)),
            "deep_link": f"/renders/{job.id}",
            "data": {"reason": "protected_likeness"},
        }
        assert only_item(client_for, star) == {
            "kind": Kind.LIKENESS_NAME,
            "actors": [requester.handle],
            "target": ("cameo", str(cameo.id)),
            "deep_link": f"/cameos/{cameo.id}",
            "data": {},
        }
        assert_private_text_absent(prompt, "diary")


# --- Consent -----------------------------------------------------------------------------------


class TestConsent:
    def test_a_grant_request_tells_the_owner(self, client_for):
        owner, asker = UserFactory(), UserFactory()
        cameo = CameoFactory(owner=owner, audience="approved")
        delivered(tasks.grant_requested_notify, lambda: cameo_services.grant_request(cameo=cameo, by=asker))
        grant = cameo.grants.get()
        assert only_item(client_for, owner) == {
            "kind": Kind.GRANT_REQUESTED,
            "actors": [asker.handle],
            "target": ("grant", str(grant.id)),
            "deep_link": f"/cameos/{cameo.id}/grants",
            "data": {},
        }

    @pytest.mark.parametrize(
        ("decide", "kind"),
        [
            (cameo_services.grant_approve, Kind.GRANT_APPROVED),
            (cameo_services.grant_deny, Kind.GRANT_DENIED),
            (cameo_services.grant_revoke, Kind.GRANT_REVOKED),
        ],
    )
    def test_a_decision_tells_the_grantee(self, client_for, decide, kind):
        grant = CameoGrantFactory()
        owner = grant.cameo.owner
        delivered(tasks.grant_decided_notify, lambda: decide(grant=grant, by=owner))
        assert only_item(client_for, grant.grantee) == {
            "kind": kind,
            "actors": [owner.handle],
            "target": ("cameo", str(grant.cameo_id)),
            "deep_link": f"/cameos/{grant.cameo_id}",
            "data": {},
        }

    def test_approved_revoked_and_approved_again_are_three_items(self, client_for):
        grant = CameoGrantFactory()
        owner = grant.cameo.owner
        for decide in (cameo_services.grant_approve, cameo_services.grant_revoke, cameo_services.grant_approve):
            delivered(tasks.grant_decided_notify, lambda decide=decide: decide(grant=grant, by=owner))
        kinds = [item["kind"] for item in inbox(client_for, grant.grantee)]
        assert sorted(kinds) == sorted([Kind.GRANT_APPROVED, Kind.GRANT_REVOKED, Kind.GRANT_APPROVED])

    @pytest.mark.parametrize("passed", [True, False])
    def test_a_verification_decision_tells_the_owner(self, client_for, passed):
        verification = CameoVerificationFactory(status="submitted")
        moderator = UserFactory(is_staff=True)
        if passed:
            decide = lambda: cameo_services.verification_approve(verification=verification, by=moderator)  # noqa: E731
        else:
            decide = lambda: cameo_services.verification_reject(  # noqa: E731
                verification=verification, by=moderator, note="the phrase is not said"
            )
        delivered(tasks.verification_decided_notify, decide)
        cameo = verification.cameo
        assert only_item(client_for, cameo.owner) == {
            "kind": Kind.VERIFICATION_PASSED if passed else Kind.VERIFICATION_REFUSED,
            "actors": [],
            "target": ("cameo", str(cameo.id)),
            "deep_link": f"/cameos/{cameo.id}",
            "data": {},
        }
        assert_private_text_absent("the phrase is not said")


# --- Social ------------------------------------------------------------------------------------


@pytest.fixture
def refreshes(monkeypatch):
    """The grouped refreshes receivers queue (instead of a broker), to run as a worker would."""
    queued: list[dict] = []
    monkeypatch.setattr(tasks.group_refresh, "delay", lambda **kwargs: queued.append(kwargs))
    return queued


class TestGrouped:
    def test_follows_queue_one_refresh_while_one_is_pending_and_group_into_one_item(
        self, client_for, refreshes, django_capture_on_commit_callbacks
    ):
        followee = UserFactory()
        first, second, third = UserFactory(), UserFactory(), UserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            creator_services.follow_create(follower=first, followee=followee)
        with django_capture_on_commit_callbacks(execute=True):
            creator_services.follow_create(follower=second, followee=followee)
        assert refreshes == [
            {"recipient_id": followee.id, "kind": Kind.FOLLOW, "target_type": "creator", "target_id": str(followee.id)}
        ]
        tasks.group_refresh(**refreshes[0])
        tasks.group_refresh(**refreshes[0])
        assert only_item(client_for, followee) == {
            "kind": Kind.FOLLOW,
            "actors": [second.handle, first.handle],
            "target": ("creator", str(followee.id)),
            "deep_link": f"/creators/{followee.handle}/followers",
            "data": {},
        }
        # The refresh cleared its mark before counting: the next follow queues another.
        with django_capture_on_commit_callbacks(execute=True):
            creator_services.follow_create(follower=third, followee=followee)
        assert len(refreshes) == 2

    def test_likes_group_and_an_unlike_queues_nothing(self, client_for, refreshes, django_capture_on_commit_callbacks):
        video = VideoFactory()
        fans = [UserFactory() for _ in range(3)]
        for fan in fans:
            with django_capture_on_commit_callbacks(execute=True):
                video_services.like_create(video=video, user=fan)
        with django_capture_on_commit_callbacks(execute=True):
            video_services.like_delete(video=video, user=fans[0])
        assert len(refreshes) == 1
        tasks.group_refresh(**refreshes[0])
        tasks.group_refresh(**refreshes[0])
        item = only_item(client_for, video.owner)
        assert (item["kind"], item["actors"], item["target"], item["deep_link"]) == (
            Kind.LIKE, [fans[2].handle, fans[1].handle], ("video", str(video.id)), f"/videos/{video.id}"
        )  # fmt: skip

    def test_a_like_rolled_back_queues_nothing(self, refreshes, django_capture_on_commit_callbacks):
        video = VideoFactory()
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(_RolledBack), transaction.atomic():
            video_services.like_create(video=video, user=UserFactory())
            raise _RolledBack
        assert refreshes == []

    def test_without_redis_the_refresh_is_queued_anyway(
        self, refreshes, monkeypatch, django_capture_on_commit_callbacks
    ):
        class DownRedis:
            def set(self, *args, **kwargs):
                raise RedisError("connection refused")

        monkeypatch.setattr(receivers, "get_redis_connection", lambda alias: DownRedis())
        video = VideoFactory()
        for fan in (UserFactory(), UserFactory()):
            with django_capture_on_commit_callbacks(execute=True):
                video_services.like_create(video=video, user=fan)
        assert len(refreshes) == 2


class TestVideos:
    def test_a_comment_tells_the_owner_and_the_people_it_mentions(self, client_for):
        video, author, maya = VideoFactory(), UserFactory(), UserFactory(handle="maya_k")
        comment = lambda: video_services.comment_create(  # noqa: E731
            video=video, author=author, body=f"love it @MAYA_K and @{video.owner.handle} @nobody_here"
        )
        delivered(tasks.comment_created_notify, comment)
        comment_id = video.comments.get().id
        expected = {"actors": [author.handle], "target": ("video", str(video.id)), "deep_link": f"/videos/{video.id}",
                    "data": {"comment_id": comment_id}}  # fmt: skip
        assert only_item(client_for, video.owner) == {"kind": Kind.COMMENT, **expected}  # not a mention too
        assert only_item(client_for, maya) == {"kind": Kind.MENTION, **expected}

    def test_publishing_a_remix_tells_its_cameos_the_sources_owner_and_whom_the_caption_mentions(self, client_for):
        source = VideoFactory()
        remixer, friend, leo = UserFactory(), UserFactory(), UserFactory(handle="leo_z")
        draft = video_services.video_create_draft(owner=remixer, prompt=PROMPT, parent=source)
        cameo = CameoFactory(owner=friend, audience="everyone")
        AppearanceFactory(cameo=cameo, video=draft)
        publish = lambda: video_services.video_publish(video=draft, by=remixer, caption="with @leo_z")  # noqa: E731
        delivered(tasks.video_published_notify, publish)
        on_the_remix = {"actors": [remixer.handle], "target": ("video", str(draft.id)),
                        "deep_link": f"/videos/{draft.id}", "data": {}}  # fmt: skip
        assert only_item(client_for, friend) == {"kind": Kind.LIKENESS_PUBLISHED, **on_the_remix}
        assert only_item(client_for, leo) == {"kind": Kind.MENTION, **on_the_remix}
        assert only_item(client_for, source.owner) == {
            "kind": Kind.REMIX,
            "actors": [remixer.handle],
            "target": ("video", str(source.id)),
            "deep_link": f"/videos/{source.id}",
            "data": {},
        }
        assert_private_text_absent(PROMPT)

    def test_a_mention_in_a_private_video_tells_nobody_who_may_not_see_it(self, client_for):
        owner, leo = UserFactory(), UserFactory(handle="leo_z")
        draft = video_services.video_create_draft(owner=owner, prompt=PROMPT)
        publish = lambda: video_services.video_publish(  # noqa: E731
            video=draft, by=owner, caption="hi @leo_z", visibility="private"
        )
        delivered(tasks.video_published_notify, publish)
        assert inbox(client_for, leo) == []

    def test_blocked_people_never_notify_each_other(self, client_for):
        video, troll = VideoFactory(), UserFactory()
        BlockFactory(blocker=video.owner, blocked=troll)
        delivered(tasks.comment_created_notify, lambda: video_services.comment_create(video=video, author=troll,
                                                                                    body="hello"))  # fmt: skip
        assert inbox(client_for, video.owner) == []


# --- Moderation --------------------------------------------------------------------------------


class TestModeration:
    def test_a_moderator_removing_a_video_tells_its_creator_and_its_cameos_without_naming_the_moderator(
        self, client_for
    ):
        video, moderator = VideoFactory(), UserFactory(is_staff=True)
        cameo = AppearanceFactory(video=video).cameo
        remove = lambda: video_services.video_remove(video=video, by=moderator, reason="spam ring")  # noqa: E731
        delivered(tasks.video_removed_notify, remove)
        assert only_item(client_for, video.owner) == {
            "kind": Kind.CONTENT_DECISION,
            "actors": [],
            "target": ("video", str(video.id)),
            "deep_link": f"/videos/{video.id}",
            "data": {"decision": "removed", "reason": "moderation"},
        }
        assert only_item(client_for, cameo.owner) == {
            "kind": Kind.LIKENESS_REMOVED,
            "actors": [],
            "target": ("cameo", str(cameo.id)),
            "deep_link": f"/cameos/{cameo.id}/appearances",
            "data": {"reason": "moderation", "video_id": video.id},
        }
        assert_private_text_absent("spam ring")

        restore = lambda: video_services.video_restore(video=video, by=moderator, reason="appeal")  # noqa: E731
        delivered(tasks.video_restored_notify, restore)
        restored = inbox(client_for, video.owner)[0]
        assert (restored["kind"], restored["data"]) == (Kind.CONTENT_DECISION, {"decision": "restored"})

    def test_a_cameo_owner_removing_an_appearance_tells_the_creator_and_the_other_cameos(self, client_for):
        video = VideoFactory()
        mine, other = AppearanceFactory(video=video).cameo, AppearanceFactory(video=video).cameo
        remove = lambda: cameo_services.appearance_remove(cameo=mine, by=mine.owner, video_id=video.id)  # noqa: E731
        delivered(tasks.video_removed_notify, remove)
        assert only_item(client_for, video.owner) == {
            "kind": Kind.CONTENT_DECISION,
            "actors": [mine.owner.handle],
            "target": ("video", str(video.id)),
            "deep_link": f"/videos/{video.id}",
            "data": {"decision": "removed", "reason": "appearance_removed"},
        }
        item = only_item(client_for, other.owner)
        assert (item["kind"], item["actors"], item["data"]["reason"]) == (
            Kind.LIKENESS_REMOVED, [mine.owner.handle], "appearance_removed"
        )  # fmt: skip
        assert inbox(client_for, mine.owner) == []  # they did it

    def test_a_rights_holder_taking_down_its_characters_videos_tells_their_creators(self, client_for):
        character, member = CharacterFactory(), UserFactory()
        character.holder.members.add(member)
        video = VideoFactory()
        VideoCharacterFactory(video=video, character=character)
        take_down = lambda: rights_services.character_videos_take_down(  # noqa: E731
            character=character, by=member, reason="license ended"
        )
        delivered(tasks.video_removed_notify, take_down)
        item = only_item(client_for, video.owner)
        assert (item["kind"], item["actors"], item["data"]) == (
            Kind.CONTENT_DECISION, [], {"decision": "removed", "reason": "rights_holder"}
        )  # fmt: skip

    @pytest.mark.parametrize(("verb", "outcome"), [("removed", "action_taken"), ("dismissed", "no_action")])
    def test_a_resolved_case_tells_each_reporter_the_outcome_but_not_the_note(self, client_for, verb, outcome):
        video, reporter, moderator = VideoFactory(), UserFactory(), UserFactory(is_staff=True)
        report = moderation_services.report_create(
            reporter=reporter, target_type="video", target_id=video.id, reason="spam", details="my neighbour"
        )
        resolve = lambda: moderation_services.case_resolve(  # noqa: E731
            case=Case.objects.get(), by=moderator, resolution=f"{verb}: the note"
        )
        delivered(tasks.case_resolved_notify, resolve)
        assert only_item(client_for, reporter) == {
            "kind": Kind.REPORT_DECISION,
            "actors": [],
            "target": ("report", str(report.id)),
            "deep_link": f"/reports/{report.id}",
            "data": {"outcome": outcome, "target_type": "video"},
        }
        assert_private_text_absent("the note", "my neighbour")

    def test_a_strike_tells_the_account_how_many_it_has(self, client_for):
        user, moderator = UserFactory(), UserFactory(is_staff=True)
        strike = lambda: moderation_services.strike_add(user=user, by=moderator, reason="harassment")  # noqa: E731
        delivered(tasks.strike_added_notify, strike)
        item = only_item(client_for, user)
        assert (item["kind"], item["target"][0], item["deep_link"]) == (Kind.STRIKE, "strike", "/me")
        assert item["data"]["active_strikes"] == 1
        assert_private_text_absent("harassment")

    def test_a_suspension_tells_the_account_until_when(self, client_for):
        user, moderator = UserFactory(), UserFactory(is_staff=True)
        suspend = lambda: creator_services.account_suspend(user=user, by=moderator, reason="spam")  # noqa: E731
        delivered(tasks.account_suspended_notify, suspend)
        user.refresh_from_db()
        assert only_item(client_for, user) == {
            "kind": Kind.SUSPENDED,
            "actors": [],
            "target": ("creator", str(user.id)),
            "deep_link": "/me",
            "data": {"until": user.suspended_until.isoformat()},
        }


# --- Rights ------------------------------------------------------------------------------------


def test_a_usage_request_tells_every_member_of_the_holder(client_for):
    character = CharacterFactory(needs_approval=True)
    members = [UserFactory(), UserFactory()]
    character.holder.members.add(*members)
    requester = UserFactory()
    request = lambda: rights_services.usage_approval_request(character_id=character.id, user=requester)  # noqa: E731
    delivered(tasks.usage_approval_requested_notify, request)
    approval = character.approvals.get()
    for member in members:
        assert only_item(client_for, member) == {
            "kind": Kind.USAGE_REQUESTED,
            "actors": [requester.handle],
            "target": ("character", str(character.id)),
            "deep_link": f"/characters/{character.id}",
            "data": {"approval_id": approval.id},
        }
