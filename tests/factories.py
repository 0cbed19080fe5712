import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from backend.creators.models import Block, Follow, InviteCode

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"creator{n}@example.com")
    handle = factory.Sequence(lambda n: f"creator{n}")
    display_name = factory.LazyAttribute(lambda user: user.handle.title())
    email_verified_at = factory.LazyFunction(timezone.now)  # UserFactory(email_verified_at=None) for a new sign-up
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


class BlockFactory(factory.django.DjangoModelFactory):
    """A block as stored; ``creators.services.block_create`` also ends the follows between the two."""

    class Meta:
        model = Block

    blocker = factory.SubFactory(UserFactory)
    blocked = factory.SubFactory(UserFactory)


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


class RightsHolderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rights.RightsHolder"
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Studio {n}")


class CharacterFactory(factory.django.DjangoModelFactory):
    """A character its holder allows anywhere (pass ``allowed=False``, ``scope`` ... for other policies)."""

    class Meta:
        model = "rights.Character"

    holder = factory.SubFactory(RightsHolderFactory)
    name = factory.Sequence(lambda n: f"Character {n}")
    allowed = True


class UsageApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rights.UsageApproval"

    character = factory.SubFactory(CharacterFactory, needs_approval=True)
    requester = factory.SubFactory(UserFactory)


class VideoCharacterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rights.VideoCharacter"

    video = factory.SubFactory(VideoFactory)
    character = factory.SubFactory(CharacterFactory)


class BlockedTermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "moderation.BlockedTerm"

    term = factory.Sequence(lambda n: f"blocked{n}")


class CaseFactory(factory.django.DjangoModelFactory):
    """An open case about a video (with no reports: ``services.report_create`` files those)."""

    class Meta:
        model = "moderation.Case"

    target_type = "video"
    target_id = factory.LazyFunction(lambda: VideoFactory().id)


class HashtagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "videos.Hashtag"

    name = factory.Sequence(lambda n: f"tag{n}")


class VideoHashtagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "videos.VideoHashtag"

    hashtag = factory.SubFactory(HashtagFactory)
    video = factory.SubFactory(VideoFactory)


class RenderJobFactory(factory.django.DjangoModelFactory):
    """A render request as ``render_job_request`` stores it: queued, nothing sent (use the service to send)."""

    class Meta:
        model = "media.RenderJob"

    requester = factory.SubFactory(UserFactory)
    prompt = factory.Sequence(lambda n: f"a dragon learning to skate, take {n}")
    duration_s = 3
    resolution = "480p"
    provider = "preview"
    status = "queued"
    idempotency_key = factory.Sequence(lambda n: f"key-{n}")
    request_fingerprint = factory.LazyAttribute(lambda job: f"fingerprint-{job.idempotency_key}")


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "videos.Comment"

    video = factory.SubFactory(VideoFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"nice one {n}")
