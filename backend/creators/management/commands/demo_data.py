"""Load the demo data once: a handful of creators who follow each other.

Development only: demo accounts have known passwords, so the command refuses
to run unless DEBUG is on.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from backend.creators import services
from backend.creators.models import InviteCode, User

DEMO_PASSWORD = "remix-demo-2026"
DEMO_ADMIN_EMAIL = "admin@remix.local"
DEMO_INVITE_CODE = "remix-demo"
DEMO_CREATORS = [
    ("maya", "Maya Chen", "Skater, remixes everything."),
    ("leo", "Leo Park", "Makes tiny cinematic worlds."),
    ("sam", "Sam Okafor", "Cooking, but make it sci-fi."),
    ("ines", "Inès Duval", "Dancer. My dog Pixel is a cameo too."),
    ("kai", "Kai Tanaka", "Just here to watch."),
]
# Who follows whom: maya and leo are mutuals, everyone follows maya.
DEMO_FOLLOWS = [
    ("leo", "maya"),
    ("maya", "leo"),
    ("sam", "maya"),
    ("ines", "maya"),
    ("kai", "maya"),
    ("maya", "ines"),
    ("ines", "sam"),
    ("kai", "leo"),
]


class Command(BaseCommand):
    help = "Load demo creators (development only; idempotent)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data has known passwords; it is only loaded with DEBUG=true.")
        self._load()
        self.stdout.write(
            f"Admin login: {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}\n"
            f"Demo creators: {', '.join(f'{handle}@remix.local' for handle, _, _ in DEMO_CREATORS)}"
            f" (password {DEMO_PASSWORD}); invite code: {DEMO_INVITE_CODE}"
        )

    @transaction.atomic
    def _load(self) -> None:
        """Each part is idempotent, so a later release can add parts to a loaded database."""
        if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
            User.objects.create_superuser(
                DEMO_ADMIN_EMAIL, DEMO_PASSWORD, handle="remixstaff", display_name="Remix Staff"
            )
        # Also lets a developer try sign-up with INVITE_ONLY=true.
        InviteCode.objects.get_or_create(code=DEMO_INVITE_CODE, defaults={"max_uses": 1000, "note": "demo data"})
        users = {handle: self._creator(handle, name, bio) for handle, name, bio in DEMO_CREATORS}
        for follower, followee in DEMO_FOLLOWS:
            services.follow_create(follower=users[follower], followee=users[followee])

    def _creator(self, handle: str, name: str, bio: str) -> User:
        existing = User.objects.filter(handle=handle).first()
        if existing:
            return existing
        user = services.user_register(
            email=f"{handle}@remix.local",
            password=DEMO_PASSWORD,
            handle=handle,
            display_name=name,
            invite_code=DEMO_INVITE_CODE,
        )
        return services.profile_update(user=user, bio=bio)
