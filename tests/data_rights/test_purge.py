"""After the grace period (or now, by an operator), an account's personal data and every stored file of it
go from both stores; its videos stay as tombstones so others' remixes keep their place; the ledger keeps
its amounts; a second run changes nothing."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from backend.cameos import services as cameo_services
from backend.cameos.models import Cameo, CameoGrant
from backend.core import storage
from backend.core.models import AuditLogEntry
from backend.creators import services as creator_services
from backend.creators.models import Block, Follow, User
from backend.rights.models import LedgerEntry
from backend.rights.services import revenue_event_record
from backend.videos import services as video_services
from backend.videos.models import Comment, Like, Video
from data_rights import services, tasks
from data_rights.models import AccountPurge
from feeds import services as feed_services
from feeds.models import FeedPreference
from notifications import services as notification_services
from notifications.devices import device_register
from notifications.models import Channel, Device, Kind, Notification, Preference
from tests.data_rights.conftest import listing, request_deletion, stored
from tests.factories import (
    AppearanceFactory,
    CameoGrantFactory,
    CameoVerificationFactory,
    RenderJobFactory,
    UserFactory,
    VideoFactory,
)
from tests.media_files import png_bytes

pytestmark = pytest.mark.django_db


def png(name="face.png"):
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def video_with_files(owner, job_id: str, *, public: bool = True, **fields) -> Video:
    store = storage.public() if public else storage.private()
    prefix = f"videos/{job_id}"
    names = {
        "mp4": stored(store, f"{prefix}/video.mp4"),
        "poster": stored(store, f"{prefix}/poster.jpg"),
        "hls": stored(store, f"{prefix}/hls/master.m3u8"),
        "thumbnails": [stored(store, f"{prefix}/thumbs/0001.jpg")],
    }
    stored(store, f"{prefix}/hls/segment-0.ts")
    return VideoFactory(owner=owner, media_public=public, **names, **fields)


@pytest.fixture
def account(django_capture_on_commit_callbacks):
    """An account with something in every place a file of it can be, and someone else's files beside it."""
    user = UserFactory(bio="I skate", birth_date="1990-02-03")
    creator_services.profile_update(user=user, avatar=png())
    cameo = cameo_services.cameo_create(owner=user, kind="character", display_name="Rex", audience="everyone",
                                        reference_image=png())  # fmt: skip
    person = Cameo.objects.create(owner=user, kind="person", display_name="Me", status="pending_verification")
    clip = stored(storage.private(), f"cameos/{person.id}/verification-1-abc.mp4")
    CameoVerificationFactory(cameo=person, status="submitted", clip=clip)
    post = video_with_files(user, "job-post")
    draft = video_with_files(user, "job-draft", public=False)
    Video.objects.filter(id=draft.id).update(status="draft", published_at=None)
    job = RenderJobFactory(requester=user, status="succeeded", result_video=post)
    job.original = stored(storage.private(), f"renders/{job.id}/original.mp4")
    job.save(update_fields=["original"])
    other = UserFactory()
    remix = video_with_files(other, "job-remix", parent=post, root=post, depth=1)
    remix.embedded_sources.add(post)
    with_likeness = video_with_files(other, "job-likeness")
    AppearanceFactory(cameo=cameo, video=with_likeness)
    unrelated = video_with_files(other, "job-unrelated")
    video_services.comment_create(video=unrelated, author=user, body="my words")
    event, _ = revenue_event_record(video=post, kind="ad", amount_minor=1000, currency="EUR", external_id="ev-1")
    request_deletion(user, django_capture_on_commit_callbacks)
    return {"user": User.objects.get(id=user.id), "cameo": cameo, "person": person, "post": post, "draft": draft,
            "remix": remix, "with_likeness": with_likeness, "unrelated": unrelated, "event": event}  # fmt: skip


def grace_over(user, settings):
    past = timezone.now() - timedelta(days=settings.ACCOUNT_PURGE_DAYS, minutes=1)
    User.objects.filter(id=user.id).update(deletion_requested_at=past)


def files_of(account) -> set[str]:
    user, found = account["user"], set()
    prefixes = (f"avatars/{user.id}/", f"cameos/{account['cameo'].id}/", f"cameos/{account['person'].id}/",
                "videos/job-post/", "videos/job-draft/", "videos/job-likeness/", "renders/")  # fmt: skip
    for names in listing().values():
        found |= {name for name in names if name.startswith(prefixes)}
    return found


def test_nothing_is_purged_during_the_grace_period(account):
    before = listing()
    assert tasks.accounts_purge() == 0
    assert listing() == before
    assert User.objects.get(id=account["user"].id).email == account["user"].email


def test_the_purge_erases_personal_data_and_every_file_and_keeps_tombstones_and_amounts(
    account, settings, django_capture_on_commit_callbacks, client_for
):
    user = account["user"]
    assert len(files_of(account)) == 19  # avatar, reference, clip, original, 3 x 5 renditions
    others_files = listing()["public"] - files_of(account)
    amounts = sorted(LedgerEntry.objects.filter(event=account["event"]).values_list("amount_minor", flat=True))
    grace_over(user, settings)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.accounts_purge() == 1

    assert files_of(account) == set()
    assert others_files <= listing()["public"]  # the remix and the unrelated post keep theirs
    assert others_files == {name for name in others_files if "job-remix" in name or "job-unrelated" in name}
    purged = User.objects.get(id=user.id)
    assert (purged.email, purged.handle) == (f"deleted-{user.id}@deleted.invalid", f"deleted_{user.id}")
    assert (purged.display_name, purged.bio, purged.avatar.name, purged.birth_date) == ("", "", "", None)
    assert not purged.has_usable_password() and not purged.is_active and purged.purged_at is not None
    # Its videos are tombstones without files or words; the remix of its public post stays, attributed.
    for video in Video.objects.filter(owner=user):
        assert (video.status, video.mp4, video.hls, video.thumbnails, video.prompt) == ("removed", "", "", [], "")
    viewer = client_for(UserFactory())
    lineage = viewer.get(f"/api/v1/videos/{account['remix'].id}/lineage").json()
    assert [node["id"] for node in lineage["ancestors"]] == [account["post"].id]
    # Others' videos showing its likeness are taken down (the cameo is deleted), their files erased.
    likeness = Video.objects.get(id=account["with_likeness"].id)
    assert (likeness.status, likeness.mp4) == ("removed", "")
    assert set(Cameo.objects.filter(owner=user).values_list("status", flat=True)) == {"deleted"}
    assert not Cameo.objects.filter(owner=user, media_purged_at__isnull=True).exists()
    assert not Comment.objects.filter(author=user).exists()
    # The ledger keeps every amount, pointing at an account that says nothing about anyone.
    assert sorted(LedgerEntry.objects.filter(event=account["event"]).values_list("amount_minor", flat=True)) == amounts
    record = AccountPurge.objects.get(user_id=user.id)
    assert record.by is None and record.removed["video_files"] == 15 and record.removed["cameo_files"] == 2
    assert AuditLogEntry.objects.filter(action="account.purge", target_id=str(user.id)).count() == 1


def test_a_second_run_changes_nothing(account, settings, django_capture_on_commit_callbacks):
    grace_over(account["user"], settings)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.accounts_purge()
    after = listing()
    row = User.objects.filter(id=account["user"].id).values().get()

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.accounts_purge() == 0
        services.account_purge(user=account["user"])

    assert listing() == after
    assert User.objects.filter(id=account["user"].id).values().get() == row
    assert AccountPurge.objects.count() == 1
    assert AuditLogEntry.objects.filter(action="account.purge").count() == 1


def test_signing_in_after_the_purge_is_refused(api_client, account, settings, django_capture_on_commit_callbacks):
    grace_over(account["user"], settings)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.accounts_purge()
    body = {"email": account["user"].email, "password": "correct-horse-battery"}
    assert api_client.post("/api/v1/auth/token", body, format="json").status_code == 401


@pytest.fixture
def staff(client):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    client.operator = operator
    return client


def test_an_operator_purges_now_for_a_legal_request_audited(staff, account, django_capture_on_commit_callbacks):
    changelist = reverse("admin:data_rights_pendingdeletion_changelist")
    page = staff.get(changelist)
    assert page.status_code == 200 and account["user"].handle.encode() in page.content
    no_reason = staff.post(changelist, {"action": "purge_now", "_selected_action": [account["user"].id]})
    assert no_reason.status_code == 302 and User.objects.get(id=account["user"].id).purged_at is None

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            changelist,
            {"action": "purge_now", "_selected_action": [account["user"].id], "reason": "erasure request #42"},
        )

    assert files_of(account) == set()
    record = AccountPurge.objects.get(user_id=account["user"].id)
    assert (record.by, record.reason) == (staff.operator, "erasure request #42")
    entry = AuditLogEntry.objects.get(action="account.purge")
    assert (entry.actor, entry.reason) == (staff.operator, "erasure request #42")
    assert account["user"].handle.encode() not in staff.get(changelist).content  # no longer pending


def test_moderators_see_pending_deletions_and_exports_but_cannot_purge(client, account):
    moderator = UserFactory(is_staff=True)
    moderator.groups.add(Group.objects.get(name="moderators"))
    client.force_login(moderator)
    changelist = reverse("admin:data_rights_pendingdeletion_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(reverse("admin:data_rights_dataexport_changelist")).status_code == 200
    client.post(changelist, {"action": "purge_now", "_selected_action": [account["user"].id], "reason": "x"})
    assert User.objects.get(id=account["user"].id).purged_at is None


def test_a_purge_that_has_begun_cannot_be_undone_by_signing_in(
    api_client, account, monkeypatch, django_capture_on_commit_callbacks
):
    """An operator's "purge now" and the owner signing in at the same moment: the purge took the row
    first, so the sign-in finds an account being erased, not one to bring back half-erased."""
    user, body = account["user"], {"email": account["user"].email, "password": "correct-horse-battery"}

    def died(**kwargs):
        raise RuntimeError("the purge's worker died here, the cameos already gone")

    monkeypatch.setattr(services.video_services, "videos_of_owner_erase", died)
    with pytest.raises(RuntimeError):
        services.account_purge(user=user, reason="erasure request #43")
    assert Cameo.objects.get(id=account["cameo"].id).status == "deleted"

    assert api_client.post("/api/v1/auth/token", body, format="json").status_code == 401
    assert User.objects.get(id=user.id).is_active is False

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.account_purge(user=user, reason="erasure request #43")  # starts over and finishes
    assert User.objects.get(id=user.id).purged_at is not None and files_of(account) == set()


def test_signing_in_first_leaves_nothing_to_purge(api_client, account, django_capture_on_commit_callbacks):
    user, body = account["user"], {"email": account["user"].email, "password": "correct-horse-battery"}
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post("/api/v1/auth/token", body, format="json").status_code == 200

    with pytest.raises(services.PurgeRefused):
        services.account_purge(user=user, reason="erasure request #44")
    restored = User.objects.get(id=user.id)
    assert (restored.is_active, restored.purge_started_at, restored.purged_at) == (True, None, None)
    assert Cameo.objects.get(id=account["cameo"].id).status != "deleted"


def test_the_purge_ends_the_account_s_ties_to_others(django_capture_on_commit_callbacks):
    # Given an account that liked, followed and was followed, blocked and was blocked, asked for a cameo,
    # steered its feed and registered a phone
    user, other, follower, blocked, blocker = UserFactory(), UserFactory(), UserFactory(), UserFactory(), UserFactory()
    liked = VideoFactory(owner=other)
    video_services.like_create(video=liked, user=user)
    creator_services.follow_create(follower=user, followee=other)
    creator_services.follow_create(follower=follower, followee=user)
    creator_services.block_create(blocker=user, blocked=blocked)
    creator_services.block_create(blocker=blocker, blocked=user)
    CameoGrantFactory(cameo__owner=other, grantee=user)
    feed_services.preferences_set(user=user, text="more skating, no horror")
    device_register(user=user, token="t" * 40, platform="ios")
    notification_services.preferences_set(user=user, changes=[(Kind.LIKE, Channel.PUSH, False)])
    Notification.objects.create(recipient=user, kind=Kind.FOLLOW, group_key="follow", target_type="creator",
                                target_id=str(user.id), deep_link="/")  # fmt: skip
    request_deletion(user, django_capture_on_commit_callbacks)

    # When it is purged
    with django_capture_on_commit_callbacks(execute=True):
        purge = services.account_purge(user=user)

    # Then nothing ties the anonymous row to anyone, and the others' counts say so
    assert not Like.objects.filter(user_id=user.id).exists()
    assert Video.objects.get(id=liked.id).like_count == 0
    assert not Follow.objects.filter(Q(follower_id=user.id) | Q(followee_id=user.id)).exists()
    assert User.objects.get(id=other.id).follower_count == 0
    assert User.objects.get(id=follower.id).following_count == 0
    assert not Block.objects.filter(Q(blocker_id=user.id) | Q(blocked_id=user.id)).exists()
    assert not CameoGrant.objects.filter(grantee_id=user.id).exists()
    assert not FeedPreference.objects.filter(user_id=user.id).exists()
    assert not Device.objects.filter(user_id=user.id).exists()
    assert not Preference.objects.filter(user_id=user.id).exists()
    assert not Notification.objects.filter(recipient_id=user.id).exists()
    assert {key: purge.removed[key] for key in ("likes", "follows", "blocks", "grants", "feed_preferences")} == {
        "likes": 1, "follows": 2, "blocks": 2, "grants": 1, "feed_preferences": 1,
    }  # fmt: skip
    # And a second run changes nothing
    assert services.account_purge(user=user).id == purge.id
