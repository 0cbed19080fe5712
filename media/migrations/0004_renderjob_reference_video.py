import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("media", "0003_renderjob_characters"),
        ("videos", "0003_withdrawn_embedded_media_public"),
    ]

    operations = [
        migrations.AddField(
            model_name="renderjob",
            name="reference_video",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="reference_jobs",
                to="videos.video",
            ),
        ),
    ]
