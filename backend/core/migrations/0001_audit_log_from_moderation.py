"""The audit log moves from moderation to core: state only, the table keeps its name and rows.

The content type is renamed rather than recreated, so permissions granted on it (the moderators
group's ``view_auditlogentry``) stay attached.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def content_type_to_core(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="auditlogentry").exists():
        ContentType.objects.filter(app_label="moderation", model="auditlogentry").update(app_label="core")


def content_type_to_moderation(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="core", model="auditlogentry").update(app_label="moderation")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("moderation", "0004_name_guard"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditLogEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("action", models.CharField(db_index=True, max_length=60)),
                        ("target_type", models.CharField(max_length=60)),
                        ("target_id", models.CharField(max_length=64)),
                        ("reason", models.CharField(blank=True, max_length=500)),
                        ("before", models.JSONField(blank=True, default=dict)),
                        ("after", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                    related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "moderation_auditlogentry",
                        "ordering": ["-created_at"],
                        "verbose_name_plural": "audit log",
                        "indexes": [models.Index(fields=["target_type", "target_id"], name="audit_target")],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_to_core, content_type_to_moderation),
    ]
