"""Search's SQL: the folding and n-gram functions, and the indexes search reads, on other apps' tables too.

The extensions pg_trgm and unaccent are created where the server has them (managed PostgreSQL, the
Debian and Docker images); the embedded server (pip package ``pgserver``) ships neither, and there
``search_fold`` folds accents through Unicode decomposition and search matches by prefix, words and
n-grams without typo tolerance (``search.sql.capabilities``).
"""

import django.db.models.deletion
import django.utils.timezone
from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models

CJK = r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"


class CreateExtensionIfAvailable(CreateExtension):
    """CREATE EXTENSION where the server ships it; nothing where it does not (the embedded server)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [self.name])
            if cursor.fetchone() is None:
                return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass  # other apps' indexes may come to use them; an extension is dropped by hand


def _has(cursor, extension: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [extension])
    return cursor.fetchone() is not None


FOLD_UNACCENT = """
CREATE OR REPLACE FUNCTION public.search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$
"""
# Without unaccent: decompose, drop the accents (and map the few Latin letters that do not decompose), compose.
FOLD_DECOMPOSE = r"""
CREATE OR REPLACE FUNCTION public.search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT normalize(translate(regexp_replace(normalize(lower(value), NFD), '[\u0300-\u036f]', '', 'g'),
                             'øłđħı', 'oldhi'), NFC) $$
"""

FUNCTIONS = rf"""
-- Runs of scripts written without spaces (CJK, kana, hangul, Thai) as their overlapping character
-- pairs, one word each; a run of one character as itself. "我的猫咪" is "我的 的猫 猫咪".
CREATE OR REPLACE FUNCTION public.search_grams(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
  SELECT coalesce(string_agg(substr(m.run[1], i, 2), ' '), '')
  FROM regexp_matches(value, '{CJK}+', 'g') AS m(run),
       generate_series(1, greatest(char_length(m.run[1]) - 1, 1)) AS i
$$;

-- What a video is found by: its caption (hashtags included) first, then its prompt unless hidden.
CREATE OR REPLACE FUNCTION public.search_video_document(caption text, prompt text, prompt_hidden boolean)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
  SELECT setweight(to_tsvector('simple'::regconfig,
                               public.search_fold(coalesce(caption, '')) || ' ' || public.search_grams(coalesce(caption, ''))), 'A')
      || setweight(to_tsvector('simple'::regconfig,
                               CASE WHEN prompt_hidden THEN ''
                                    ELSE public.search_fold(coalesce(prompt, '')) || ' ' || public.search_grams(coalesce(prompt, ''))
                               END), 'B')
$$;
"""

PREFIX_INDEXES = """
CREATE INDEX IF NOT EXISTS search_user_handle_prefix ON creators_user (public.search_fold(handle) text_pattern_ops);
CREATE INDEX IF NOT EXISTS search_user_name_prefix ON creators_user (public.search_fold(display_name) text_pattern_ops);
CREATE INDEX IF NOT EXISTS search_hashtag_prefix ON videos_hashtag (public.search_fold(name) text_pattern_ops);
-- The moderators' search reads every video, hidden prompts included (posts' documents: migration 0003).
CREATE INDEX IF NOT EXISTS search_video_admin_document ON videos_video
    USING gin (public.search_video_document(caption, prompt, false));
"""

TRIGRAM_INDEXES = """
CREATE INDEX IF NOT EXISTS search_user_handle_trgm ON creators_user USING gin (public.search_fold(handle) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_user_name_trgm ON creators_user USING gin (public.search_fold(display_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_hashtag_trgm ON videos_hashtag USING gin (public.search_fold(name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_report_details_trgm ON moderation_report
    USING gin (public.search_fold(details) gin_trgm_ops);
"""

DROP = """
DROP INDEX IF EXISTS search_user_handle_trgm, search_user_name_trgm, search_hashtag_trgm, search_report_details_trgm,
    search_user_handle_prefix, search_user_name_prefix, search_hashtag_prefix, search_video_document,
    search_video_admin_document;
DROP FUNCTION IF EXISTS public.search_video_document(text, text, boolean);
DROP FUNCTION IF EXISTS public.search_grams(text);
DROP FUNCTION IF EXISTS public.search_fold(text);
"""


def create_functions_and_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FOLD_UNACCENT if _has(cursor, "unaccent") else FOLD_DECOMPOSE)
        cursor.execute(FUNCTIONS)
        cursor.execute(PREFIX_INDEXES)
        if _has(cursor, "pg_trgm"):
            cursor.execute(TRIGRAM_INDEXES)


def drop_functions_and_indexes(apps, schema_editor):
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("creators", "0006_user_suspended_index"),
        ("videos", "0004_like_video_recent"),
        ("moderation", "0006_case_generic_target"),
    ]

    operations = [
        CreateExtensionIfAvailable("pg_trgm"),
        CreateExtensionIfAvailable("unaccent"),
        migrations.RunPython(create_functions_and_indexes, drop_functions_and_indexes),
        migrations.CreateModel(
            name="HashtagStats",
            fields=[
                (
                    "hashtag",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="stats",
                        serialize=False,
                        to="videos.hashtag",
                    ),
                ),
                ("video_count", models.PositiveIntegerField(default=0)),
                ("recent_count", models.PositiveIntegerField(default=0)),
                ("trending_score", models.FloatField(default=0)),
                ("refreshed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name_plural": "hashtag stats",
                "indexes": [models.Index(fields=["-trending_score"], name="hashtagstats_trending")],
            },
        ),
    ]
