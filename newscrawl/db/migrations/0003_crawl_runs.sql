-- One row per crawl run, so an operator sees what every (scheduled) run did.
-- newscrawl.runs.RunRecorder writes it when the spider opens and completes it when the
-- spider closes: a row without finished_at is a run still going, or one that died.

CREATE TABLE crawl_runs (
    id uuid PRIMARY KEY,
    spider text NOT NULL,
    -- scrapyd's job id (newscrawl schedule names them <entry>.<due time>); NULL outside scrapyd
    job_id text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    -- Scrapy's close reason: finished, shutdown, closespider_*, cancelled...
    finish_reason text,
    pages int,
    items_stored int,
    duplicates int,
    errors int,
    -- the crawl's final stats, for everything else (newscrawl/incremental/skipped, ...)
    stats jsonb
);

CREATE INDEX crawl_runs_spider_started_idx ON crawl_runs (spider, started_at DESC);
CREATE INDEX crawl_runs_job_idx ON crawl_runs (job_id);
