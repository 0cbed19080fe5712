"""Case's target becomes a generic foreign key (content_type + object_id); the API keeps its words.

Existing cases keep their target: each old ``target_type`` word maps to the content type of its
model. Reversible: the words are written back from the content types.
"""

import django.db.models.deletion
from django.db import migrations, models

# The old words and the models they named (as in Case.TARGET_MODELS).
TARGET_MODELS = {
    "video": ("videos", "video"),
    "comment": ("videos", "comment"),
    "creator": ("creators", "user"),
    "cameo": ("cameos", "cameo"),
}


def words_to_content_types(apps, schema_editor):
    Case = apps.get_model("moderation", "Case")
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for word, (app_label, model) in TARGET_MODELS.items():
        cases = Case.objects.using(db).filter(target_type=word)
        if cases.exists():
            content_type, _ = ContentType.objects.using(db).get_or_create(app_label=app_label, model=model)
            cases.update(content_type=content_type, object_id=models.F("target_id"))


def content_types_to_words(apps, schema_editor):
    Case = apps.get_model("moderation", "Case")
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for word, (app_label, model) in TARGET_MODELS.items():
        content_type = ContentType.objects.using(db).filter(app_label=app_label, model=model).first()
        if content_type is not None:
            Case.objects.using(db).filter(content_type=content_type).update(
                target_type=word, target_id=models.F("object_id")
            )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("moderation", "0005_audit_log_to_core"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="content_type",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="object_id",
            field=models.PositiveBigIntegerField(null=True),
        ),
        # The old columns must take nulls while the reverse migration adds them back and fills them.
        migrations.AlterField(
            model_name="case",
            name="target_type",
            field=models.CharField(
                max_length=10,
                null=True,
                choices=[("video", "Video"), ("comment", "Comment"), ("creator", "Creator"), ("cameo", "Cameo")],
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="target_id",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.RunPython(words_to_content_types, content_types_to_words),
        migrations.RemoveConstraint(model_name="case", name="one_open_case_per_target"),
        migrations.RemoveField(model_name="case", name="target_type"),
        migrations.RemoveField(model_name="case", name="target_id"),
        migrations.AlterField(
            model_name="case",
            name="content_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="object_id",
            field=models.PositiveBigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")),
                fields=("content_type", "object_id"),
                name="one_open_case_per_target",
            ),
        ),
    ]
