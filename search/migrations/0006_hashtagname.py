"""Hashtags' folded names stored (``search.models.HashtagName``), kept by triggers on videos_hashtag, with the prefix
and trigram indexes hashtag search reads (as migration 0004 does for creators)."""

import django.db.models.deletion
from django.db import migrations, models

TRIGGERS = """
CREATE OR REPLACE FUNCTION public.search_hashtag_name_store() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  INSERT INTO search_hashtagname (hashtag_id, name, is_challenge)
  VALUES (NEW.id, public.search_fold(NEW.name), NEW.is_challenge)
  ON CONFLICT (hashtag_id) DO UPDATE SET name = EXCLUDED.name, is_challenge = EXCLUDED.is_challenge;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.search_hashtag_name_drop() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  DELETE FROM search_hashtagname WHERE hashtag_id = OLD.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER search_hashtag_name_insert AFTER INSERT ON videos_hashtag
    FOR EACH ROW EXECUTE FUNCTION public.search_hashtag_name_store();
CREATE TRIGGER search_hashtag_name_update AFTER UPDATE OF name, is_challenge ON videos_hashtag
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.is_challenge IS DISTINCT FROM NEW.is_challenge)
    EXECUTE FUNCTION public.search_hashtag_name_store();
CREATE TRIGGER search_hashtag_name_delete AFTER DELETE ON videos_hashtag
    FOR EACH ROW EXECUTE FUNCTION public.search_hashtag_name_drop();

INSERT INTO search_hashtagname (hashtag_id, name, is_challenge)
SELECT id, public.search_fold(name), is_challenge FROM videos_hashtag
ON CONFLICT (hashtag_id) DO NOTHING;

CREATE INDEX search_hashtagname_prefix ON search_hashtagname (name text_pattern_ops);
ANALYZE search_hashtagname;
"""

# GiST, not GIN: it gives the names nearest a typo in order (``<->`` with a LIMIT), so a three-letter query
# ranks a few dozen names instead of the thousands that share a trigram with it.
TRIGRAM_INDEX = """
CREATE INDEX IF NOT EXISTS search_hashtagname_trgm ON search_hashtagname USING gist (name gist_trgm_ops);
"""

UNDO = """
DROP TRIGGER IF EXISTS search_hashtag_name_insert ON videos_hashtag;
DROP TRIGGER IF EXISTS search_hashtag_name_update ON videos_hashtag;
DROP TRIGGER IF EXISTS search_hashtag_name_delete ON videos_hashtag;
DROP FUNCTION IF EXISTS public.search_hashtag_name_store();
DROP FUNCTION IF EXISTS public.search_hashtag_name_drop();
"""


def trigram_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is not None:
            cursor.execute(TRIGRAM_INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0005_videodocument_state'),
        ('videos', '0004_like_video_recent'),
    ]

    operations = [
        migrations.CreateModel(
            name='HashtagName',
            fields=[
                ('hashtag', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_name', serialize=False, to='videos.hashtag')),
                ('name', models.TextField()),
                ('is_challenge', models.BooleanField(default=False)),
            ],
        ),
        migrations.RunSQL(TRIGGERS, UNDO),
        migrations.RunPython(trigram_index, migrations.RunPython.noop),
    ]
