"""Linear: known-issue matching (the connector) and escalation issues/comments (the writer)."""
