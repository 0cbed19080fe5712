import pytest

from backend.videos.models import Hashtag, VideoHashtag
from search import selectors
from tests.factories import VideoFactory


@pytest.fixture
def trigrams(db):
    """Typo tolerance needs pg_trgm, which the embedded server (pgserver) does not ship."""
    if not selectors.trigram_available():
        pytest.skip("this PostgreSQL has no pg_trgm (run with DATABASE_URL set to a server that has it)")


def tagged_video(*names: str, **fields):
    """A post whose caption carries ``names`` as hashtags, linked as the publish service links them."""
    caption = fields.pop("caption", "") + " " + " ".join(f"#{name}" for name in names)
    video = VideoFactory(caption=caption.strip(), **fields)
    for name in names:
        hashtag = Hashtag.objects.filter(name__iexact=name).first() or Hashtag.objects.create(name=name)
        VideoHashtag.objects.create(hashtag=hashtag, video=video)
    return video
