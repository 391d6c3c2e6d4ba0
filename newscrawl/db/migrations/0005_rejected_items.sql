-- Dead letters: records PostgreSQL refused for their own content (a value out of range,
-- a key too long to index...), isolated from their batch so the others were stored.
-- newscrawl.db.writer puts them here; fix the cause and feed `item` back, or drop the row.

CREATE TABLE rejected_items (
    id bigserial PRIMARY KEY,
    -- the crawl_runs row of the crawl that rejected it; NULL from `newscrawl db replay`
    run_id uuid,
    url text,
    -- the record as JSON text (not jsonb: it may hold what jsonb refuses)
    item text NOT NULL,
    -- SQLSTATE, when the server gave one, and the error's message
    sqlstate text,
    error text NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX rejected_items_rejected_at_idx ON rejected_items (rejected_at DESC);
CREATE INDEX rejected_items_run_idx ON rejected_items (run_id);

-- What a run did with the spool and the dead letters; finish_reason also says
-- 'store_outage' for a run that ended with items left in the spool.
ALTER TABLE crawl_runs
    ADD COLUMN items_replayed int,
    ADD COLUMN items_rejected int,
    ADD COLUMN items_spooled int;
