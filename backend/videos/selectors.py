"""Who may see which video, decided once for lists, details, feeds and tasks."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from backend.core.db_router import lag_tolerant, replica_reads
from backend.core.errors import NotFound
from backend.creators.models import User
from backend.creators.selectors import blocked_user_ids
from backend.videos import lineage
from backend.videos.models import Comment, Hashtag, Like, Video, VideoLineage


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.id if viewer is not None and viewer.is_authenticated else None


def _video_get(*, viewer: User | None, video_id: int, among: QuerySet[Video]) -> Video:
    """One video of ``among``, read on a replica when it is someone else's public post (a public page,
    where a second of lag is fine: a post taken down or made private a moment ago may show that long);
    anything else from the primary: what a replica may not have yet (a draft a worker just made, a post
    just published), every owner's own video, and every 404 before it is answered."""
    with replica_reads(viewer=viewer) as replica:
        video = among.select_related("owner").filter(id=video_id).first()
    public_post = (
        video is not None
        and video.status == Video.Status.PUBLISHED
        and video.visibility == Video.Visibility.PUBLIC
        and video.owner_id != _viewer_id(viewer)
    )
    if replica is not None and not public_post:
        video = among.select_related("owner").filter(id=video_id).first()
    if video is None:
        raise NotFound(_("No such video."))
    return video


def video_visible_to(*, viewer: User | None, video_id: int) -> Video:
    """A video by id as ``viewer`` may see it (``VideoQuerySet.visible_to``); anything else is 404."""
    return _video_get(viewer=viewer, video_id=video_id, among=Video.objects.visible_to(viewer))


def video_for_lineage(*, viewer: User | None, video_id: int) -> Video:
    """A node to read the lineage of: one the viewer may see, or a tombstone (remixes stay reachable)."""
    return _video_get(viewer=viewer, video_id=video_id, among=Video.objects.lineage_listable_by(viewer))


@lag_tolerant
def lineage_ancestors(*, viewer: User | None, video: Video) -> list[Video]:
    """From the root down to the parent, as ``viewer`` may list them (``VideoQuerySet.lineage_listable_by``)."""
    return list(lineage.ancestors(video=video).lineage_listable_by(viewer))


@lag_tolerant
def lineage_direct_remixes(*, viewer: User | None, video: Video, after: int | None, limit: int) -> list[Video]:
    remixes = lineage.direct_remixes(video=video).lineage_listable_by(viewer).filter(id__gt=after or 0)
    return list(remixes.order_by("id")[:limit])


@lag_tolerant
def lineage_subtree_page(
    *, viewer: User | None, video: Video, after: tuple[int, int] | None, limit: int
) -> list[VideoLineage]:
    return lineage.subtree_page(video=video, after=after, limit=limit, among=Video.objects.lineage_listable_by(viewer))


@lag_tolerant
def lineage_descendant_count(*, viewer: User | None, video: Video) -> int:
    """How many remixes, at any depth, ``viewer`` may list: what they cannot see is not counted."""
    return lineage.descendant_count(video=video, among=Video.objects.lineage_listable_by(viewer))


@lag_tolerant
def creator_videos(*, viewer: User | None, owner: User) -> QuerySet[Video]:
    """A creator's published videos that ``viewer`` may see, newest first."""
    return (
        Video.objects.visible_to(viewer)
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
        raise NotFound(_("No such hashtag."))
    return hashtag


def hashtag_entries(*, viewer: User | None, hashtag: Hashtag) -> QuerySet[Video]:
    return (
        Video.objects.visible_to(viewer)
        .filter(status=Video.Status.PUBLISHED, hashtag_links__hashtag=hashtag)
        .select_related("owner")
    )
