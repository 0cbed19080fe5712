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
from backend.videos.api import VideoCardOutput
from backend.videos.models import Video


@dataclass(frozen=True, slots=True)
class Card:
    video_id: int
    author_id: int
    safe_for_teens: bool
    public: bool  # False: followers only
    body: bytes  # the card as the API returns it, less the viewer's "liked"
    # Authors of the videos whose frames went into this one: who is blocked by one may not see it either.
    source_author_ids: tuple[int, ...] = ()

    def for_viewer(self, *, liked: bool) -> bytes:
        return self.body[:-1] + (b',"liked":true}' if liked else b',"liked":false}')

    def shows_anyone_of(self, people: set[int]) -> bool:
        return self.author_id in people or not people.isdisjoint(self.source_author_ids)

    def dumps(self) -> bytes:
        """The stored form: ``<author id>[,<source author id>...] <safe for teens 0|1><public 0|1> <json>``."""
        authors = b",".join(b"%d" % author for author in (self.author_id, *self.source_author_ids))
        return b"%s %d%d %s" % (authors, self.safe_for_teens, self.public, self.body)

    @classmethod
    def loads(cls, video_id: int, stored: bytes) -> Card:
        authors, flags, body = stored.split(b" ", 2)
        author_id, *sources = (int(author) for author in authors.split(b","))
        return cls(video_id, author_id, flags[:1] == b"1", flags[1:2] == b"1", body, tuple(sources))


def feed_posts() -> QuerySet[Video]:
    """Posts a feed may show someone (``VideoQuerySet.shown_to_followers``); serving filters per viewer."""
    return Video.objects.shown_to_followers()


def cards_build(video_ids: list[int]) -> dict[int, Card]:
    """Cards of the videos that may be shown in feeds: three queries, whatever the count."""
    videos = list(feed_posts().filter(id__in=video_ids).select_related("owner"))
    source_authors: dict[int, set[int]] = {}
    embeds = Video.embedded_sources.through.objects.filter(from_video_id__in=video_ids)
    for video_id, author_id in embeds.values_list("from_video_id", "to_video__owner_id"):
        source_authors.setdefault(video_id, set()).add(author_id)
    cameo_handles: dict[int, set[str]] = {}
    for video_id, handle in Appearance.objects.filter(video_id__in=video_ids).values_list(
        "video_id", "cameo__owner__handle"
    ):
        cameo_handles.setdefault(video_id, set()).add(handle)
    # One serializer for every video body the API returns; a card is the same for every viewer ("shared").
    context = {
        "shared": True,
        "cameo_handles": {video_id: sorted(handles) for video_id, handles in cameo_handles.items()},
    }
    bodies = VideoCardOutput(videos, many=True, context=context).data
    return {
        video.id: _card(video, fields, source_authors.get(video.id, set()))
        for video, fields in zip(videos, bodies, strict=True)
    }


def _card(video: Video, fields: dict, source_authors: set[int]) -> Card:
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    public = video.visibility == Video.Visibility.PUBLIC
    sources = tuple(sorted(source_authors - {video.owner_id}))
    return Card(video.id, video.owner_id, video.safe_for_teens, public, body, sources)


def page_json(cards: list[bytes], next_cursor: str | None) -> bytes:
    """The feed page envelope around cards already in JSON."""
    return b'{"results":[%s],"next":%s}' % (b",".join(cards), json.dumps(next_cursor).encode())
