"""The moderators group: exactly what moderating needs, nothing of settings or accounts beyond it."""

from django.db import migrations

MODERATOR_PERMISSIONS = {
    "moderation": ["view_case", "change_case", "view_report", "view_strike", "add_strike", "view_auditlogentry"],
    "videos": ["view_video", "change_video", "view_comment", "delete_comment", "view_hashtag"],
    "cameos": ["view_cameo", "change_cameo", "view_cameoverification", "change_cameoverification",
               "view_appearance", "view_cameogrant", "view_protectedlikeness"],
    "media": ["view_renderjob", "change_renderjob"],
    "creators": ["view_user"],
}


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="moderators")
    for app_label, codenames in MODERATOR_PERMISSIONS.items():
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0002_case_report_strike_case_one_open_case_per_target_and_more"),
        ("videos", "0002_video_completion_count_video_impression_count_and_more"),
        ("cameos", "0001_initial"),
        ("media", "0002_renderjob_moderation_flags"),
        ("creators", "0002_user_suspended_until"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
