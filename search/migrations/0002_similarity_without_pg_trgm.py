"""Trigram similarity in plain SQL, for servers without pg_trgm (the embedded one): pg_trgm's measure
(each word padded, "  w" ... "d ", shared trigrams over all trigrams), without an index to serve it,
so creators and hashtags are still found through a typo where the rows are few (a development machine)."""

from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION public.search_trigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
  SELECT coalesce(array_agg(DISTINCT substr(padded, i, 3)), '{}')
  FROM regexp_split_to_table(lower(coalesce(value, '')), '[^[:alnum:]]+') AS word,
       LATERAL (SELECT '  ' || word || ' ' AS padded) AS p,
       generate_series(1, char_length(p.padded) - 2) AS i
  WHERE word <> ''
$$;

CREATE OR REPLACE FUNCTION public.search_similarity(a text, b text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
  WITH left_set AS (SELECT unnest(public.search_trigrams(a)) AS t),
       right_set AS (SELECT unnest(public.search_trigrams(b)) AS t)
  SELECT coalesce(
      (SELECT count(*) FROM (SELECT t FROM left_set INTERSECT SELECT t FROM right_set) AS shared)::real
      / nullif((SELECT count(*) FROM (SELECT t FROM left_set UNION SELECT t FROM right_set) AS every), 0),
      0)
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS public.search_similarity(text, text);
DROP FUNCTION IF EXISTS public.search_trigrams(text);
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTIONS, DROP)]
