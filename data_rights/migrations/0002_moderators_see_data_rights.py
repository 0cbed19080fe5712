"""Moderators may look at pending deletions, exports and purges (never act: purging is an operator's)."""

from django.db import migrations

VIEW = ["view_pendingdeletion", "view_dataexport", "view_accountpurge"]


def grant_view(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("data_rights")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="moderators")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="data_rights", codename__in=VIEW))


def revoke_view(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="moderators"):
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="data_rights", codename__in=VIEW)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("data_rights", "0001_initial"),
        ("moderation", "0003_moderators_group"),
    ]

    operations = [migrations.RunPython(grant_view, revoke_view)]
