from backend.videos.models import Hashtag, VideoHashtag
from tests.factories import VideoFactory


def tagged_video(*names: str, **fields):
    """A post whose caption carries ``names`` as hashtags, linked as the publish service links them."""
    caption = fields.pop("caption", "") + " " + " ".join(f"#{name}" for name in names)
    video = VideoFactory(caption=caption.strip(), **fields)
    for name in names:
        hashtag = Hashtag.objects.filter(name__iexact=name).first() or Hashtag.objects.create(name=name)
        VideoHashtag.objects.create(hashtag=hashtag, video=video)
    return video
