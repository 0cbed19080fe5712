"""Print the ``--upload-url`` to start Cog's server with, for this deployment."""

from django.core.management.base import BaseCommand

from media.providers.cog import upload_url_for


class Command(BaseCommand):
    help = "Print the --upload-url for Cog (python -m cog.server.http --upload-url URL): uploads to it are ours."

    def add_arguments(self, parser):
        parser.add_argument(
            "public_url", help="This service's public base URL as Cog reaches it, e.g. https://api.example.com"
        )

    def handle(self, *args, public_url: str, **options):
        self.stdout.write(upload_url_for(public_url))
