-- Monitor results of each run (newscrawl.monitors, Spidermon): monitor name ->
-- {"passed": bool, "detail": text}; NULL when no monitor ran (by default only
-- scheduled runs are monitored). Derived from the final stats RunRecorder writes,
-- so the recorder needs no change and the two can never disagree.

ALTER TABLE crawl_runs
    ADD COLUMN monitors jsonb GENERATED ALWAYS AS (stats -> 'newscrawl/monitors') STORED,
    ADD COLUMN monitors_failed int GENERATED ALWAYS AS (
        jsonb_array_length(
            jsonb_path_query_array(stats -> 'newscrawl/monitors', '$.*.passed ? (@ == false)')
        )
    ) STORED;

CREATE INDEX crawl_runs_monitors_failed_idx ON crawl_runs (started_at DESC)
    WHERE monitors_failed > 0;
