"""Settings and profile loading; the only package that reads the environment; imports nothing."""
