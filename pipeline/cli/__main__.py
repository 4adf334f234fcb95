"""`python -m pipeline.cli`: the `sohoa` command, as tests and the worker's re-exec run it."""

from pipeline.cli import main

main()
