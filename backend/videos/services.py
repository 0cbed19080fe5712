"""Every write about videos: drafts, publishing, removal, likes, comments, hashtags."""

from __future__ import annotations

import re

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors as cameo_selectors
from backend.core import names
from backend.core.audit import audit_record
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.permissions import require_not_suspended
from backend.creators.models import User
from backend.rights.selectors import character_policy_check
from backend.videos import events, lineage
from backend.videos.models import Comment, Hashtag, Like, Video, VideoHashtag

HASHTAG_PATTERN = re.compile(r"(?<![\w#])#(\w{1,50})")
MAX_HASHTAGS = 10


class PublishRefused(DomainError):
    status_code = 403
    default_code = "publish_refused"
    default_detail = _("This video cannot be published.")


def hashtags_in(text: str) -> list[str]:
    """Distinct hashtags in order of appearance, case-insensitively."""
    seen: dict[str, str] = {}
    for name in HASHTAG_PATTERN.findall(text):
        seen.setdefault(name.casefold(), name)
    return list(seen.values())[:MAX_HASHTAGS]


def _set_hashtags(video: Video, caption: str) -> None:
    VideoHashtag.objects.filter(video=video).delete()
    for name in hashtags_in(caption):
        hashtag = Hashtag.objects.filter(name__iexact=name).first() or Hashtag.objects.create(name=name)
        VideoHashtag.objects.create(hashtag=hashtag, video=video)


class SourceUnavailable(DomainError):
    status_code = 409
    default_code = "source_unavailable"
    default_detail = _("A video this one is made from may no longer be used.")


_AUDIENCE_WIDTH = {Video.Visibility.PRIVATE: 0, Video.Visibility.FOLLOWERS: 1, Video.Visibility.PUBLIC: 2}


def source_holds(*, source: Video, owner_id: int, visibility: str) -> bool:
    """May a video by ``owner_id``, shown to ``visibility``, carry ``source``'s frames now?

    Someone else's video only while it is shown to everyone; one's own as widely as it is shown.
    """
    shown_as = source.shown_as
    if shown_as is None:
        return False
    if source.owner_id != owner_id:
        return shown_as == Video.Visibility.PUBLIC
    return _AUDIENCE_WIDTH[shown_as] >= _AUDIENCE_WIDTH[visibility]


def _shown_as_embedding(video: Video) -> str:
    return video.visibility if video.status == Video.Status.PUBLISHED else Video.Visibility.PRIVATE


def sources_of(video: Video) -> list[Video]:
    """Every video whose frames went into this one, at any remove (``Video.embedded_sources``)."""
    return list(video.embedded_sources.all())


def visibility_cap(*, video: Video) -> str:
    """The widest visibility this video may be published with: never wider than a source it embeds."""
    widest = Video.Visibility.PUBLIC
    for source in sources_of(video):
        if source.owner_id == video.owner_id and source.shown_as is not None:
            widest = min(widest, source.shown_as, key=_AUDIENCE_WIDTH.__getitem__)
    return widest


@transaction.atomic
def video_create_draft(
    *,
    owner: User,
    prompt: str,
    parent: Video | None = None,
    embedded_sources: list[Video] | tuple = (),
    media: dict | None = None,
) -> Video:
    """A new draft from a finished render, placed in its parent's lineage, carrying what its sources
    carry: it is for teens only if they all are. The sources are locked and must still hold
    (``SourceUnavailable``), so a source narrowed meanwhile cannot slip a draft past the recheck."""
    direct = [source.id for source in (parent, *embedded_sources) if source is not None]
    through = Video.embedded_sources.through.objects.filter(from_video_id__in=direct)
    every = set(direct) | set(through.values_list("to_video_id", flat=True))
    locked = list(Video.objects.select_for_update().filter(id__in=every).order_by("id"))
    for source in locked:
        if not source_holds(source=source, owner_id=owner.id, visibility=Video.Visibility.PRIVATE):
            raise SourceUnavailable(details={"video_id": source.id})
    safe_for_teens = all(source.safe_for_teens for source in locked)
    video = Video(owner=owner, prompt=prompt, safe_for_teens=safe_for_teens, **(media or {}))
    if parent is not None:
        video.parent = parent
        video.root_id = parent.root_id or parent.id
        video.depth = parent.depth + 1
    video.save()
    lineage.lineage_insert(video=video)
    video.embedded_sources.set(locked)
    return video


def _lock(video: Video) -> Video:
    return Video.objects.select_for_update().get(id=video.id)


@transaction.atomic
def video_publish(*, video: Video, by: User, caption: str | None = None, visibility: str | None = None) -> Video:
    """Draft → published, once consent for every cameo and every character policy allow it."""
    names.text_guard(user=by, fields={"caption": caption})  # its hashtags are public pages
    video = _lock(video)
    if video.owner_id != by.id:
        raise NotFound(_("No such video."))
    require_not_suspended(by, action=_("publish"))
    if video.status == Video.Status.PUBLISHED:
        return video
    if video.status == Video.Status.REMOVED:
        raise Conflict(_("A removed video cannot be published."), code="video_removed")
    if video.withdrawn_at is not None:
        raise PublishRefused(_("This video was withdrawn."), code=f"{video.withdrawn_reason}_withdrawn")
    refusals = cameo_selectors.cameo_refusals_for_video(user=by, video_id=video.id)
    if refusals:
        raise PublishRefused(
            _("A cameo in this video may no longer be used by you."),
            code="cameo_not_allowed",
            details={"cameos": refusals},
        )

    characters = [link.character for link in video.character_links.select_related("character__holder")]
    character_policy_check(user=by, characters=characters, source_video=video.parent)
    visibility = _visibility_within_sources(video, requested=visibility)
    for source in sources_of(video):
        if not source_holds(source=source, owner_id=by.id, visibility=visibility):
            raise SourceUnavailable(details={"video_id": source.id})
    if caption is not None:
        video.caption = caption
    video.visibility = visibility
    video.status = Video.Status.PUBLISHED
    video.published_at = timezone.now()
    video.save(update_fields=["caption", "visibility", "status", "published_at"])
    _set_hashtags(video, video.caption)
    if video.parent_id:
        Video.objects.filter(id=video.parent_id).update(remix_count=F("remix_count") + 1)
    events.video_published.send_on_commit(video_id=video.id)
    return video


def _visibility_within_sources(video: Video, *, requested: str | None) -> str:
    """The requested visibility, or the video's own narrowed to its sources'; wider than a source is refused."""
    cap = visibility_cap(video=video)
    if requested is None:
        return min(video.visibility, cap, key=_AUDIENCE_WIDTH.__getitem__)
    if _AUDIENCE_WIDTH[requested] > _AUDIENCE_WIDTH[cap]:
        raise DomainError(
            _("A remix is shown at most as widely as what it is made from (%(visibility)s).") % {"visibility": cap},
            code="visibility_wider_than_source",
            details={"max_visibility": cap},
        )
    return requested


@transaction.atomic
def video_update(
    *,
    video: Video,
    by: User,
    caption: str | None = None,
    prompt_hidden: bool | None = None,
    visibility: str | None = None,
    remix_allowed: bool | None = None,
) -> Video:
    names.text_guard(user=by, fields={"caption": caption})
    video = _lock(video)
    if video.owner_id != by.id or video.is_removed:
        raise NotFound(_("No such video."))
    if visibility is not None:
        visibility = _visibility_within_sources(video, requested=visibility)
    changes = {"prompt_hidden": prompt_hidden, "visibility": visibility, "remix_allowed": remix_allowed}
    changed = [name for name, value in changes.items() if value is not None]
    for name in changed:
        setattr(video, name, changes[name])
    if caption is not None:
        video.caption = caption
        changed.append("caption")
        if video.status == Video.Status.PUBLISHED:
            _set_hashtags(video, caption)
    if changed:
        video.save(update_fields=changed)
        events.video_changed.send_on_commit(video_ids=[video.id])
    if "visibility" in changed:
        videos_follow_sources(video_ids=[video.id])
    return video


@transaction.atomic
def video_remove(*, video: Video, by: User | None, reason: str) -> Video:
    """Take a video down everywhere; it stays in its lineage as a tombstone. Idempotent.

    Removed by its own creator, the remixes of a public post stay up under its tombstone; taken
    down by anyone else (a moderator, a cameo's owner), what embeds it follows it down.
    """

    video = _lock(video)
    if video.is_removed:
        return video
    before = {"status": video.status}
    was_published = video.status == Video.Status.PUBLISHED
    video.status = Video.Status.REMOVED
    video.removed_at = timezone.now()
    video.removed_reason = reason[:300]
    video.removed_by_owner = by is not None and by.id == video.owner_id
    video.save(update_fields=["status", "removed_at", "removed_reason", "removed_by_owner"])
    if was_published and video.parent_id:
        Video.objects.filter(id=video.parent_id).update(remix_count=F("remix_count") - 1)
    audit_record(
        actor=by, action="video.remove", target=video, reason=reason, before=before, after={"status": "removed"}
    )
    events.video_hidden.send_on_commit(video_ids=[video.id])
    if not video.removed_by_owner:
        events.video_removed.send_on_commit(video_id=video.id, by_id=by.id if by else None)
    videos_follow_sources(video_ids=[video.id])
    return video


class RestoreRefused(DomainError):
    status_code = 409
    default_code = "restore_refused"
    default_detail = _("This video cannot be restored.")


def _restore_refusal(video: Video) -> RestoreRefused | None:
    """Why the video may not come back now, if it may not: the same rules as publishing it."""
    removed_by_cameo_owner = video.appearances.filter(removed_by_owner_at__isnull=False).values_list(
        "cameo_id", flat=True
    )
    if removed_by_cameo_owner:
        return RestoreRefused(
            _("The owner of a cameo in this video removed it."),
            code="appearance_removed_by_owner",
            details={"cameos": list(removed_by_cameo_owner)},
        )
    if video.withdrawn_reason == Video.Withdrawal.CONSENT:
        return RestoreRefused(_("A likeness in this video was withdrawn."), code="consent_withdrawn")
    refusals = cameo_selectors.cameo_refusals_for_video(user=video.owner, video_id=video.id)
    if refusals:
        return RestoreRefused(
            _("A cameo in this video may no longer be used by its creator."),
            code="cameo_not_allowed",
            details={"cameos": refusals},
        )
    characters = [link.character for link in video.character_links.select_related("character__holder")]
    try:
        character_policy_check(user=video.owner, characters=characters, source_video=video.parent)
    except DomainError as refusal:
        return RestoreRefused(str(refusal.detail), code=refusal.detail.code, details=refusal.details)
    visibility = video.visibility if video.published_at else Video.Visibility.PRIVATE
    for source in sources_of(video):
        if not source_holds(source=source, owner_id=video.owner_id, visibility=visibility):
            return RestoreRefused(
                _("Video %(id)s, which this one is made from, is no longer shown.") % {"id": source.id},
                code="source_unavailable",
                details={"video_id": source.id},
            )
    return None


@transaction.atomic
def video_restore(*, video: Video, by: User, reason: str) -> Video:
    """Moderators undo a removal: the video comes back as it was (published or draft), if consent,
    character policies and its sources allow it now (``RestoreRefused`` says why not)."""

    video = _lock(video)
    if not video.is_removed:
        return video
    refusal = _restore_refusal(video)
    if refusal is not None:
        raise refusal
    video.status = Video.Status.PUBLISHED if video.published_at else Video.Status.DRAFT
    video.removed_at = None
    video.removed_reason = ""
    video.removed_by_owner = False
    video.save(update_fields=["status", "removed_at", "removed_reason", "removed_by_owner"])
    if video.status == Video.Status.PUBLISHED and video.parent_id:
        Video.objects.filter(id=video.parent_id).update(remix_count=F("remix_count") + 1)
    audit_record(actor=by, action="video.restore", target=video, reason=reason, before={"status": "removed"},
                 after={"status": video.status})  # fmt: skip
    events.video_shown.send_on_commit(video_ids=[video.id])
    events.video_restored.send_on_commit(video_id=video.id)
    videos_follow_sources(video_ids=[video.id])
    return video


@transaction.atomic
def videos_mark_consent_withdrawn(*, video_ids: list[int]) -> int:
    """A cameo in these videos may no longer be used by their creators: nobody but the cameos' owners
    sees them from now on, and what embeds them follows. Drafts included; kept after a new grant."""
    now = timezone.now()
    updated = (
        Video.objects.filter(id__in=video_ids)
        .exclude(withdrawn_reason=Video.Withdrawal.CONSENT)
        .update(withdrawn_at=now, withdrawn_reason=Video.Withdrawal.CONSENT)
    )
    events.video_hidden.send_on_commit(video_ids=list(video_ids))
    videos_follow_sources(video_ids=video_ids)
    return updated


@transaction.atomic
def videos_consent_withdrawal_lift(*, cameo_owner_id: int, since) -> list[int]:
    """The owner of cameos came back (their account's deletion was called off): videos withdrawn for
    consent since ``since`` that show their likeness are shown again if their creators may use every
    cameo in them now (the rule publishing applies). A video also withdrawn meanwhile for another
    cameo whose access came back before this call is lifted too: the re-check cannot tell them apart."""
    candidates = Video.objects.select_for_update(of=("self",)).filter(
        id__in=cameo_selectors.videos_with_cameos_of(owner_id=cameo_owner_id),
        withdrawn_reason=Video.Withdrawal.CONSENT,
        withdrawn_at__gte=since,
    )
    lifted = [
        video.id
        for video in candidates.select_related("owner").order_by("id")
        if not cameo_selectors.cameo_refusals_for_video(user=video.owner, video_id=video.id)
    ]
    if lifted:
        Video.objects.filter(id__in=lifted).update(withdrawn_at=None, withdrawn_reason="")
        events.video_shown.send_on_commit(video_ids=lifted)
        videos_follow_sources(video_ids=lifted)
    return lifted


def videos_owner_standing_changed(*, owner_id: int, shown: bool) -> None:
    """The owner's account left (deletion requested) or came back: the visibility rule follows
    ``is_active`` by itself; feeds' cached cards and tombstones follow these events."""
    published = Video.objects.filter(owner_id=owner_id, status=Video.Status.PUBLISHED)
    video_ids = list(published.values_list("id", flat=True))
    if video_ids:
        (events.video_shown if shown else events.video_hidden).send_on_commit(video_ids=video_ids)


def _embedding_ids(video_ids: list[int]) -> set[int]:
    """Every video that carries frames of these, at any remove (remixes, references, and theirs)."""
    embeds = Video.embedded_sources.through.objects.filter(to_video_id__in=video_ids)
    return set(embeds.values_list("from_video_id", flat=True))


def videos_follow_sources(*, video_ids: list[int]) -> dict[str, int]:
    """What embeds these videos follows them (caller's transaction, sources locked or just written):
    withdrawn (``source``) while a source it embeds no longer holds (``source_holds``), shown again
    once every one holds again. A constant number of queries per call, whatever the count.

    A video embeds only older videos, so in id order every source is settled before what embeds it.
    """
    affected = _embedding_ids(video_ids)
    if not affected:
        return {"withdrawn": 0, "restored": 0}
    embeds = Video.embedded_sources.through.objects.filter(from_video_id__in=affected)
    sources: dict[int, set[int]] = {}
    for embedding_id, source_id in embeds.values_list("from_video_id", "to_video_id"):
        sources.setdefault(embedding_id, set()).add(source_id)
    videos = {video.id: video for video in Video.objects.filter(id__in=affected)}
    outside = {source for ids in sources.values() for source in ids} - affected
    states = {video.id: video for video in Video.objects.filter(id__in=outside)} | videos
    now = timezone.now()
    withdrawn, restored = [], []
    for video_id in sorted(affected):
        video = videos[video_id]
        if video.withdrawn_reason == Video.Withdrawal.CONSENT:
            continue
        visibility = _shown_as_embedding(video)
        holds = all(
            source_holds(source=states[source], owner_id=video.owner_id, visibility=visibility)
            for source in sources.get(video_id, ())
        )
        if not holds and video.withdrawn_at is None:
            video.withdrawn_at, video.withdrawn_reason = now, Video.Withdrawal.SOURCE
            withdrawn.append(video_id)
        elif holds and video.withdrawn_reason == Video.Withdrawal.SOURCE:
            video.withdrawn_at, video.withdrawn_reason = None, ""
            restored.append(video_id)
    Video.objects.filter(id__in=withdrawn).update(withdrawn_at=now, withdrawn_reason=Video.Withdrawal.SOURCE)
    Video.objects.filter(id__in=restored).update(withdrawn_at=None, withdrawn_reason="")
    if withdrawn:
        events.video_hidden.send_on_commit(video_ids=withdrawn)
    if restored:
        events.video_shown.send_on_commit(video_ids=restored)
    return {"withdrawn": len(withdrawn), "restored": len(restored)}


@transaction.atomic
def videos_restrict_for_teens(*, video_ids: list[int]) -> None:
    """Age-restricted videos, and everything that embeds their frames."""
    every = set(video_ids) | _embedding_ids(video_ids)
    Video.objects.filter(id__in=every, safe_for_teens=True).update(safe_for_teens=False)
    events.video_changed.send_on_commit(video_ids=sorted(every))


# --- Reactions ------------------------------------------------------------------


def _require_published(video: Video) -> None:
    if video.status != Video.Status.PUBLISHED:
        raise DomainError(_("Only published videos take reactions."), code="video_not_published")


@transaction.atomic
def like_create(*, video: Video, user: User) -> bool:
    """Like once; a repeated or concurrent second like changes nothing. True if new."""
    _require_published(video)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Like._meta.db_table} (video_id, user_id, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            [video.id, user.id, timezone.now()],
        )
        created = cursor.fetchone() is not None
    if created:
        Video.objects.filter(id=video.id).update(like_count=F("like_count") + 1)
        events.video_liked.send_on_commit(video_id=video.id, owner_id=video.owner_id, user_id=user.id, liked=True)
    return created


@transaction.atomic
def like_delete(*, video: Video, user: User) -> bool:
    deleted, _ = Like.objects.filter(video_id=video.id, user_id=user.id).delete()
    if deleted:
        Video.objects.filter(id=video.id).update(like_count=F("like_count") - 1)
        events.video_liked.send_on_commit(video_id=video.id, owner_id=video.owner_id, user_id=user.id, liked=False)
    return bool(deleted)


@transaction.atomic
def likes_of_user_delete(*, user_id: int) -> int:
    """A purge: every like of the account withdrawn, each video's count down by one, as an unlike's. How many.
    Idempotent."""
    liked = list(Like.objects.filter(user_id=user_id).order_by("video_id").values_list("video_id", flat=True))
    Like.objects.filter(user_id=user_id).delete()
    Video.objects.filter(id__in=liked).update(like_count=F("like_count") - 1)
    return len(liked)


@transaction.atomic
def comment_create(*, video: Video, author: User, body: str) -> Comment:

    names.text_guard(user=author, fields={"body": body})
    require_not_suspended(author, action=_("comment"))
    _require_published(video)
    body = body.strip()
    if not body:
        raise DomainError(_("A comment cannot be empty."), code="comment_empty")
    comment = Comment.objects.create(video=video, author=author, body=body)
    Video.objects.filter(id=video.id).update(comment_count=F("comment_count") + 1)
    events.comment_created.send_on_commit(comment_id=comment.id)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by: User) -> None:
    """The author or the video's owner may delete a comment."""
    if by.id not in (comment.author_id, comment.video.owner_id):
        raise Forbidden(_("Only the author or the video's owner can delete this comment."))
    _comment_delete_counted(comment)


def _comment_delete_counted(comment: Comment) -> bool:
    """Delete the comment and count it off its video; False when it was gone already. Caller is atomic."""
    deleted, _ = Comment.objects.filter(id=comment.id).delete()
    if deleted:
        Video.objects.filter(id=comment.video_id).update(comment_count=F("comment_count") - 1)
    return bool(deleted)


@transaction.atomic
def comment_remove(*, comment: Comment, by: User | None, reason: str) -> None:
    """A moderator takes a comment down: counted off its video and audited. Idempotent.

    Unlike ``comment_delete`` (the author's or the video owner's own), nobody's
    ownership is checked: callers are the admin and the review queue.
    """
    if _comment_delete_counted(comment):
        before = {"body": comment.body, "author_id": comment.author_id, "video_id": comment.video_id}
        audit_record(actor=by, action="comment.remove", target=comment, reason=reason, before=before)


@transaction.atomic
def video_age_restrict(*, video, by, reason: str):
    """Not for teens, and neither is anything that embeds its frames (remixes, references)."""
    video = Video.objects.select_for_update().get(id=video.id)
    if video.safe_for_teens:
        videos_restrict_for_teens(video_ids=[video.id])
        video.refresh_from_db(fields=["safe_for_teens"])
        audit_record(actor=by, action="video.age_restrict", target=video, reason=reason,
                     before={"safe_for_teens": True}, after={"safe_for_teens": False})  # fmt: skip
    return video


# --- Erasure (an account purged: data_rights) ------------------------------------


def videos_of_owner_erase(*, owner: User) -> list[int]:
    """Every video of a purged account comes down by its owner's hand (so others' remixes of its public posts
    stay up, under its tombstone) and loses its prompt and caption; returns their ids for their files to go."""
    video_ids = list(Video.objects.filter(owner_id=owner.id).order_by("id").values_list("id", flat=True))
    for video in Video.objects.filter(id__in=video_ids).exclude(status=Video.Status.REMOVED).order_by("id"):
        video_remove(video=video, by=owner, reason="account deleted by its owner")
    with transaction.atomic():
        Video.objects.filter(id__in=video_ids).update(prompt="", caption="", prompt_hidden=True)
        VideoHashtag.objects.filter(video_id__in=video_ids).delete()
    return video_ids


@transaction.atomic
def comments_of_author_delete(*, author_id: int) -> int:
    """A purged account's comments go, counted off their videos; how many."""
    deleted = 0
    for comment in Comment.objects.filter(author_id=author_id).order_by("id"):
        deleted += _comment_delete_counted(comment)
    return deleted
