"""Video search's score as one SQL function (``search_video_score``), used both where the candidates are chosen and
ranked on the stored documents and where the page is ranked on the videos (``search.selectors.videos_search``)."""

from django.db import migrations

# A plain SQL expression, so the planner inlines it: no function call per row.
SCORE = """
CREATE OR REPLACE FUNCTION public.search_video_score(document tsvector, query tsquery, likes integer,
                                                    remixes integer, published_at timestamptz, as_of timestamptz)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
  SELECT ts_rank(document, query)::float8
         * (ln(likes + remixes * 2.0::float8 + 1.0::float8) * 0.3::float8 + 1.0::float8)
         * (1.0::float8 / (greatest(date_part('epoch', as_of - published_at), 0::float8) / 86400.0::float8
                           / 30.0::float8 + 1.0::float8))
$$;
"""

UNDO = "DROP FUNCTION IF EXISTS public.search_video_score(tsvector, tsquery, integer, integer, timestamptz, timestamptz);"


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0007_videodocument_newer'),
    ]

    operations = [
        migrations.RunSQL(SCORE, UNDO),
    ]
