"""Reads about creators that depend on who is asking."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.db_router import lag_tolerant
from backend.core.errors import NotFound
from backend.creators.models import Block, Follow, User


def is_blocked_between(user_a_id: int, user_b_id: int) -> bool:
    """True when either has blocked the other."""
    return Block.objects.filter(
        Q(blocker_id=user_a_id, blocked_id=user_b_id) | Q(blocker_id=user_b_id, blocked_id=user_a_id)
    ).exists()


def blocked_user_ids(user_id: int) -> set[int]:
    """Everyone this user blocked or was blocked by: hidden from each other."""
    pairs = Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list("blocker_id", "blocked_id")
    return {other for pair in pairs for other in pair if other != user_id}


def are_mutuals(user_a_id: int, user_b_id: int) -> bool:
    """Both follow each other, right now."""
    return (
        Follow.objects.filter(
            Q(follower_id=user_a_id, followee_id=user_b_id) | Q(follower_id=user_b_id, followee_id=user_a_id)
        ).count()
        == 2
    )


@lag_tolerant
def creator_get(*, viewer: User | None, handle: str) -> User:
    """An active creator by handle, as ``viewer`` may see them; 404 when blocked either way."""
    # The posts anyone may see (``Video.objects.shown_to_everyone``): nothing withdrawn is counted.
    published = Count(
        "videos",
        filter=Q(videos__status="published", videos__visibility="public", videos__withdrawn_at__isnull=True),
    )
    creators = User.objects.filter(handle__iexact=handle, is_active=True).annotate(video_count=published)
    if viewer is not None and viewer.is_authenticated:
        creators = creators.annotate(
            viewer_follows=Exists(Follow.objects.filter(follower_id=viewer.id, followee_id=OuterRef("id"))),
            follows_viewer=Exists(Follow.objects.filter(follower_id=OuterRef("id"), followee_id=viewer.id)),
            hidden=Exists(
                Block.objects.filter(
                    Q(blocker_id=viewer.id, blocked_id=OuterRef("id"))
                    | Q(blocker_id=OuterRef("id"), blocked_id=viewer.id)
                )
            ),
        )
    creator = creators.first()
    if creator is None or getattr(creator, "hidden", False):
        raise NotFound(_("No creator with this handle."))
    if creator.suspended_until and creator.suspended_until > timezone.now():  # posts shown to nobody meanwhile
        creator.video_count = 0
    return creator


def creator_for_relationship(*, viewer: User, handle: str) -> User:
    """A creator to follow, block or unblock, found whatever the blocks: the service decides."""
    creator = User.objects.filter(handle__iexact=handle, is_active=True).first()
    if creator is None:
        raise NotFound(_("No creator with this handle."))
    return creator


def followers_of(*, viewer: User | None, creator: User) -> QuerySet[Follow]:
    edges = Follow.objects.filter(followee=creator, follower__is_active=True).select_related("follower")
    if viewer is not None and viewer.is_authenticated:
        edges = edges.exclude(follower_id__in=blocked_user_ids(viewer.id))
    return edges


def following_of(*, viewer: User | None, creator: User) -> QuerySet[Follow]:
    edges = Follow.objects.filter(follower=creator, followee__is_active=True).select_related("followee")
    if viewer is not None and viewer.is_authenticated:
        edges = edges.exclude(followee_id__in=blocked_user_ids(viewer.id))
    return edges
