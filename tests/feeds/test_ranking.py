from collections import Counter
from datetime import UTC, datetime, timedelta

from feeds.ranking import Candidate, Steering, Weights, diversify, rank

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WEIGHTS = Weights(exploration=0.0)


def video(video_id, *, author=None, root=None, hours_old=1.0, **counts):
    return Candidate(
        video_id=video_id,
        author_id=author if author is not None else video_id,
        lineage_root_id=root if root is not None else video_id,
        published_at=NOW - timedelta(hours=hours_old),
        **counts,
    )


def ids(candidates):
    return [c.video_id for c in candidates]


def test_engagement_per_impression_ranks_first():
    loved = video(1, impressions=1000, likes=400, completions=700, remixes=30)
    ignored = video(2, impressions=1000, likes=5, completions=50)
    assert ids(rank([ignored, loved], now=NOW, weights=WEIGHTS)) == [1, 2]


def test_smoothing_keeps_two_lucky_views_below_a_proven_hit():
    lucky = video(1, impressions=2, likes=2, completions=2)
    proven = video(2, impressions=1000, likes=600, completions=800, remixes=20)
    assert ids(rank([lucky, proven], now=NOW, weights=WEIGHTS)) == [2, 1]


def test_older_videos_decay():
    counts = {"impressions": 500, "likes": 100, "completions": 200}
    fresh, stale = video(1, hours_old=1, **counts), video(2, hours_old=24 * 7, **counts)
    assert ids(rank([stale, fresh], now=NOW, weights=WEIGHTS)) == [1, 2]


def test_affinity_lifts_followed_authors():
    stranger, friend = video(1, author=10), video(2, author=20)
    ranked = rank([stranger, friend], now=NOW, weights=WEIGHTS, affinity={20: 1.0})
    assert ids(ranked) == [2, 1]


def test_steering_moves_topics_up_and_down():
    cooking = video(1, text="a #cooking show on mars")
    horror = video(2, text="horror in the basement")
    plain = video(3, text="a walk in the park")
    steering = Steering.from_words(more={"cooking"}, less={"horror"})
    assert ids(rank([horror, plain, cooking], now=NOW, weights=WEIGHTS, steering=steering)) == [1, 3, 2]


def test_steering_matches_other_forms_of_a_word():
    cats = video(1, text="two cats skating")
    cooks = video(2, text="she cooks dinner on a comet")
    plain = video(3, text="a walk in the park")
    steering = Steering.from_words(more={"cat", "cooking"})
    assert ids(rank([plain, cooks, cats], now=NOW, weights=WEIGHTS, steering=steering))[-1] == plain.video_id


def test_exploration_gives_new_videos_a_chance():
    weights = Weights(exploration=1.0, exploration_impressions=50)
    seasoned = video(1, impressions=5000, likes=250, completions=1500)
    newcomer = video(2, impressions=3)
    assert ids(rank([seasoned, newcomer], now=NOW, weights=weights)) == [2, 1]


def test_ties_are_broken_stably():
    a, b = video(1), video(2)
    assert ids(rank([a, b], now=NOW, weights=WEIGHTS)) == ids(rank([b, a], now=NOW, weights=WEIGHTS)) == [2, 1]


def test_no_page_holds_more_than_the_limit_per_author_or_lineage_and_nothing_is_dropped():
    weights = Weights(max_per_author=2, max_per_lineage=2, page_size=5)
    ranked = [video(i, author=1 if i < 6 else i, root=100 if i in (6, 7, 8) else i) for i in range(12)]
    ordered = diversify(ranked, weights=weights)
    assert sorted(ids(ordered)) == sorted(ids(ranked))
    for start in range(0, len(ordered) - weights.page_size, weights.page_size):
        page = ordered[start : start + weights.page_size]
        assert max(Counter(c.author_id for c in page).values()) <= 2
        assert max(Counter(c.lineage_root_id for c in page).values()) <= 2
    assert ordered[0].video_id == 0


def test_diversity_keeps_rank_order_when_nothing_conflicts():
    ranked = [video(i) for i in range(7)]
    assert ids(diversify(ranked, weights=Weights(page_size=3))) == list(range(7))
