"""Every search and discovery read, each taking the viewer.

What a viewer finds is what they may see, by the one rule of each kind: videos through
``Video.objects.visible_to`` (drafts, private and followers-only posts of strangers, blocks either way,
age-restricted posts for teens, withdrawn and removed posts, suspended or deleted authors), creators
active, not suspended and not blocked either way. A query naming a protected person or a blocked term
finds nothing, and no suggestion names one (``backend.core.names``, the lists the name guard reads).

The seam for a search server (OpenSearch, when PostgreSQL no longer keeps up): the ``*_search`` and
``suggest`` functions here take a query and return rows in order; another engine returns ids in
order and these hydrate them through the same visibility rules (README, "Search").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchQuery
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, FloatField, Func, Q, QuerySet, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Ln, RowNumber
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from backend.cameos.selectors import PROTECTED_LIKENESSES
from backend.core import names
from backend.core import textsearch as text
from backend.core.errors import NotFound
from backend.creators.models import Block, Follow, User
from backend.creators.selectors import blocked_user_ids
from backend.moderation.selectors import BLOCKED_TERMS
from backend.videos.models import Hashtag, Video
from search.models import CreatorName, HashtagName, VideoDocument

# A trigram match at this similarity or more counts ("mya" and "maya" share 2 of 7 trigrams: 0.29).
TRIGRAM_THRESHOLD = 0.2
# A word of a name alike at this or more counts ("mya" in "Maya García": 0.29): two trigrams in common at least. One
# alone (0.25 at most, for three letters) is mostly the first letter's, which a fifth of all names share, and reading
# those from the index cost more than the rest of a search.
WORD_THRESHOLD = 0.26
# Shorter queries match by prefix only: one or two letters share trigrams with half the names.
TYPO_MIN_LENGTH = 3
# Deeper than this, a search is a crawl: refine the query instead.
MAX_RESULTS = 500


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.id if viewer is not None and viewer.is_authenticated else None


def _trigram_match(expression, value: str) -> Q:
    """``a % b``, the match the GIN trigram indexes serve (at TRIGRAM_THRESHOLD, inside ``_SearchScope``);
    without pg_trgm, the same measure in plain SQL row by row (search's migration 0002)."""
    if not trigram_available():
        return Q(GreaterThanOrEqual(_similarity(expression, value), TRIGRAM_THRESHOLD))
    return Q(
        Func(
            expression,
            Value(value),
            template="(%(expressions)s)",
            arg_joiner=" OPERATOR(public.%%) ",
            output_field=BooleanField(),
        )
    )


def _similarity(expression, value: str) -> Func:
    function = "public.similarity" if trigram_available() else "public.search_similarity"
    return Func(expression, Value(value), function=function, output_field=FloatField())


_trigram_databases: dict[str, bool] = {}


def trigram_available() -> bool:
    """Whether this database has pg_trgm (the embedded server has not: prefix and word matches only)."""
    key = connection.settings_dict["NAME"]
    if key not in _trigram_databases:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            _trigram_databases[key] = cursor.fetchone() is not None
    return _trigram_databases[key]


class _SearchScope:
    """A transaction whose settings (SET LOCAL, ended with it) suit search's few-rows queries: trigram
    matches at TRIGRAM_THRESHOLD and WORD_THRESHOLD; no JIT (compiling costs 300 ms, more than the query);
    index paths and nested loops over whole-table scans and hash joins (a first-rows plan would walk a table
    for a rare word, and a hash join read all 200,000 creators for the owners of a page of videos); no
    parallel workers (starting them costs more than these queries); and pages priced as the cached pages they
    are (the recent documents), so that a word in one post of a hundred is read from the index of recent
    documents rather than found by walking 50,000 of them."""

    def __enter__(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        settings = {
            "jit": "off",
            "enable_seqscan": "off",
            "enable_hashjoin": "off",
            "enable_mergejoin": "off",
            "max_parallel_workers_per_gather": "0",
            "random_page_cost": "1.1",
        }
        if trigram_available():
            settings["pg_trgm.similarity_threshold"] = str(TRIGRAM_THRESHOLD)
            settings["pg_trgm.word_similarity_threshold"] = str(WORD_THRESHOLD)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
                [value for pair in settings.items() for value in pair],
            )
        return self

    def __exit__(self, *exc):
        return self._atomic.__exit__(*exc)


# --- Protected names ------------------------------------------------------------------

_GUARDED_LISTS = (PROTECTED_LIKENESSES, BLOCKED_TERMS)


@dataclass
class Guard:
    """The protected-name lists, compiled once per request (one version query each)."""

    indexes: list

    @classmethod
    def load(cls) -> Guard:
        return cls([names.index_for(name_list) for name_list in _GUARDED_LISTS])

    def names_any(self, *texts: str) -> bool:
        return any(index.match(value) for value in texts if value and value.strip() for index in self.indexes)


# --- Creators -------------------------------------------------------------------------


def _findable_creators(viewer: User | None) -> QuerySet[User]:
    creators = User.objects.filter(is_active=True, purged_at__isnull=True).exclude(suspended_until__gt=timezone.now())
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None:
        creators = creators.exclude(id__in=blocked_user_ids(viewer_id))
    return creators


def _word_match(column: str, folded: str) -> Q:
    """``folded`` is like a word of ``column`` (pg_trgm's ``<%``, served by the GIN trigram index, at
    WORD_THRESHOLD inside ``_SearchScope``); without pg_trgm, the whole-text measure in plain SQL."""
    if not trigram_available():
        return Q(GreaterThanOrEqual(_word_likeness(column, folded), TRIGRAM_THRESHOLD))
    return Q(
        Func(
            Value(folded),
            F(column),
            template="(%(expressions)s)",
            arg_joiner=" OPERATOR(public.<%%) ",
            output_field=BooleanField(),
        )
    )


def _word_likeness(column: str, folded: str) -> Func:
    if trigram_available():
        return Func(Value(folded), F(column), function="public.word_similarity", output_field=FloatField())
    return Func(F(column), Value(folded), function="public.search_similarity", output_field=FloatField())


# Each way of matching (handle prefix, name prefix, alike words) offers at most this many creators to rank:
# "wei" begins 4,000 handles in 200,000, and ranking them all would cost a second.
CREATOR_CANDIDATES = 100


def _creators_matching(viewer: User | None, query: str) -> QuerySet[User]:
    """Exact handle first, then handle and display name prefixes, then alike words (typos), more followers
    first among equals: on the folded names ``CreatorName`` stores, among at most CREATOR_CANDIDATES of
    each way of matching (the first the prefix and trigram indexes give; an exact handle always)."""
    folded = text.fold(query).lstrip("@").strip()
    names = CreatorName.objects.values_list("user_id", flat=True)
    branches = [
        names.filter(handle=folded)[:1],
        names.filter(handle__startswith=folded).order_by()[:CREATOR_CANDIDATES],
        names.filter(name__startswith=folded).order_by()[:CREATOR_CANDIDATES],
    ]
    if len(folded) >= TYPO_MIN_LENGTH:
        # The first alike ones the trigram indexes give: ranking them all ("mya" is like 8,000 "maya"s) costs
        # what ranking every creator would.
        alike = names.filter(_word_match("handle", folded) | _word_match("name", folded)).order_by()
        branches.append(alike[:CREATOR_CANDIDATES])
    # The candidates, each way by its own index, ranked in the same query.
    candidates = branches[0].union(*branches[1:], all=True)
    handle, name = "search_name__handle", "search_name__name"
    exact = Case(When(**{handle: folded}, then=Value(2.0)), default=Value(0.0), output_field=FloatField())
    prefix = Case(
        When(**{f"{handle}__startswith": folded}, then=Value(1.0)),
        When(**{f"{name}__startswith": folded}, then=Value(0.8)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    likeness = Greatest(_word_likeness(handle, folded), _word_likeness(name, folded))
    popularity = Ln(F("follower_count") + 1.0) * 0.02
    return (
        _findable_creators(viewer)
        .filter(id__in=candidates)
        .annotate(score=exact + prefix + likeness + popularity)
        .order_by("-score", "id")
    )


def creators_search(*, viewer: User | None, query: str, offset: int, limit: int) -> list[User]:
    """Creators by handle and display name: exact, then prefix, then alike (typos, "mya" finds "maya"),
    accents ignored ("ines" finds "Inès"); more followers rank higher among equals."""
    with _SearchScope():
        return list(_creators_matching(viewer, query)[offset : offset + limit])


# --- Hashtags and challenges ----------------------------------------------------------


# Each way of matching a hashtag (prefix, alike) offers at most this many to rank: "e" begins 800 of 20,000.
HASHTAG_CANDIDATES = 100


def _hashtags_matching(query: str, *, challenges: bool | None) -> QuerySet[Hashtag]:
    """Prefix matches first, the more used before the less; then alike names (typos): among at most
    HASHTAG_CANDIDATES of each (the prefix index's first; the nearest the trigram index gives)."""
    folded = text.fold(query).lstrip("#").strip()
    names = HashtagName.objects.values("hashtag_id")
    if challenges is not None:
        names = names.filter(is_challenge=challenges)
    branches = [names.filter(name__startswith=folded).order_by()[:HASHTAG_CANDIDATES]]
    if len(folded) >= TYPO_MIN_LENGTH:
        alike = names.filter(_trigram_match(F("name"), folded))
        if trigram_available():  # nearest first, by the GiST index
            distance = Func(F("name"), Value(folded), arg_joiner=" OPERATOR(public.<->) ", template="(%(expressions)s)")
            alike = alike.order_by(distance)
        else:
            alike = alike.order_by()
        branches.append(alike[:HASHTAG_CANDIDATES])
    candidates = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    name = F("search_name__name")  # folded, stored (``HashtagName``)
    # Only hashtags on posts anyone may see, and challenges (pages of their own): a tag found only on
    # drafts or private posts would tell of them.
    hashtags = Hashtag.objects.filter(id__in=candidates).filter(Q(stats__video_count__gt=0) | Q(is_challenge=True))
    likeness = _similarity(name, folded)
    prefix = Case(
        When(search_name__name__startswith=folded, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
    )
    video_count = Coalesce(F("stats__video_count"), 0)
    return hashtags.annotate(
        video_count=video_count, score=prefix + likeness * 0.3 + Ln(video_count + 1.0) * 0.1
    ).order_by("-score", "-video_count", "id")


def hashtags_search(*, viewer: User | None, query: str, challenges: bool, offset: int, limit: int) -> list[Hashtag]:
    """Hashtags (or challenges) by prefix, then alike, with how many posts anyone may see carry them."""
    with _SearchScope():
        return list(_hashtags_matching(query, challenges=challenges)[offset : offset + limit])


# --- Videos ---------------------------------------------------------------------------


# A query matching more posts than this ranks the newest this many of them: ranking every post that
# holds a common word would cost a second, and the newest are the ones a swipe app's users look for.
MAX_CANDIDATES = 500
# When the newest posts (``VideoDocument.recent``) hold fewer matches than this, the words are rare: look among the
# wider ring of newer ones (``VideoDocument.newer``), and when those fall short too, among every post (few hold
# them, so the full index gives them at once).
RARE_MATCHES = 50
# Candidates ranked past the page, in case the one rule hides some that the narrowing below let through (a post
# whose frames come from someone the viewer blocked).
SPARE = 10

# ``videos_search``'s score (search's migration 0008: text relevance times engagement times freshness, in float8),
# here on a document's copies.
_DOCUMENT_SCORE = (
    "public.search_video_score(d.document, to_tsquery('simple'::regconfig, %s), d.like_count, d.remix_count,"
    " d.published_at, %s::timestamptz)"
)


def _may_show(viewer: User | None) -> tuple[str, list]:
    """A narrowing of ``Video.objects.visible_to`` on the copies a document keeps (``d``): never hides a post the
    rule shows; what it lets through, the rule (applied after) still hides. Who the viewer follows, stars with and
    blocks, each read once per query (subqueries the planner hashes; written out, as compiling them costs more
    than running them)."""
    standing = (
        "d.owner_active AND (d.owner_suspended_until IS NULL OR d.owner_suspended_until <= now())"
        " AND (d.visibility = 'public'"
    )
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return standing + ")", []
    appearance = Video.appearances.rel.related_model
    appearances, cameos = appearance._meta.db_table, appearance.cameo.field.related_model._meta.db_table
    follows, blocks = Follow._meta.db_table, Block._meta.db_table
    stars = f"(SELECT a.video_id FROM {appearances} a JOIN {cameos} c ON c.id = a.cameo_id WHERE c.owner_id = %s)"
    followed = f"(SELECT followee_id FROM {follows} WHERE follower_id = %s)"
    blocked = (
        f"(SELECT blocked_id FROM {blocks} WHERE blocker_id = %s UNION ALL SELECT blocker_id FROM {blocks}"
        " WHERE blocked_id = %s)"
    )
    teen = " AND d.safe_for_teens" if viewer.is_teen else ""
    sql = (
        f"(d.owner_id = %s OR d.video_id IN {stars} OR ({standing}"
        f" OR (d.visibility = 'followers' AND d.owner_id IN {followed})) AND d.owner_id NOT IN {blocked}{teen}))"
    )
    return sql, [viewer_id] * 5


def _ranked_candidates(viewer: User | None, terms: str, as_of: datetime, count: int) -> RawSQL:
    """The ids of the best ``count`` posts for ``terms`` by the ranking of ``videos_search``, among the newest
    MAX_CANDIDATES of the recent posts that match (then of the newer ones, when the recent ones hold fewer than
    RARE_MATCHES, and of all, when those fall short too), read from the documents alone: each ring by its partial
    index, and each wider one only read when the narrower ones fall short (a one-time filter). A GIN index reads
    every post holding a word to answer it: a rare word beside a common one ("dance tesr") costs the common one's
    posts in the ring, a quarter of them in the newer ring, all of them when every post is read."""
    shown, shown_params = _may_show(viewer)
    table = VideoDocument._meta.db_table

    def matches(tier: str, match: str) -> str:
        return (
            f"SELECT d.video_id, d.document, d.like_count, d.remix_count, d.published_at FROM {table} d"
            f" WHERE d.listed AND {tier} AND {match} AND {shown}"
        )

    every_term = "d.document @@ to_tsquery('simple'::regconfig, %s)"
    # The wider rings are read from their indexes, never by walking the table newest first (``+ 0``: no index gives
    # that order), which a rare word would walk to its end.
    sql = (
        f"WITH recent AS MATERIALIZED ({matches('d.recent', every_term)} ORDER BY d.video_id DESC LIMIT %s),"
        f" newer AS MATERIALIZED ({matches('d.newer AND NOT d.recent', every_term)}"
        " AND (SELECT count(*) FROM recent) < %s ORDER BY d.video_id + 0 DESC LIMIT %s),"
        f" older AS MATERIALIZED ({matches('NOT d.newer', every_term)}"
        " AND (SELECT count(*) FROM recent) + (SELECT count(*) FROM newer) < %s ORDER BY d.video_id + 0 DESC LIMIT %s)"
        " SELECT d.video_id FROM (SELECT * FROM recent UNION ALL SELECT * FROM newer UNION ALL SELECT * FROM older) d"
        f" ORDER BY {_DOCUMENT_SCORE} DESC, d.video_id DESC LIMIT %s"
    )
    wider = [RARE_MATCHES, MAX_CANDIDATES]
    params = [terms, *shown_params, MAX_CANDIDATES, *([terms, *shown_params, *wider] * 2)]
    return RawSQL(sql, [*params, terms, as_of, count])


def videos_search(*, viewer: User | None, query: str, as_of: datetime, offset: int, limit: int) -> list[Video]:
    """Posts ``viewer`` may see whose caption (hashtags included) or shown prompt hold every word of
    ``query`` (the last as a prefix; scripts without spaces by character pairs), ranked by text relevance
    (a caption match above a prompt one) times engagement (likes, remixes) and freshness as of ``as_of``
    (the first page's time, so later pages rank alike); among the newest MAX_CANDIDATES matches of the
    newest SEARCH_RECENT_DOCUMENTS posts, then of the newest SEARCH_NEWER_DOCUMENTS, then of all posts, each
    wider ring read only for words rare in the narrower ones.

    One query: the candidates are chosen and ranked on the stored documents (``VideoDocument``, with the
    copies of state and counts its triggers keep), narrowed by what the viewer may see; the page's rows then
    pass the one rule, ``Video.objects.visible_to``, ranked again by the same score on the videos themselves."""
    terms = text.tsquery(query)
    if not terms:
        return []
    candidates = _ranked_candidates(viewer, terms, as_of, offset + limit + SPARE)
    score = Func(
        F("search_document__document"),
        SearchQuery(terms, config="simple", search_type="raw"),
        F("like_count"),
        F("remix_count"),
        F("published_at"),
        Value(as_of),
        function="public.search_video_score",
        output_field=FloatField(),
    )
    videos = (
        Video.objects.visible_to(viewer)
        .filter(status=Video.Status.PUBLISHED, withdrawn_at__isnull=True, id__in=candidates)
        .annotate(score=score)
        .select_related("owner")
        .order_by("-score", "-id")
    )
    with _SearchScope():
        return list(videos[offset : offset + limit])


# --- Suggestions ----------------------------------------------------------------------

SUGGEST_CREATORS = 4
SUGGEST_HASHTAGS = 4


@dataclass
class Suggestion:
    kind: str  # "creator", "hashtag" or "challenge"
    item: object


def suggest(*, viewer: User | None, query: str) -> list[Suggestion]:
    """Type-ahead: a few creators, then a few hashtags and challenges, in one constant number of queries;
    nothing when the query names a protected person or a blocked term, and no suggestion that does."""
    guard = Guard.load()
    if guard.names_any(query):
        return []
    with _SearchScope():
        creators = list(_creators_matching(viewer, query)[:SUGGEST_CREATORS])
        hashtags = list(_hashtags_matching(query, challenges=None)[:SUGGEST_HASHTAGS])
    found = [
        Suggestion("creator", creator)
        for creator in creators
        if not guard.names_any(creator.handle, creator.display_name)
    ]
    found += [
        Suggestion("challenge" if tag.is_challenge else "hashtag", tag)
        for tag in hashtags
        if not guard.names_any(tag.name, tag.title)
    ]
    return found


def query_is_guarded(query: str) -> bool:
    return Guard.load().names_any(query)


# --- Discovery ------------------------------------------------------------------------

TRENDING = 10
LEADERBOARD_PREVIEW = 3


def trending_hashtags(*, challenges: bool, limit: int = TRENDING) -> list[Hashtag]:
    """Hashtags (or challenges) by how much they were posted, liked and remixed of late (``HashtagStats``)."""
    return list(
        Hashtag.objects.filter(is_challenge=challenges, stats__recent_count__gt=0)
        .annotate(video_count=F("stats__video_count"), recent_count=F("stats__recent_count"))
        .order_by("-stats__trending_score", "id")[:limit]
    )


def _leaderboard_order(by: str) -> tuple[str, ...]:
    return ("-remix_count", "-like_count", "-id") if by == "remixes" else ("-like_count", "-remix_count", "-id")


def challenge_entries(*, viewer: User | None, hashtag: Hashtag, by: str) -> QuerySet[Video]:
    """A challenge's posts ``viewer`` may see, by remixes (then likes) or by likes (then remixes)."""
    return (
        Video.objects.visible_to(viewer)
        .filter(status=Video.Status.PUBLISHED, hashtag_links__hashtag=hashtag)
        .select_related("owner")
        .order_by(*_leaderboard_order(by))
    )


def leaderboard_previews(
    *, viewer: User | None, hashtags: list[Hashtag], by: str = "remixes"
) -> dict[int, list[Video]]:
    """The top LEADERBOARD_PREVIEW posts of each challenge, for ``viewer``, in one query."""
    if not hashtags:
        return {}
    order = [F(field[1:]).desc() for field in _leaderboard_order(by)]
    ranked = (
        Video.objects.visible_to(viewer)
        .filter(status=Video.Status.PUBLISHED, hashtag_links__hashtag__in=hashtags)
        .annotate(
            challenge_id=F("hashtag_links__hashtag_id"),
            place=Window(RowNumber(), partition_by=[F("hashtag_links__hashtag_id")], order_by=order),
        )
        .select_related("owner")
    )
    previews: dict[int, list[Video]] = {tag.id: [] for tag in hashtags}
    for video in ranked.filter(place__lte=LEADERBOARD_PREVIEW).order_by("challenge_id", "place"):
        previews[video.challenge_id].append(video)
    return previews


# --- Pages ----------------------------------------------------------------------------

KINDS = ("creators", "videos", "hashtags", "challenges")


def search_page(*, viewer: User | None, kind: str, query: str, as_of: datetime, offset: int, limit: int) -> list:
    """One page of ``kind`` for ``query``: nothing for a query naming a protected person or a blocked term,
    and nothing on the page that names one (a name added to a list after the text was written)."""
    guard = Guard.load()
    if guard.names_any(query) or offset >= MAX_RESULTS:
        return []
    limit = min(limit, MAX_RESULTS - offset)
    if kind == "creators":
        rows = creators_search(viewer=viewer, query=query, offset=offset, limit=limit)
        return [row for row in rows if not guard.names_any(row.handle, row.display_name)]
    if kind == "videos":
        rows = videos_search(viewer=viewer, query=query, as_of=as_of, offset=offset, limit=limit)
        return [row for row in rows if not guard.names_any(row.caption, "" if row.prompt_hidden else row.prompt)]
    rows = hashtags_search(viewer=viewer, query=query, challenges=kind == "challenges", offset=offset, limit=limit)
    return [row for row in rows if not guard.names_any(row.name, row.title)]


def challenge_get(*, name: str) -> Hashtag:
    challenge = Hashtag.objects.filter(name__iexact=name.lstrip("#"), is_challenge=True).first()
    if challenge is None:
        raise NotFound("No such challenge.")
    return challenge
