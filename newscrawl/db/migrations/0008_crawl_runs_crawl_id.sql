-- The crawl a run worked on: several workers sharing one frontier (newscrawl.frontier,
-- -a crawl_id=...) each write a row with the same crawl_id, so a crawl's figures are the
-- sum of its rows. NULL for a crawl run by one process without a shared frontier.
ALTER TABLE crawl_runs ADD COLUMN crawl_id text;
CREATE INDEX crawl_runs_crawl_id_idx ON crawl_runs (crawl_id) WHERE crawl_id IS NOT NULL;
