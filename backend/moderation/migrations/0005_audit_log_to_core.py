"""The audit log now belongs to core (core/0001); only this app's state forgets it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0004_name_guard"),
        ("core", "0001_audit_log_from_moderation"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditLogEntry")]),
    ]
