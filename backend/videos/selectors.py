"""Who may see which video, decided once for lists, details, feeds and tasks."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from backend.core.errors import NotFound
from backend.creators.models import Block, Follow, User
from backend.creators.selectors import blocked_user_ids
from backend.videos.models import Comment, Hashtag, Like, Video


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.id if viewer is not None and viewer.is_authenticated else None


def _cameo_owner_of(viewer_id: int):
    from backend.cameos.selectors import videos_with_cameos_of

    return Q(id__in=videos_with_cameos_of(owner_id=viewer_id))


def videos_visible_to(*, viewer: User | None) -> QuerySet[Video]:
    """Every video ``viewer`` may open: the one rule for every read.

    - published + public: everyone, except across a block;
    - published + followers: the owner's followers;
    - drafts and private posts: the owner, and owners of cameos in them;
    - removed: nobody (the lineage shows a tombstone instead).
    """
    videos = Video.objects.exclude(status=Video.Status.REMOVED)
    viewer_id = _viewer_id(viewer)
    published = Q(status=Video.Status.PUBLISHED)
    if viewer_id is None:
        return videos.filter(published, visibility=Video.Visibility.PUBLIC, consent_withdrawn_at__isnull=True)
    follows_owner = Exists(Follow.objects.filter(follower_id=viewer_id, followee_id=OuterRef("owner_id")))
    blocked = Exists(
        Block.objects.filter(
            Q(blocker_id=viewer_id, blocked_id=OuterRef("owner_id"))
            | Q(blocker_id=OuterRef("owner_id"), blocked_id=viewer_id)
        )
    )
    others_may_see = (
        published
        & Q(consent_withdrawn_at__isnull=True)
        & (Q(visibility=Video.Visibility.PUBLIC) | (Q(visibility=Video.Visibility.FOLLOWERS) & follows_owner))
    )
    return videos.filter(Q(owner_id=viewer_id) | _cameo_owner_of(viewer_id) | (others_may_see & ~blocked))


def video_visible_to(*, viewer: User | None, video_id: int) -> Video:
    video = videos_visible_to(viewer=viewer).select_related("owner").filter(id=video_id).first()
    if video is None:
        raise NotFound("No such video.")
    return video


def video_for_lineage(*, viewer: User | None, video_id: int) -> Video:
    """A node to read the lineage of: visible, or removed (a tombstone keeps remixes reachable)."""
    video = Video.objects.select_related("owner").filter(id=video_id).first()
    if video is None or (not video.is_removed and not videos_visible_to(viewer=viewer).filter(id=video_id).exists()):
        raise NotFound("No such video.")
    return video


def creator_videos(*, viewer: User | None, owner: User) -> QuerySet[Video]:
    """A creator's published videos that ``viewer`` may see, newest first."""
    return (
        videos_visible_to(viewer=viewer)
        .filter(owner=owner, status=Video.Status.PUBLISHED)
        .select_related("owner")
        .order_by("-published_at", "-id")
    )


def liked_by(*, viewer: User | None, video_ids: list[int]) -> set[int]:
    viewer_id = _viewer_id(viewer)
    if viewer_id is None or not video_ids:
        return set()
    return set(Like.objects.filter(user_id=viewer_id, video_id__in=video_ids).values_list("video_id", flat=True))


def comments_of(*, viewer: User | None, video: Video) -> QuerySet[Comment]:
    comments = Comment.objects.filter(video=video).select_related("author")
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None:
        comments = comments.exclude(author_id__in=blocked_user_ids(viewer_id))
    return comments


def hashtag_get(*, name: str) -> Hashtag:
    hashtag = Hashtag.objects.filter(name__iexact=name.lstrip("#")).first()
    if hashtag is None:
        raise NotFound("No such hashtag.")
    return hashtag


def hashtag_entries(*, viewer: User | None, hashtag: Hashtag) -> QuerySet[Video]:
    return (
        videos_visible_to(viewer=viewer)
        .filter(status=Video.Status.PUBLISHED, hashtag_links__hashtag=hashtag)
        .select_related("owner")
    )
