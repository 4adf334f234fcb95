"""The HTTP edge: the catalogue's read-only API and OAI-PMH endpoint; no logic of its own."""
