"""Video cards: what a player needs to show one video, shared by every viewer.

A card is serialized to JSON once, when it is built, and served as those bytes:
a page joins cached cards instead of decoding and encoding them again. The two
facts serving filters on (author, safe for minors) travel beside the JSON, not
in it.

Private videos get no card: a post made private drops out of every feed the
moment its stale card is deleted. Followers-only posts get one, marked not
public, which only the following feed serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import QuerySet

from backend.cameos.models import Appearance
from backend.videos.models import Video
from media import storage


@dataclass(frozen=True, slots=True)
class Card:
    video_id: int
    author_id: int
    safe_for_teens: bool
    public: bool  # False: followers only
    body: bytes  # the card as the API returns it, less the viewer's "liked"

    def for_viewer(self, *, liked: bool) -> bytes:
        return self.body[:-1] + (b',"liked":true}' if liked else b',"liked":false}')

    def dumps(self) -> bytes:
        """The stored form: ``<author id> <safe for teens 0|1><public 0|1> <json>``."""
        return b"%d %d%d %s" % (self.author_id, self.safe_for_teens, self.public, self.body)

    @classmethod
    def loads(cls, video_id: int, stored: bytes) -> Card:
        author_id, flags, body = stored.split(b" ", 2)
        return cls(video_id, int(author_id), flags[:1] == b"1", flags[1:2] == b"1", body)


def _url(name: str) -> str | None:
    return storage.public().url(name) if name else None


def feed_posts() -> QuerySet[Video]:
    """Posts a feed may show: published, consent standing, public or for followers."""
    return Video.objects.filter(status=Video.Status.PUBLISHED, consent_withdrawn_at__isnull=True).exclude(
        visibility=Video.Visibility.PRIVATE
    )


def cards_build(video_ids: list[int]) -> dict[int, Card]:
    """Cards of the videos that may be shown in feeds: two queries, whatever the count."""
    videos = feed_posts().filter(id__in=video_ids).select_related("owner")
    cameo_handles: dict[int, set[str]] = {}
    for video_id, handle in Appearance.objects.filter(video_id__in=video_ids).values_list(
        "video_id", "cameo__owner__handle"
    ):
        cameo_handles.setdefault(video_id, set()).add(handle)
    return {video.id: _card(video, sorted(cameo_handles.get(video.id, ()))) for video in videos}


def _card(video: Video, cameo_handles: list[str]) -> Card:
    fields = {
        "id": video.id,
        "author": {"handle": video.owner.handle, "display_name": video.owner.display_name},
        "caption": video.caption,
        "prompt": None if video.prompt_hidden else video.prompt,
        "hls_url": _url(video.hls),
        "mp4_url": _url(video.mp4),
        "poster_url": _url(video.poster),
        "duration_s": video.duration_s,
        "width": video.width,
        "height": video.height,
        "like_count": video.like_count,
        "comment_count": video.comment_count,
        "remix_count": video.remix_count,
        "view_count": video.view_count,
        "remix_of": video.parent_id,
        "cameo_handles": cameo_handles,
        "ai_generated": True,
        "published_at": video.published_at.isoformat(),
    }
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    public = video.visibility == Video.Visibility.PUBLIC
    return Card(video.id, video.owner_id, video.safe_for_teens, public, body)


def page_json(cards: list[bytes], next_cursor: str | None) -> bytes:
    """The feed page envelope around cards already in JSON."""
    return b'{"results":[%s],"next":%s}' % (b",".join(cards), json.dumps(next_cursor).encode())
