"""The helpdesk source (Zendesk): resolves the tenant, reads the thread, writes the private note."""
