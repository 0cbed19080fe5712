"""Move the files of every video whose files are in the wrong store (existing data, or a failed move)."""

from django.core.management.base import BaseCommand, CommandError

from media.tasks import STORAGE_ERRORS
from media.video_files import video_files_sync, videos_with_files_misplaced


class Command(BaseCommand):
    help = (
        "Move every video's files to the store its state calls for: public while it is shown to everyone, "
        "private otherwise. Idempotent; safe to run at any time, and again after an interruption."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count the videos whose files would move")

    def handle(self, *args, dry_run: bool = False, **options):
        video_ids = list(videos_with_files_misplaced().order_by("id").values_list("id", flat=True))
        if dry_run:
            self.stdout.write(f"{len(video_ids)} video(s) have their files in the wrong store.")
            return
        failed = []
        for video_id in video_ids:
            try:
                video_files_sync(video_id=video_id)
            except STORAGE_ERRORS as error:
                # Keep going: one unreachable file must not leave every later video exposed.
                self.stderr.write(f"video {video_id}: {error}")
                failed.append(video_id)
        self.stdout.write(f"{len(video_ids) - len(failed)} video(s) synced, {len(failed)} failed.")
        if failed:
            raise CommandError(f"Could not move the files of {len(failed)} video(s); run the command again.")
