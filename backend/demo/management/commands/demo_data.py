"""Load the demo data (development only: demo accounts have known passwords)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.demo import data as demo


class Command(BaseCommand):
    help = "Load demo creators, cameos and a remix tree (DEBUG only; idempotent)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data has known passwords; it is only loaded with DEBUG=true.")
        demo.load(log=self.stdout.write)
        handles = ", ".join(f"{handle}@remix.local" for handle, _, _ in demo.CREATORS)
        self.stdout.write(
            f"Admin login: {demo.DEMO_ADMIN_EMAIL} / {demo.DEMO_PASSWORD}\n"
            f"Demo creators: {handles} (password {demo.DEMO_PASSWORD}); invite code: {demo.DEMO_INVITE_CODE}"
        )
