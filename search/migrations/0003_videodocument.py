"""Videos' search documents stored (``search.models.VideoDocument``), kept by a trigger on videos_video.

Computing the document (folding, character pairs of CJK runs, two tsvectors) costs about 0.1 ms a
row: too much to rank thousands of matches per query. Stored, matching and ranking read it.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION public.search_video_document_store() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  INSERT INTO search_videodocument (video_id, document)
  VALUES (NEW.id, public.search_video_document(NEW.caption, NEW.prompt, NEW.prompt_hidden))
  ON CONFLICT (video_id) DO UPDATE SET document = EXCLUDED.document;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.search_video_document_drop() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  DELETE FROM search_videodocument WHERE video_id = OLD.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER search_video_document_delete AFTER DELETE ON videos_video
    FOR EACH ROW EXECUTE FUNCTION public.search_video_document_drop();
CREATE TRIGGER search_video_document_insert AFTER INSERT ON videos_video
    FOR EACH ROW EXECUTE FUNCTION public.search_video_document_store();
CREATE TRIGGER search_video_document_update AFTER UPDATE OF caption, prompt, prompt_hidden ON videos_video
    FOR EACH ROW
    WHEN (OLD.caption IS DISTINCT FROM NEW.caption OR OLD.prompt IS DISTINCT FROM NEW.prompt
          OR OLD.prompt_hidden IS DISTINCT FROM NEW.prompt_hidden)
    EXECUTE FUNCTION public.search_video_document_store();

INSERT INTO search_videodocument (video_id, document)
SELECT id, public.search_video_document(caption, prompt, prompt_hidden) FROM videos_video
ON CONFLICT (video_id) DO NOTHING;

-- Matching now reads the stored document.
DROP INDEX IF EXISTS search_video_document;
"""

UNDO = """
DROP TRIGGER IF EXISTS search_video_document_insert ON videos_video;
DROP TRIGGER IF EXISTS search_video_document_update ON videos_video;
DROP TRIGGER IF EXISTS search_video_document_delete ON videos_video;
DROP FUNCTION IF EXISTS public.search_video_document_store();
DROP FUNCTION IF EXISTS public.search_video_document_drop();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0002_similarity_without_pg_trgm"),
        ("videos", "0004_like_video_recent"),
    ]

    operations = [
        migrations.CreateModel(
            name="VideoDocument",
            fields=[
                (
                    "video",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="videos.video",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
            ],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(fields=["document"], name="search_videodocument_gin")
                ],
            },
        ),
        migrations.RunSQL(TRIGGER, UNDO),
    ]
