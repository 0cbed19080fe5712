"""The first page of a viewer with no feed in Redis: served at once from shared candidates.

Ranking a personal feed takes six source queries and a scoring pass (tens to hundreds of
milliseconds under load), and a new viewer, or one whose feed expired, used to wait for it. Now
their first page comes from lists shared by every viewer of a locale and age group: the best of
the trending and fresh sources, ranked without any viewer's affinity (authors who write in the
locale's language count as followed), diversified per author and lineage, capped at
``FEED_SHARED_CANDIDATES``, with their cards cached. Beat refreshes the lists of
``FEED_SHARED_LOCALES`` (``shared_candidates_refresh``); any other locale's list is built on its
first miss and kept for ``FEED_SHARED_TTL_S``.

Nothing about the viewer is skipped on a shared page: its ids go through the same card path and
filters as a personal page (``selectors.cards_hydrate``: hidden, i.e. removed or consent-withdrawn,
blocked either way, teen safety, public only), the viewer's seen set and their own videos are left
out, and a minor's list holds only videos safe for teens to begin with. Serving the page queues
the personal build on the ``feeds`` queue; the cursor of a shared page names the ids it served,
which the next request marks seen before it reads the personal feed (built by then, or built on
the spot as before), so the second page is personal and repeats nothing.

Keys: ``<prefix>:shared:{shared:<locale>:<adult|teen>}:ids``, the ids in order as one string. Each
list has a hash tag of its own: the lists spread over a Redis Cluster and never share a slot with a
viewer's keys (so no script or transaction spans both).

This module holds both the shared lists' writes and the read of a shared page, apart from
``services``/``selectors``, so the feed store's key layout (``feeds.store``) stays one file.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from backend.core.i18n import supported
from backend.creators.models import User
from backend.videos.models import Video
from feeds import ranking, selectors, sources, store
from feeds.cards import cards_build


def locale_of(user: User) -> str:
    """The language of a viewer (``User.language``, from their sign-up's Accept-Language) as the service
    supports it (``backend.core.i18n.supported``: one of ``LANGUAGES``, else ``LANGUAGE_CODE``), so the
    lists stay few whatever a client sends."""
    return supported(user.language or "")


def shared_key(locale: str, teen: bool) -> str:
    return ":".join((settings.FEED_KEY_PREFIX, "shared", f"{{shared:{locale}:{'teen' if teen else 'adult'}}}", "ids"))


def shared_ids_read(locale: str, teen: bool) -> list[int] | None:
    """The shared list of a locale and age group; None when it is missing (expired or never built)."""
    stored = store.redis().get(shared_key(locale, teen))
    if stored is None:
        return None
    return [int(video_id) for video_id in stored.split(b",") if video_id]


def shared_candidates_build(*, locale: str, teen: bool) -> list[int]:
    """Rank the trending and fresh candidates for a locale and age group, cache their cards and store
    the list; returns it. Safe to run again at any time: the list is replaced whole."""
    by_source: dict[int, set[str]] = {}
    # Neither source depends on a viewer: ``0`` is nobody.
    for name in ("trending", "fresh"):
        for video_id in sources.SOURCES[name](0):
            by_source.setdefault(video_id, set()).add(name)
    videos = sources.recent_public().filter(id__in=list(by_source))
    if teen:
        # ``visible_to`` a minor keeps only these; the per-viewer card filter checks again on serving.
        videos = videos.filter(safe_for_teens=True)
    candidates = sources.candidates(videos, by_source)
    languages = dict(
        Video.objects.filter(id__in=[c.video_id for c in candidates]).values_list("owner_id", "owner__language")
    )
    local = {author_id: 1.0 for author_id, language in languages.items() if language and supported(language) == locale}
    weights = ranking.Weights(**settings.FEED_RANKING)
    ordered = ranking.diversify(
        ranking.rank(candidates, now=timezone.now(), weights=weights, affinity=local), weights=weights
    )
    video_ids = [candidate.video_id for candidate in ordered[: settings.FEED_SHARED_CANDIDATES]]
    cached = store.cards_get(video_ids)
    store.cards_put(cards_build([video_id for video_id in video_ids if video_id not in cached]).values())
    store.redis().set(
        shared_key(locale, teen), ",".join(str(video_id) for video_id in video_ids), ex=settings.FEED_SHARED_TTL_S
    )
    return video_ids


def shared_candidates_refresh() -> int:
    """Beat: rebuild the lists of every configured locale, for adults and for minors; returns how many ids."""
    return sum(
        len(shared_candidates_build(locale=locale, teen=teen))
        for locale in settings.FEED_SHARED_LOCALES
        for teen in (False, True)
    )


def personal_build_claim(user_id: int) -> bool:
    """True for the one request that should queue the viewer's personal build (the refill's claim,
    ``feeds.store._TAKE_SCRIPT``): a retried or concurrent first page queues nothing more."""
    return bool(store.redis().set(store.user_key(user_id, "refilling"), 1, nx=True, ex=settings.FEED_REFILL_CLAIM_S))


def viewer_sets_load(user: User) -> None:
    """Load a viewer's blocked and liked sets into Redis when missing, off the request path (the
    personal build on the worker calls this), so the page after a shared one reads them with no SQL."""
    client = store.redis()
    pipe = client.pipeline(transaction=False)
    for name in ("blocked", "liked"):
        pipe.exists(store.user_key(user.id, name))
    blocked, liked = pipe.execute()
    if not (blocked and liked):
        # As a page that found them missing: ``None`` is a set to load (blocks are loaded again, a query).
        missing = store.Taken(video_ids=[], position=0.0, remaining=0, refill_claimed=False,
                              liked=set() if liked else None, blocked=None, blocked_version=None)  # fmt: skip
        selectors.viewer_sets(user, missing)


def shared_first_page(viewer: User) -> tuple[dict[int, bytes], list[int]]:
    """A page of the viewer's locale's shared list: cards in JSON, minus what this viewer has seen or
    may not be shown, and the ids it served (what its cursor carries).

    Three Redis round trips (the list, the viewer's seen flags, the cards) and one SQL query (blocks,
    likes, steering) when the cards are cached; a list missing is built on the spot, once per locale and
    age group. Nothing for a viewer who steers their feed: a list shared by everyone ignores "no …".
    """
    locale, teen = locale_of(viewer), viewer.is_teen
    video_ids = shared_ids_read(locale, teen)
    if video_ids is None:
        video_ids = shared_candidates_build(locale=locale, teen=teen)
    seen = store.seen_among(viewer.id, video_ids)
    # Twice a page of unseen ids: cards that drop out (blocked authors, hidden since) leave enough.
    wanted = [video_id for video_id in video_ids if video_id not in seen][: settings.FEED_PAGE_SIZE * 2]
    if not wanted:
        return {}, []
    # One query for who is blocked either way, which of these the viewer liked and whether they steer
    # their feed; loading their sets into Redis for the pages after is the worker's (``viewer_sets_load``,
    # with the personal build).
    blocked, liked, steers = selectors.viewer_context(viewer.id, wanted)
    if steers:
        return {}, []  # "no horror" holds from the first page: theirs is built on the spot, steered
    # The viewer's own videos are not for their feed: left out as a blocked author's would be.
    page = selectors.cards_hydrate(viewer, wanted, kind=store.FOR_YOU, context=(blocked | {viewer.id}, liked))
    served = dict(list(page.items())[: settings.FEED_PAGE_SIZE])
    return served, list(served)
