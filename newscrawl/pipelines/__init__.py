"""Item pipelines, in settings order: validate, store (PostgreSQL), dedupe."""
