-- newscrawl_upsert_articles(batch, related) with readable keys (replaces 0002's one-letter
-- keys; same behaviour, same signature).
--
-- batch is a JSON array; element i describes record i (newscrawl.db.store builds it):
--   index            i                      record          the record as exported
--   url_key          key of the fetched URL canonical_key   key of the canonical URL
--   url              fetched URL            canonical_url   canonical URL
--   body_hash        sha256 of the normalised body
--   date_published, date_modified, date_downloaded   ISO 8601 with offset
--   date_published_precision                          'day' or 'second'
-- related is a flat JSON array of related links
-- [{index, url_key, url, headline, date_published, date_published_raw}], index being that of
-- the record that links to it, unique by (index, url_key).
-- Returns one action per record, in order: inserted, updated, unchanged or merged.

-- The article columns of one batch element.
CREATE OR REPLACE FUNCTION newscrawl_article_row(element jsonb)
RETURNS TABLE (
    canonical_url text, url text, headline text, description text, article_body text,
    body_hash text, date_published timestamptz, date_published_raw text,
    date_published_precision text, date_modified timestamptz, date_modified_raw text,
    authors jsonb, in_language text, main_image text, source_name text, source_url text,
    breadcrumbs jsonb, record jsonb, spider text, date_downloaded timestamptz
)
LANGUAGE sql STABLE
AS $$
    SELECT e.canonical_url, e.url, f.headline, f.description, f."articleBody", e.body_hash,
           e.date_published, f."datePublishedRaw", e.date_published_precision, e.date_modified,
           f."dateModifiedRaw", coalesce(f.authors, '[]'), f."inLanguage",
           f."mainImage" ->> 'url', f.source ->> 'name', f.source ->> 'url', f.breadcrumbs,
           e.record, f.provenance ->> 'spider', e.date_downloaded
    FROM jsonb_to_record(element) AS e (
             url text, canonical_url text, body_hash text, date_published timestamptz,
             date_published_precision text, date_modified timestamptz,
             date_downloaded timestamptz, record jsonb),
         jsonb_to_record(e.record) AS f (
             headline text, description text, "articleBody" text, "datePublishedRaw" text,
             "dateModifiedRaw" text, authors jsonb, "inLanguage" text, "mainImage" jsonb,
             source jsonb, breadcrumbs jsonb, provenance jsonb)
$$;

-- Which article a record is: a known URL (canonical first), else the same body.
CREATE OR REPLACE FUNCTION newscrawl_resolve(url_key text, fetched_key text, body_hash text)
RETURNS TABLE (article_id bigint, by_content boolean)
LANGUAGE sql STABLE
AS $$
    SELECT m.id, m.by_content
    FROM (
        SELECT u.article_id, false, 1 FROM article_urls u WHERE u.url_key = $1
        UNION ALL
        SELECT u.article_id, false, 2 FROM article_urls u WHERE u.url_key = $2
        UNION ALL
        SELECT a.id, true, 3 FROM articles a WHERE a.body_hash = $3
    ) AS m (id, by_content, rank)
    ORDER BY m.rank, m.id
    LIMIT 1
$$;

CREATE OR REPLACE FUNCTION newscrawl_upsert_articles(batch jsonb, related jsonb)
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
    current_round int := 0;
BEGIN
    -- One writer at a time, so two crawls cannot both insert the same article.
    PERFORM pg_advisory_xact_lock(hashtextextended('newscrawl.upsert_articles', 0));

    -- Per-record state; small columns only, the texts stay in batch until written.
    IF to_regclass('pg_temp.newscrawl_batch') IS NULL THEN
        CREATE TEMP TABLE newscrawl_batch (
            ord int NOT NULL,
            fetched_key text COLLATE "C" NOT NULL,
            url_key text COLLATE "C" NOT NULL,
            body_hash text COLLATE "C" NOT NULL,
            url text NOT NULL,
            canonical_url text NOT NULL,
            seen timestamptz NOT NULL,
            article_id bigint,
            by_content boolean,
            round int,
            action text
        ) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM newscrawl_batch;  -- a second call in the same transaction
    INSERT INTO newscrawl_batch (
        ord, fetched_key, url_key, body_hash, url, canonical_url, seen, article_id, by_content)
    SELECT b.index, b.url_key, b.canonical_key, b.body_hash, b.url, b.canonical_url,
           coalesce(b.date_downloaded, now()), m.article_id, m.by_content
    FROM jsonb_to_recordset(batch)
             AS b (index int, url_key text, canonical_key text, body_hash text, url text,
                   canonical_url text, date_downloaded timestamptz)
         LEFT JOIN LATERAL newscrawl_resolve(b.canonical_key, b.url_key, b.body_hash) AS m
             ON true;

    LOOP
        current_round := current_round + 1;

        -- This round takes the records that share no URL, body or article with an earlier
        -- pending one; the others wait, so the batch has the effect of writing in order.
        -- A record without an article gets a new id, drawn here so the writes below know it.
        WITH identities AS (
            SELECT p.ord, v.identity
            FROM newscrawl_batch p,
                 LATERAL (VALUES ('u' || p.url_key), ('u' || p.fetched_key), ('b' || p.body_hash),
                                 ('a' || p.article_id)) AS v (identity)
            WHERE p.action IS NULL AND v.identity IS NOT NULL
        ), shared AS (
            SELECT i.identity, min(i.ord) AS first
            FROM identities i
            GROUP BY i.identity
            HAVING count(DISTINCT i.ord) > 1
        )
        UPDATE newscrawl_batch b
        SET round = current_round,
            article_id = coalesce(b.article_id, nextval('articles_id_seq')),
            action = CASE
                WHEN b.article_id IS NULL THEN 'inserted'
                WHEN b.by_content THEN 'merged'
                WHEN b.body_hash = (SELECT a.body_hash FROM articles a WHERE a.id = b.article_id)
                    THEN 'unchanged'
                ELSE 'updated'
            END
        WHERE b.action IS NULL AND NOT EXISTS (
            SELECT FROM identities i JOIN shared s USING (identity)
            WHERE i.ord = b.ord AND s.first < b.ord);
        EXIT WHEN NOT FOUND;

        INSERT INTO articles (
            id, url_key, canonical_url, url, headline, description, article_body, body_hash,
            date_published, date_published_raw, date_published_precision, date_modified,
            date_modified_raw, authors, in_language, main_image, source_name, source_url,
            breadcrumbs, record, spider, first_seen, last_seen, date_downloaded)
        SELECT b.article_id, b.url_key, r.canonical_url, r.url, r.headline, r.description,
               r.article_body, r.body_hash, r.date_published, r.date_published_raw,
               r.date_published_precision, r.date_modified, r.date_modified_raw, r.authors,
               r.in_language, r.main_image, r.source_name, r.source_url, r.breadcrumbs,
               r.record, r.spider, b.seen, b.seen, r.date_downloaded
        FROM newscrawl_batch b, newscrawl_article_row(batch -> b.ord) AS r
        WHERE b.round = current_round AND b.action = 'inserted';

        -- Text changed: keep the old version, write the new one.
        INSERT INTO article_versions (
            article_id, version, headline, article_body, body_hash, date_modified, record,
            replaced_at)
        SELECT a.id, a.version, a.headline, a.article_body, a.body_hash, a.date_modified,
               a.record, b.seen
        FROM newscrawl_batch b JOIN articles a ON a.id = b.article_id
        WHERE b.round = current_round AND b.action = 'updated';

        UPDATE articles a
        SET canonical_url = r.canonical_url, url = r.url, headline = r.headline,
            description = r.description, article_body = r.article_body,
            body_hash = r.body_hash, date_published = r.date_published,
            date_published_raw = r.date_published_raw,
            date_published_precision = r.date_published_precision,
            date_modified = r.date_modified, date_modified_raw = r.date_modified_raw,
            authors = r.authors, in_language = r.in_language, main_image = r.main_image,
            source_name = r.source_name, source_url = r.source_url,
            breadcrumbs = r.breadcrumbs, record = r.record, spider = r.spider,
            last_seen = greatest(a.last_seen, b.seen), date_downloaded = r.date_downloaded,
            version = a.version + 1
        FROM newscrawl_batch b, newscrawl_article_row(batch -> b.ord) AS r
        WHERE b.round = current_round AND b.action = 'updated'
          AND a.id = b.article_id;

        -- Same text: only the sighting moves.
        UPDATE articles a
        SET last_seen = greatest(a.last_seen, b.seen)
        FROM newscrawl_batch b
        WHERE b.round = current_round
          AND b.action IN ('unchanged', 'merged') AND a.id = b.article_id;

        -- Every URL of every record leads to its article.
        INSERT INTO article_urls AS u (url_key, url, article_id, kind, first_seen, last_seen)
        SELECT DISTINCT ON (v.url_key) v.url_key, v.url, b.article_id, v.kind, b.seen, b.seen
        FROM newscrawl_batch b,
             LATERAL (VALUES (b.url_key, b.canonical_url, 'canonical', 1),
                             (b.fetched_key, b.url, 'fetched', 2)) AS v (url_key, url, kind, rank)
        WHERE b.round = current_round
        ORDER BY v.url_key, v.rank
        ON CONFLICT (url_key) DO UPDATE SET last_seen = greatest(u.last_seen, excluded.last_seen);

        DELETE FROM related_articles ra
        USING newscrawl_batch b
        WHERE b.round = current_round AND b.action = 'updated'
          AND ra.article_id = b.article_id;

        INSERT INTO related_articles (
            article_id, url_key, url, headline, date_published, date_published_raw)
        SELECT b.article_id, x.url_key, x.url, x.headline, x.date_published,
               x.date_published_raw
        FROM jsonb_to_recordset(related)
                 AS x (index int, url_key text, url text, headline text,
                       date_published timestamptz, date_published_raw text)
             JOIN newscrawl_batch b ON b.ord = x.index
        WHERE b.round = current_round AND b.action IN ('inserted', 'updated');

        -- Records left for the next round may now match what this round wrote.
        UPDATE newscrawl_batch b
        SET (article_id, by_content) = (
            SELECT m.article_id, m.by_content
            FROM newscrawl_resolve(b.url_key, b.fetched_key, b.body_hash) AS m)
        WHERE b.action IS NULL;
    END LOOP;

    RETURN (SELECT array_agg(b.action ORDER BY b.ord) FROM newscrawl_batch b);
END;
$$;
