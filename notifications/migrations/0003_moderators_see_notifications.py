"""Moderators may look at a person's notifications while handling a case (never change them)."""

from django.db import migrations


def grant_view(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("notifications")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="moderators")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications", codename="view_notification")
    )


def revoke_view(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="moderators"):
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="notifications", codename="view_notification")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_push_queued_at"),
        ("moderation", "0003_moderators_group"),
    ]

    operations = [migrations.RunPython(grant_view, revoke_view)]
