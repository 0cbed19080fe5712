"""Demo content for `make run`: creators, cameos of every audience, a remix tree, a challenge.

Every part is idempotent, so a database loaded by an older release gains the
parts added since. Videos go through the real pipeline (the local preview
provider, post-processing, publishing), run in this process.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from backend.cameos.models import Cameo
from backend.creators import services as creator_services
from backend.creators.models import InviteCode, User
from backend.demo.cameos import create_demo_cameos
from backend.videos import services as video_services
from backend.videos.models import Hashtag, Video

DEMO_PASSWORD = "remix-demo-2026"
DEMO_ADMIN_EMAIL = "admin@remix.local"
DEMO_INVITE_CODE = "remix-demo"
CREATORS = [
    ("maya", "Maya Chen", "Skater, remixes everything."),
    ("leo", "Leo Park", "Makes tiny cinematic worlds."),
    ("sam", "Sam Okafor", "Cooking, but make it sci-fi."),
    ("ines", "Inès Duval", "Dancer. My dog Pixel is a cameo too."),
    ("kai", "Kai Tanaka", "Just here to watch."),
]
# maya and leo are mutuals, everyone follows maya.
FOLLOWS = [
    ("leo", "maya"),
    ("maya", "leo"),
    ("sam", "maya"),
    ("maya", "sam"),  # mutuals: Maya's cameo travels into Sam's remix of a remix of her video
    ("ines", "maya"),
    ("kai", "maya"),
    ("maya", "ines"),
    ("ines", "sam"),
    ("kai", "leo"),
]


def load(*, log=print) -> None:
    users = creators()
    create_demo_cameos(users)
    videos(users, log=log)
    rights(users)


@transaction.atomic
def creators() -> dict[str, User]:
    if not settings.DEBUG:  # the demo admin's password is in this file: never outside development
        raise ImproperlyConfigured("Demo data (and its admin) exist only with DEBUG=true.")
    if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
        User.objects.create_superuser(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, handle="remixstaff", display_name="Remix Staff")
    # Also lets a developer try sign-up with INVITE_ONLY=true.
    InviteCode.objects.get_or_create(code=DEMO_INVITE_CODE, defaults={"max_uses": 1000, "note": "demo data"})
    users = {}
    for handle, name, bio in CREATORS:
        user = User.objects.filter(handle=handle).first()
        if user is None:
            user = creator_services.user_register(
                email=f"{handle}@remix.local",
                password=DEMO_PASSWORD,
                handle=handle,
                display_name=name,
                invite_code=DEMO_INVITE_CODE,
            )
            creator_services.email_verified_set(user=user)  # demo addresses receive no mail
            user = creator_services.profile_update(user=user, bio=bio)
        users[handle] = user
    for follower, followee in FOLLOWS:
        creator_services.follow_create(follower=users[follower], followee=users[followee])
    return users


# (who, prompt, caption, parent index or None, cameo owner handle or None)
VIDEOS = [
    ("maya", "a cat skateboarding down a neon street at night", "Kickflip city #skatecat", None, "maya"),
    ("leo", "the same cat, now skating on the rings of Saturn", "Orbit grind #skatecat", 0, "leo"),
    ("sam", "the cat skating through a kitchen full of floating noodles", "Noodle run #skatecat", 1, None),
    ("ines", "the cat and a white terrier skating together at sunset", "Best friends #skatecat", 2, None),
    ("ines", "a terrier dancing in the rain", "Pixel dances", None, "ines"),
    ("leo", "a paper boat sailing through a tiny city", "Paper harbor", None, None),
]


def videos(users: dict[str, User], *, log=print) -> None:
    if Video.objects.filter(owner__in=users.values()).exists():
        return
    from media import services as render_services

    Hashtag.objects.get_or_create(
        name="skatecat",
        defaults={
            "is_challenge": True,
            "title": "Skate Cat challenge",
            "description": "Put a skating cat somewhere new.",
        },
    )
    made: list[Video] = []
    for owner, prompt, caption, parent_index, cameo_owner in VIDEOS:
        cameo_ids = list(
            Cameo.objects.filter(owner__handle=cameo_owner, status=Cameo.Status.ACTIVE).values_list("id", flat=True)[:1]
        )
        fields = {
            "requester": users[owner],
            "idempotency_key": f"demo-{uuid.uuid4().hex}",
            "prompt": prompt,
            "duration_s": 4,
            "resolution": "480p",
            "cameo_ids": cameo_ids,
        }
        if parent_index is None:
            job, _ = render_services.render_job_request(**fields)
        else:
            # The source's cameos travel into the remix: each remixer here may use them.
            job, _ = render_services.remix_request(source=made[parent_index], **fields)
        # The worker's code, run here so the demo is ready when the servers start.
        render_services.render_job_execute(job_id=str(job.id))
        render_services.render_job_postprocess(job_id=str(job.id))
        job.refresh_from_db()
        video = video_services.video_publish(video=job.result_video, by=users[owner], caption=caption)
        made.append(video)
        log(f"demo video {video.id} by @{owner}: {caption}")


@transaction.atomic
def rights(users: dict[str, User]) -> None:
    """A studio with one character anyone may use and one nobody may, and a few revenue events."""
    from backend.rights import services as rights_services
    from backend.rights.models import Character, RightsHolder

    holder, created = RightsHolder.objects.get_or_create(name="Moonbeam Studios")
    if not created:
        return
    holder.members.add(users["sam"])
    Character.objects.create(
        holder=holder,
        name="Captain Comet",
        aliases="The Comet",
        allowed=True,
        restrictions="never holds a weapon",
        revenue_share_bps=1000,
    )
    Character.objects.create(holder=holder, name="Professor Nebula", allowed=False)
    for index, video in enumerate(Video.objects.filter(status=Video.Status.PUBLISHED).order_by("id")[:3]):
        rights_services.revenue_event_record(
            video=video, kind="ad", amount_minor=1000 + 337 * index, currency="EUR", external_id=f"demo-ad-{video.id}"
        )
