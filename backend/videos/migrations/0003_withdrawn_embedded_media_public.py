from django.db import migrations, models


def record_where_files_are(apps, schema_editor):
    # Until now every rendition went to the public store; ``manage.py video_media_sync`` then moves
    # the files of videos not shown to everyone to the private one.
    Video = apps.get_model("videos", "Video")
    Video.objects.exclude(mp4="").update(media_public=True)
    Video.objects.filter(withdrawn_at__isnull=False).update(withdrawn_reason="consent")


def sources_from_lineage(apps, schema_editor):
    # Until now a video's frames came only from the videos it remixes: its ancestors.
    schema_editor.execute(
        "INSERT INTO videos_video_embedded_sources (from_video_id, to_video_id) "
        "SELECT descendant_id, ancestor_id FROM videos_videolineage WHERE depth > 0"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("videos", "0002_video_completion_count_video_impression_count_and_more"),
        ("creators", "0003_user_blocks_changed_at"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="video", name="video_public_recent"),
        migrations.RenameField(model_name="video", old_name="consent_withdrawn_at", new_name="withdrawn_at"),
        migrations.AddField(
            model_name="video",
            name="withdrawn_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("consent", "A likeness in it may no longer be used by its creator"),
                    ("source", "A video it embeds is no longer shown as widely"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="video",
            name="embedded_sources",
            field=models.ManyToManyField(blank=True, related_name="embedded_in", to="videos.video"),
        ),
        migrations.AddField(model_name="video", name="media_public", field=models.BooleanField(default=False)),
        migrations.AddField(model_name="video", name="removed_by_owner", field=models.BooleanField(default=False)),
        migrations.RunPython(record_where_files_are, migrations.RunPython.noop),
        migrations.RunPython(sources_from_lineage, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="video",
            index=models.Index(
                condition=models.Q(("status", "published"), ("visibility", "public"), ("withdrawn_at__isnull", True)),
                fields=["-published_at", "-id"],
                name="video_public_recent",
            ),
        ),
    ]
