import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from backend.creators.models import Follow, InviteCode

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"creator{n}@example.com")
    handle = factory.Sequence(lambda n: f"creator{n}")
    display_name = factory.LazyAttribute(lambda user: user.handle.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def persist_password(user, create, extracted, **kwargs):
        if create:
            user.save(update_fields=["password"])


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class InviteCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InviteCode

    max_uses = 1


class CameoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cameos.Cameo"

    owner = factory.SubFactory(UserFactory)
    kind = "character"
    display_name = factory.Sequence(lambda n: f"Pixel {n}")
    status = "active"
    audience = "everyone"


class VideoFactory(factory.django.DjangoModelFactory):
    """A published original; use services for remixes so the lineage is recorded."""

    class Meta:
        model = "videos.Video"
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    prompt = factory.Sequence(lambda n: f"a skateboarding cat, take {n}")
    status = "published"
    visibility = "public"
    published_at = factory.LazyFunction(timezone.now)
    # Where services would have put its files: the public store only while it is shown to everyone.
    media_public = factory.LazyAttribute(
        lambda video: (
            video.status == "published"
            and video.visibility == "public"
            and getattr(video, "withdrawn_at", None) is None
        )
    )

    @factory.post_generation
    def lineage(video, create, extracted, **kwargs):
        """Record the video in the closure table, as video_create_draft does."""
        if create:
            from backend.videos.lineage import lineage_insert

            lineage_insert(video=video)


class PersonCameoFactory(CameoFactory):
    """A person cameo waiting for verification (use ``status="active"`` for a verified one)."""

    kind = "person"
    status = "pending_verification"
    audience = "only_me"
    display_name = factory.Sequence(lambda n: f"Person {n}")
    verified_at = factory.LazyAttribute(lambda cameo: timezone.now() if cameo.status == "active" else None)


class CameoGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cameos.CameoGrant"

    cameo = factory.SubFactory(CameoFactory, audience="approved")
    grantee = factory.SubFactory(UserFactory)
    status = "requested"


def _in_fifteen_minutes():
    from datetime import timedelta

    return timezone.now() + timedelta(minutes=15)


class CameoVerificationFactory(factory.django.DjangoModelFactory):
    """An issued challenge on a person cameo waiting for verification."""

    class Meta:
        model = "cameos.CameoVerification"

    cameo = factory.SubFactory(PersonCameoFactory)
    phrase = "amber river willow 42"
    expires_at = factory.LazyFunction(_in_fifteen_minutes)
    status = "issued"


class AppearanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cameos.Appearance"

    cameo = factory.SubFactory(CameoFactory)
    video = factory.SubFactory(VideoFactory)


class ProtectedLikenessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cameos.ProtectedLikeness"

    name = factory.Sequence(lambda n: f"Famous Person {n}")
    kind = "public_figure"
