"""The videos admin: nothing of a video is edited by hand; moderators act through the services."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.core.models import AuditLogEntry
from backend.videos import services
from backend.videos.models import Comment, Video
from tests.factories import AppearanceFactory, CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
VIDEOS = reverse("admin:videos_video_changelist")


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def moderator(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="moderators"))
    client.force_login(user)
    client.user = user
    return client


def messages_of(response):
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("who", ["staff", "moderator"])
def test_the_change_form_changes_nothing(request, who):
    client = request.getfixturevalue(who)
    video = VideoFactory(visibility="public", safe_for_teens=True, remix_allowed=True)
    page = client.get(reverse("admin:videos_video_change", args=[video.id]))
    assert page.status_code == 200 and b'name="_save"' not in page.content  # view-only
    # Every consequential field changed; safe_for_teens is unticked by leaving it out.
    form = {"owner": UserFactory().id, "visibility": "private", "status": "draft", "remix_allowed": "",
            "prompt": video.prompt, "caption": "hijacked", "_save": "Save"}  # fmt: skip
    assert client.post(reverse("admin:videos_video_change", args=[video.id]), form).status_code == 403
    after = Video.objects.get(id=video.id)
    assert (after.owner_id, after.visibility, after.status, after.safe_for_teens, after.remix_allowed,
            after.caption) == (video.owner_id, "public", "published", True, True, video.caption)  # fmt: skip
    assert not AuditLogEntry.objects.exists()


def test_videos_are_neither_added_nor_deleted_by_hand(staff):
    video = VideoFactory()
    assert staff.get(reverse("admin:videos_video_add")).status_code == 403
    assert staff.get(reverse("admin:videos_video_delete", args=[video.id])).status_code == 403
    assert staff.post(reverse("admin:videos_video_delete", args=[video.id]), {"post": "yes"}).status_code == 403
    actions = dict(staff.get(VIDEOS).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and {"remove", "restore", "age_restrict"} <= set(actions)
    staff.post(VIDEOS, {"action": "delete_selected", "_selected_action": [video.id], "post": "yes"})
    assert Video.objects.filter(id=video.id).exists()


def test_age_restrict_goes_through_the_service_and_is_audited(moderator):
    video = VideoFactory(safe_for_teens=True)
    response = moderator.post(VIDEOS, {"action": "age_restrict", "_selected_action": [video.id],
                                       "reason": "suggestive"})  # fmt: skip
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.safe_for_teens is False
    entry = AuditLogEntry.objects.get(action="video.age_restrict")
    assert (entry.actor, entry.target_id, entry.reason, entry.before, entry.after) == (
        moderator.user, str(video.id), "suggestive", {"safe_for_teens": True}, {"safe_for_teens": False})  # fmt: skip
    assert ("info", "1 videos age-restricted.") in messages_of(response)


def test_actions_need_the_change_permission(client):
    """Staff who may only look see no actions, and posting one does nothing."""
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_video"))
    client.force_login(viewer)
    video = VideoFactory()
    assert client.get(VIDEOS).context["action_form"] is None  # no action to offer
    client.post(VIDEOS, {"action": "remove", "_selected_action": [video.id]})
    assert Video.objects.get(id=video.id).status == "published"


def test_a_restore_refused_by_consent_shows_the_moderator_why(staff):
    """video_restore re-checks consent and policy (RestoreRefused); the admin names the video and the reason."""
    refused, fine = VideoFactory(), VideoFactory()
    cameo = CameoFactory()
    AppearanceFactory(cameo=cameo, video=refused)
    for video in (refused, fine):
        services.video_remove(video=video, by=None, reason="reported")
    cameo.status = "suspended"  # the likeness may no longer be used
    cameo.save(update_fields=["status"])

    response = staff.post(VIDEOS, {"action": "restore", "_selected_action": [refused.id, fine.id]})

    assert response.status_code == 302
    shown = messages_of(response)
    errors = [text for level, text in shown if level == "error"]
    assert len(errors) == 1
    assert f"Video {refused.id}" in errors[0]
    assert "A cameo in this video may no longer be used by its creator." in errors[0]
    assert ("info", "1 videos restored.") in shown  # only the one restored is counted
    assert Video.objects.get(id=refused.id).status == "removed"
    assert Video.objects.get(id=fine.id).status == "published"
    assert list(AuditLogEntry.objects.filter(action="video.restore").values_list("target_id", flat=True)) == [
        str(fine.id)
    ]


class TestComments:
    @pytest.fixture
    def video(self):
        return VideoFactory()

    def comment(self, video, body="rude"):
        return services.comment_create(video=video, author=UserFactory(), body=body)

    def test_deleting_a_comment_is_counted_and_audited(self, moderator, video):
        comment, kept = self.comment(video), self.comment(video, "nice")
        assert Video.objects.get(id=video.id).comment_count == 2
        response = moderator.post(reverse("admin:videos_comment_delete", args=[comment.id]), {"post": "yes"})
        assert response.status_code == 302
        assert list(Comment.objects.values_list("id", flat=True)) == [kept.id]
        assert Video.objects.get(id=video.id).comment_count == 1
        entry = AuditLogEntry.objects.get(action="comment.remove")
        assert (entry.actor, entry.target_type, entry.target_id, entry.before["body"]) == (
            moderator.user, "videos.comment", str(comment.id), "rude")  # fmt: skip

    def test_bulk_delete_goes_through_the_service_too(self, moderator, video):
        comments = [self.comment(video) for _ in range(3)]
        moderator.post(reverse("admin:videos_comment_changelist"),
                       {"action": "delete_selected", "_selected_action": [c.id for c in comments[:2]],
                        "post": "yes"})  # fmt: skip
        assert Comment.objects.count() == 1
        assert Video.objects.get(id=video.id).comment_count == 1
        assert AuditLogEntry.objects.filter(action="comment.remove").count() == 2

    def test_comments_are_not_edited_by_hand(self, staff, video):
        comment = self.comment(video)
        other = VideoFactory()
        url = reverse("admin:videos_comment_change", args=[comment.id])
        response = staff.post(url, {"video": other.id, "author": comment.author_id, "body": "edited"})
        assert response.status_code == 403
        assert (Comment.objects.get(id=comment.id).video_id, Comment.objects.get(id=comment.id).body) == (
            video.id, "rude")  # fmt: skip
        assert staff.get(reverse("admin:videos_comment_add")).status_code == 403

    def test_comment_remove_is_idempotent(self, video):
        comment = self.comment(video)
        services.comment_remove(comment=comment, by=None, reason="x")
        services.comment_remove(comment=comment, by=None, reason="x")
        assert Video.objects.get(id=video.id).comment_count == 0
        assert AuditLogEntry.objects.filter(action="comment.remove").count() == 1
