"""Every write about videos: drafts, publishing, removal, likes, comments, hashtags."""

from __future__ import annotations

import re

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.creators.models import User
from backend.videos import events, lineage
from backend.videos.models import Comment, Hashtag, Like, Video, VideoHashtag

HASHTAG_PATTERN = re.compile(r"(?<![\w#])#(\w{1,50})")
MAX_HASHTAGS = 10


class PublishRefused(DomainError):
    status_code = 403
    default_code = "publish_refused"
    default_detail = "This video cannot be published."


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


@transaction.atomic
def video_create_draft(*, owner: User, prompt: str, parent: Video | None = None, media: dict | None = None) -> Video:
    """A new draft from a finished render, placed in its parent's lineage."""
    video = Video(owner=owner, prompt=prompt, **(media or {}))
    if parent is not None:
        video.parent = parent
        video.root_id = parent.root_id or parent.id
        video.depth = parent.depth + 1
    video.save()
    lineage.lineage_insert(video=video)
    return video


def _lock(video: Video) -> Video:
    return Video.objects.select_for_update().get(id=video.id)


@transaction.atomic
def video_publish(*, video: Video, by: User, caption: str | None = None, visibility: str | None = None) -> Video:
    """Draft → published, once consent for every cameo and every character policy allow it."""
    from backend.cameos import selectors as cameo_selectors
    from backend.moderation.services import require_not_suspended

    video = _lock(video)
    if video.owner_id != by.id:
        raise NotFound("No such video.")
    require_not_suspended(by, action="publish")
    if video.status == Video.Status.PUBLISHED:
        return video
    if video.status == Video.Status.REMOVED:
        raise Conflict("A removed video cannot be published.", code="video_removed")
    refusals = cameo_selectors.cameo_refusals_for_video(user=by, video_id=video.id)
    if refusals:
        raise PublishRefused(
            "A cameo in this video may no longer be used by you.",
            code="cameo_not_allowed",
            details={"cameos": refusals},
        )
    from backend.rights.services import character_policy_check

    characters = [link.character for link in video.character_links.select_related("character__holder")]
    character_policy_check(user=by, characters=characters, source_video=video.parent)
    if caption is not None:
        video.caption = caption
    if visibility is not None:
        video.visibility = visibility
    video.status = Video.Status.PUBLISHED
    video.published_at = timezone.now()
    video.save(update_fields=["caption", "visibility", "status", "published_at"])
    _set_hashtags(video, video.caption)
    if video.parent_id:
        Video.objects.filter(id=video.parent_id).update(remix_count=F("remix_count") + 1)
    events.video_published.send_on_commit(video_id=video.id)
    return video


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
    video = _lock(video)
    if video.owner_id != by.id or video.is_removed:
        raise NotFound("No such video.")
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
        events.video_changed.send_on_commit(video_id=video.id)
    return video


@transaction.atomic
def video_remove(*, video: Video, by: User | None, reason: str) -> Video:
    """Take a video down everywhere; it stays in its lineage as a tombstone. Idempotent."""
    from backend.moderation.services import audit_record

    video = _lock(video)
    if video.is_removed:
        return video
    before = {"status": video.status}
    was_published = video.status == Video.Status.PUBLISHED
    video.status = Video.Status.REMOVED
    video.removed_at = timezone.now()
    video.removed_reason = reason[:300]
    video.save(update_fields=["status", "removed_at", "removed_reason"])
    if was_published and video.parent_id:
        Video.objects.filter(id=video.parent_id).update(remix_count=F("remix_count") - 1)
    audit_record(
        actor=by, action="video.remove", target=video, reason=reason, before=before, after={"status": "removed"}
    )
    events.video_hidden.send_on_commit(video_id=video.id)
    return video


@transaction.atomic
def video_restore(*, video: Video, by: User, reason: str) -> Video:
    """Moderators undo a removal: the video comes back as it was (published or draft)."""
    from backend.moderation.services import audit_record

    video = _lock(video)
    if not video.is_removed:
        return video
    video.status = Video.Status.PUBLISHED if video.published_at else Video.Status.DRAFT
    video.removed_at = None
    video.removed_reason = ""
    video.save(update_fields=["status", "removed_at", "removed_reason"])
    if video.status == Video.Status.PUBLISHED and video.parent_id:
        Video.objects.filter(id=video.parent_id).update(remix_count=F("remix_count") + 1)
    audit_record(actor=by, action="video.restore", target=video, reason=reason, before={"status": "removed"},
                 after={"status": video.status})  # fmt: skip
    events.video_shown.send_on_commit(video_id=video.id)
    return video


@transaction.atomic
def videos_mark_consent_withdrawn(*, video_ids: list[int]) -> int:
    """A cameo in these videos may no longer be used by their creators: out of every feed."""
    updated = Video.objects.filter(id__in=video_ids, consent_withdrawn_at__isnull=True).update(
        consent_withdrawn_at=timezone.now()
    )
    for video_id in video_ids:
        events.video_hidden.send_on_commit(video_id=video_id)
    return updated


# --- Reactions ------------------------------------------------------------------


def _require_published(video: Video) -> None:
    if video.status != Video.Status.PUBLISHED:
        raise DomainError("Only published videos take reactions.", code="video_not_published")


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
        events.video_liked.send_on_commit(video_id=video.id, user_id=user.id, liked=True)
    return created


@transaction.atomic
def like_delete(*, video: Video, user: User) -> bool:
    deleted, _ = Like.objects.filter(video_id=video.id, user_id=user.id).delete()
    if deleted:
        Video.objects.filter(id=video.id).update(like_count=F("like_count") - 1)
        events.video_liked.send_on_commit(video_id=video.id, user_id=user.id, liked=False)
    return bool(deleted)


@transaction.atomic
def comment_create(*, video: Video, author: User, body: str) -> Comment:
    from backend.moderation.services import require_not_suspended

    require_not_suspended(author, action="comment")
    _require_published(video)
    body = body.strip()
    if not body:
        raise DomainError("A comment cannot be empty.", code="comment_empty")
    comment = Comment.objects.create(video=video, author=author, body=body)
    Video.objects.filter(id=video.id).update(comment_count=F("comment_count") + 1)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by: User) -> None:
    """The author or the video's owner may delete a comment."""
    if by.id not in (comment.author_id, comment.video.owner_id):
        raise Forbidden("Only the author or the video's owner can delete this comment.")
    deleted, _ = Comment.objects.filter(id=comment.id).delete()
    if deleted:
        Video.objects.filter(id=comment.video_id).update(comment_count=F("comment_count") - 1)


def views_add(*, counts: dict[int, int]) -> None:
    """Add view counts flushed from the feed's event counters."""
    for video_id, views in counts.items():
        Video.objects.filter(id=video_id).update(view_count=F("view_count") + views)
