"""Scoped throttles: one user flooding comments, reports, provenance lookups or grant requests meets a 429."""

import pytest
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from backend.cameos.api import CameoGrantsView
from backend.moderation.api import ReportView
from backend.videos.api import VideoCommentsView
from media.api import ProvenanceLookupView
from tests.factories import UserFactory, VideoFactory


@pytest.mark.django_db
def test_a_comment_flood_meets_the_comments_throttle_and_reading_stays_open(client_for, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "comments", "5/min")
    video = VideoFactory()
    client = client_for(UserFactory())
    url = f"/api/v1/videos/{video.id}/comments"
    statuses = [client.post(url, {"body": f"spam {n}"}, format="json").status_code for n in range(7)]
    assert statuses[:5] == [201] * 5
    assert set(statuses[5:]) == {429}
    response = client.post(url, {"body": "more"}, format="json")
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    assert client.get(url).status_code == 200


def _scope(view_class, method: str):
    view = view_class()
    view.request = type("R", (), {"method": method})()
    return view.throttle_scope


def test_each_flooded_write_has_its_scope_and_a_rate():
    scopes = {
        _scope(ProvenanceLookupView, "POST"),
        _scope(VideoCommentsView, "POST"),
        _scope(ReportView, "POST"),
        _scope(CameoGrantsView, "POST"),
    }
    assert scopes == {"provenance", "comments", "reports", "grant_requests"}
    assert all(scope in SimpleRateThrottle.THROTTLE_RATES for scope in scopes)
    assert _scope(VideoCommentsView, "GET") is None and _scope(CameoGrantsView, "GET") is None
    assert "rest_framework.throttling.ScopedRateThrottle" in [
        f"{c.__module__}.{c.__name__}" for c in APIView.throttle_classes
    ]
