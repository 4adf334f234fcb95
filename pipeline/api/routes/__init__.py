"""The API's routers, one per concern; each parses a request, calls the reader and renders."""
