"""Every kind of viewer a video has, and who of them may open it: shared by test_selectors and test_api."""

from backend.creators import services as creator_services
from tests.factories import AppearanceFactory, UserFactory, VideoFactory

VIEWERS = ["owner", "cameo_owner", "follower", "stranger", "blocked", "anonymous"]
CASES = [
    # (status, visibility): viewers who may open it
    (("published", "public"), {"owner", "cameo_owner", "follower", "stranger", "anonymous"}),
    (("published", "followers"), {"owner", "cameo_owner", "follower"}),
    (("published", "private"), {"owner", "cameo_owner"}),
    (("draft", "public"), {"owner", "cameo_owner"}),
    (("draft", "private"), {"owner", "cameo_owner"}),
    (("removed", "public"), set()),
]


def video_in(status: str, visibility: str):
    return VideoFactory(status=status, visibility=visibility, **({"published_at": None} if status == "draft" else {}))


def make_viewer(kind: str, video):
    if kind == "owner":
        return video.owner
    if kind == "anonymous":
        return None
    viewer = UserFactory()
    if kind == "cameo_owner":
        AppearanceFactory(cameo__owner=viewer, video=video)
    if kind in ("follower", "blocked"):
        creator_services.follow_create(follower=viewer, followee=video.owner)
    if kind == "blocked":
        creator_services.block_create(blocker=video.owner, blocked=viewer)
    return viewer
