"""The Celery app and thin task wrappers: validate the payload, call a service, map the error."""
