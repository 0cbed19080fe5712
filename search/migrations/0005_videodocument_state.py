"""Videos' search documents carry what search filters and ranks candidates by (the video's state and counts, its
owner's standing, whether it is among the newest posts), kept by the triggers, so choosing candidates reads this
table and its partial indexes alone (``search.selectors.videos_search``).

The backfill rewrites every row once: on a large table, CLUSTER it on its primary key afterwards (or pg_repack), so
that the newest documents share pages again (README, "Search and discovery").
"""

import django.contrib.postgres.indexes
from django.conf import settings
from django.db import migrations, models

TRIGGERS = """
DROP TRIGGER IF EXISTS search_video_document_insert ON videos_video;
DROP TRIGGER IF EXISTS search_video_document_update ON videos_video;

-- The whole row (the document computed again) on insert and when the text changes; else only the copied state.
CREATE OR REPLACE FUNCTION public.search_video_document_store() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  IF TG_OP = 'INSERT' OR OLD.caption IS DISTINCT FROM NEW.caption OR OLD.prompt IS DISTINCT FROM NEW.prompt
     OR OLD.prompt_hidden IS DISTINCT FROM NEW.prompt_hidden THEN
    INSERT INTO search_videodocument (video_id, document, owner_id, listed, visibility, safe_for_teens, published_at,
                                      like_count, remix_count, owner_active, owner_suspended_until, recent)
    SELECT NEW.id, public.search_video_document(NEW.caption, NEW.prompt, NEW.prompt_hidden), NEW.owner_id,
           NEW.status = 'published' AND NEW.withdrawn_at IS NULL, NEW.visibility, NEW.safe_for_teens,
           NEW.published_at, NEW.like_count, NEW.remix_count, coalesce(owner.is_active, false),
           owner.suspended_until, true
    FROM (SELECT 1) AS one LEFT JOIN creators_user owner ON owner.id = NEW.owner_id
    ON CONFLICT (video_id) DO UPDATE SET
      document = EXCLUDED.document, owner_id = EXCLUDED.owner_id, listed = EXCLUDED.listed,
      visibility = EXCLUDED.visibility, safe_for_teens = EXCLUDED.safe_for_teens,
      published_at = EXCLUDED.published_at, like_count = EXCLUDED.like_count, remix_count = EXCLUDED.remix_count,
      owner_active = EXCLUDED.owner_active, owner_suspended_until = EXCLUDED.owner_suspended_until;
  ELSIF OLD.owner_id IS DISTINCT FROM NEW.owner_id THEN
    UPDATE search_videodocument SET owner_id = NEW.owner_id, owner_active = coalesce(owner.is_active, false),
                                    owner_suspended_until = owner.suspended_until
    FROM (SELECT 1) AS one LEFT JOIN creators_user owner ON owner.id = NEW.owner_id
    WHERE video_id = NEW.id;
  END IF;
  UPDATE search_videodocument SET
    listed = NEW.status = 'published' AND NEW.withdrawn_at IS NULL, visibility = NEW.visibility,
    safe_for_teens = NEW.safe_for_teens, published_at = NEW.published_at, like_count = NEW.like_count,
    remix_count = NEW.remix_count
  WHERE video_id = NEW.id AND TG_OP = 'UPDATE'
    AND (listed, visibility, safe_for_teens, published_at, like_count, remix_count)
        IS DISTINCT FROM (NEW.status = 'published' AND NEW.withdrawn_at IS NULL, NEW.visibility::text,
                          NEW.safe_for_teens, NEW.published_at, NEW.like_count, NEW.remix_count);
  RETURN NULL;
END
$$;

CREATE TRIGGER search_video_document_insert AFTER INSERT ON videos_video
    FOR EACH ROW EXECUTE FUNCTION public.search_video_document_store();
CREATE TRIGGER search_video_document_update
    AFTER UPDATE OF caption, prompt, prompt_hidden, owner_id, status, withdrawn_at, visibility, safe_for_teens,
                    published_at, like_count, remix_count ON videos_video
    FOR EACH ROW
    WHEN ((OLD.caption, OLD.prompt, OLD.prompt_hidden, OLD.owner_id, OLD.status, OLD.withdrawn_at, OLD.visibility,
           OLD.safe_for_teens, OLD.published_at, OLD.like_count, OLD.remix_count)
          IS DISTINCT FROM
          (NEW.caption, NEW.prompt, NEW.prompt_hidden, NEW.owner_id, NEW.status, NEW.withdrawn_at, NEW.visibility,
           NEW.safe_for_teens, NEW.published_at, NEW.like_count, NEW.remix_count))
    EXECUTE FUNCTION public.search_video_document_store();

-- An owner deactivated, suspended or let back: every document of theirs.
CREATE OR REPLACE FUNCTION public.search_video_document_owner() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
  UPDATE search_videodocument SET owner_active = NEW.is_active, owner_suspended_until = NEW.suspended_until
  WHERE owner_id = NEW.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER search_video_document_owner AFTER UPDATE OF is_active, suspended_until ON creators_user
    FOR EACH ROW
    WHEN ((OLD.is_active, OLD.suspended_until) IS DISTINCT FROM (NEW.is_active, NEW.suspended_until))
    EXECUTE FUNCTION public.search_video_document_owner();

UPDATE search_videodocument AS document SET
  owner_id = video.owner_id, listed = video.status = 'published' AND video.withdrawn_at IS NULL,
  visibility = video.visibility, safe_for_teens = video.safe_for_teens, published_at = video.published_at,
  like_count = video.like_count, remix_count = video.remix_count, owner_active = owner.is_active,
  owner_suspended_until = owner.suspended_until, recent = true
FROM videos_video video JOIN creators_user owner ON owner.id = video.owner_id
WHERE video.id = document.video_id;

-- Only the newest are recent (services.recent_documents_refresh, run by beat, keeps it so).
UPDATE search_videodocument SET recent = false
WHERE video_id <= (SELECT video_id FROM search_videodocument WHERE listed ORDER BY video_id DESC OFFSET %(recent)s LIMIT 1);
ANALYZE search_videodocument;
"""

UNDO = """
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
DROP TRIGGER IF EXISTS search_video_document_owner ON creators_user;
DROP FUNCTION IF EXISTS public.search_video_document_owner();
DROP TRIGGER IF EXISTS search_video_document_update ON videos_video;
CREATE TRIGGER search_video_document_update AFTER UPDATE OF caption, prompt, prompt_hidden ON videos_video
    FOR EACH ROW
    WHEN (OLD.caption IS DISTINCT FROM NEW.caption OR OLD.prompt IS DISTINCT FROM NEW.prompt
          OR OLD.prompt_hidden IS DISTINCT FROM NEW.prompt_hidden)
    EXECUTE FUNCTION public.search_video_document_store();
"""


def store_state(apps, schema_editor):
    recent = getattr(settings, "SEARCH_RECENT_DOCUMENTS", 50_000)
    schema_editor.execute(TRIGGERS.replace("%(recent)s", str(int(recent))))


def restore(apps, schema_editor):
    schema_editor.execute(UNDO)


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0004_creatorname'),
        ('videos', '0004_like_video_recent'),
        ('creators', '0006_user_suspended_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='videodocument',
            name='search_videodocument_gin',
        ),
        migrations.AddField(
            model_name='videodocument',
            name='like_count',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='listed',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='owner_active',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='owner_id',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='owner_suspended_until',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='published_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='recent',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='remix_count',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='safe_for_teens',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='videodocument',
            name='visibility',
            field=models.CharField(default='', max_length=16),
        ),
        migrations.RunPython(store_state, restore),
        migrations.AddIndex(
            model_name='videodocument',
            index=django.contrib.postgres.indexes.GinIndex(condition=models.Q(('listed', True)), fields=['document'], name='search_videodocument_gin'),
        ),
        migrations.AddIndex(
            model_name='videodocument',
            index=django.contrib.postgres.indexes.GinIndex(condition=models.Q(('listed', True), ('recent', True)), fields=['document'], name='search_videodoc_recent_gin'),
        ),
        migrations.AddIndex(
            model_name='videodocument',
            index=models.Index(condition=models.Q(('listed', True), ('recent', True)), fields=['-video'], name='search_videodoc_recent_new'),
        ),
        migrations.AddIndex(
            model_name='videodocument',
            index=models.Index(fields=['owner_id'], name='search_videodoc_owner'),
        ),
    ]
