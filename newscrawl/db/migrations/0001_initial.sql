-- Articles, every URL that leads to one, related links and previous versions.

CREATE TABLE articles (
    id bigserial PRIMARY KEY,
    -- identity of the canonical URL when first stored (scheme and www. folded);
    -- keys and hashes are opaque: byte order ("C") makes their indexes cheaper
    url_key text COLLATE "C" NOT NULL UNIQUE,
    canonical_url text NOT NULL,
    url text NOT NULL,
    headline text NOT NULL,
    description text,
    article_body text NOT NULL,
    -- content identity: sha256 of the normalised body
    body_hash text COLLATE "C" NOT NULL,
    date_published timestamptz,
    date_published_raw text,
    -- 'day' when the page gave only a date (stored as midnight UTC), else 'second'
    date_published_precision text CHECK (date_published_precision IN ('day', 'second')),
    date_modified timestamptz,
    date_modified_raw text,
    authors jsonb NOT NULL DEFAULT '[]',
    in_language text,
    main_image text,
    source_name text,
    source_url text,
    breadcrumbs jsonb,
    -- the full item as exported
    record jsonb NOT NULL,
    spider text,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    date_downloaded timestamptz,
    version int NOT NULL DEFAULT 1
);

CREATE INDEX articles_source_published_idx ON articles (source_name, date_published DESC);
CREATE INDEX articles_published_idx ON articles (date_published DESC);
CREATE INDEX articles_body_hash_idx ON articles (body_hash);
CREATE INDEX articles_last_seen_idx ON articles (last_seen);

-- Every URL known for an article: fetched and canonical URLs, and the URLs of
-- duplicates merged into it by content, so each of them leads to one article.
CREATE TABLE article_urls (
    url_key text COLLATE "C" PRIMARY KEY,
    url text NOT NULL,
    article_id bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('fetched', 'canonical')),
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL
);

CREATE INDEX article_urls_article_idx ON article_urls (article_id);

CREATE TABLE related_articles (
    article_id bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    url_key text COLLATE "C" NOT NULL,
    url text NOT NULL,
    headline text,
    date_published timestamptz,
    date_published_raw text,
    PRIMARY KEY (article_id, url_key)
);

-- The text an article had before an update changed it.
CREATE TABLE article_versions (
    article_id bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    version int NOT NULL,
    headline text NOT NULL,
    article_body text NOT NULL,
    body_hash text NOT NULL,
    date_modified timestamptz,
    record jsonb NOT NULL,
    replaced_at timestamptz NOT NULL,
    PRIMARY KEY (article_id, version)
);
