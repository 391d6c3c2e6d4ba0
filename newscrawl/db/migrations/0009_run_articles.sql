-- The articles each crawl run wrote, and what it did to each (inserted, updated,
-- unchanged, merged): `newscrawl export --run` and the report select a run's articles
-- here, exactly, instead of by the time window its spider was seen in. Written in the
-- transaction that stores the batch; a replay of spooled items writes them under the
-- run that spooled them. No foreign key to crawl_runs: a run's own row may still wait
-- in the spool while its articles are stored.
CREATE TABLE run_articles (
    run_id uuid NOT NULL,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    action text NOT NULL CHECK (action IN ('inserted', 'updated', 'unchanged', 'merged')),
    PRIMARY KEY (run_id, article_id)
);
CREATE INDEX run_articles_article_idx ON run_articles (article_id);
