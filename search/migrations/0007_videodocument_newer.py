"""A second ring of newest posts for video search (``VideoDocument.newer``, the newest SEARCH_NEWER_DOCUMENTS), with its
partial index: words rare among the recent posts are looked for there before among every post."""

import django.contrib.postgres.indexes
from django.conf import settings
from django.db import migrations, models


def only_the_newest(apps, schema_editor):
    # The column came in true for every row; services.recent_documents_refresh (beat) keeps it so from here.
    newer = int(getattr(settings, "SEARCH_NEWER_DOCUMENTS", 250_000))
    schema_editor.execute(
        "UPDATE search_videodocument SET newer = false WHERE video_id <= (SELECT video_id FROM search_videodocument"
        f" WHERE listed ORDER BY video_id DESC OFFSET {newer} LIMIT 1)"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0006_hashtagname'),
        ('videos', '0004_like_video_recent'),
    ]

    operations = [
        migrations.AddField(
            model_name='videodocument',
            name='newer',
            field=models.BooleanField(db_default=True, default=True),
        ),
        migrations.RunPython(only_the_newest, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='videodocument',
            index=django.contrib.postgres.indexes.GinIndex(condition=models.Q(('listed', True), ('newer', True), ('recent', False)), fields=['document'], name='search_videodoc_newer_gin'),
        ),
        migrations.AddIndex(
            model_name='videodocument',
            index=models.Index(condition=models.Q(('listed', True), ('newer', True)), fields=['-video'], name='search_videodoc_newer_new'),
        ),
    ]
