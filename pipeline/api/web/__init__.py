"""The catalogue's web pages: HTML rendering (render.py) and static files; no I/O of their own."""
