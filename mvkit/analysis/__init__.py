"""Pure analysis behind the notebooks: retrieval failures and embedding-space geometry."""
