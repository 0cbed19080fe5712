"""Creators' folded handles and display names stored (``search.models.CreatorName``), kept by triggers on
creators_user, with the prefix and trigram indexes creators search reads."""

import django.db.models.deletion
from django.db import migrations, models

TRIGGERS = """
CREATE OR REPLACE FUNCTION public.search_creator_name_store() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  INSERT INTO search_creatorname (user_id, handle, name)
  VALUES (NEW.id, public.search_fold(NEW.handle), public.search_fold(NEW.display_name))
  ON CONFLICT (user_id) DO UPDATE SET handle = EXCLUDED.handle, name = EXCLUDED.name;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.search_creator_name_drop() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  DELETE FROM search_creatorname WHERE user_id = OLD.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER search_creator_name_insert AFTER INSERT ON creators_user
    FOR EACH ROW EXECUTE FUNCTION public.search_creator_name_store();
CREATE TRIGGER search_creator_name_update AFTER UPDATE OF handle, display_name ON creators_user
    FOR EACH ROW
    WHEN (OLD.handle IS DISTINCT FROM NEW.handle OR OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION public.search_creator_name_store();
CREATE TRIGGER search_creator_name_delete AFTER DELETE ON creators_user
    FOR EACH ROW EXECUTE FUNCTION public.search_creator_name_drop();

INSERT INTO search_creatorname (user_id, handle, name)
SELECT id, public.search_fold(handle), public.search_fold(display_name) FROM creators_user
ON CONFLICT (user_id) DO NOTHING;

CREATE INDEX search_creatorname_handle_prefix ON search_creatorname (handle text_pattern_ops);
CREATE INDEX search_creatorname_name_prefix ON search_creatorname (name text_pattern_ops);
"""

TRIGRAM_INDEXES = """
CREATE INDEX IF NOT EXISTS search_creatorname_handle_trgm ON search_creatorname USING gin (handle gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_creatorname_name_trgm ON search_creatorname USING gin (name gin_trgm_ops);
"""

UNDO = """
DROP TRIGGER IF EXISTS search_creator_name_insert ON creators_user;
DROP TRIGGER IF EXISTS search_creator_name_update ON creators_user;
DROP TRIGGER IF EXISTS search_creator_name_delete ON creators_user;
DROP FUNCTION IF EXISTS public.search_creator_name_store();
DROP FUNCTION IF EXISTS public.search_creator_name_drop();
"""


def trigram_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is not None:
            cursor.execute(TRIGRAM_INDEXES)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0003_videodocument"),
        ("creators", "0006_user_suspended_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CreatorName",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_name",
                        serialize=False,
                        to="creators.user",
                    ),
                ),
                ("handle", models.TextField()),
                ("name", models.TextField()),
            ],
        ),
        migrations.RunSQL(TRIGGERS, UNDO),
        migrations.RunPython(trigram_indexes, migrations.RunPython.noop),
    ]
