"""Page objects: extraction only (response in, raw field values out, no I/O)."""
