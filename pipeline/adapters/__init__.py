"""Adapters: the only modules that import boto3, redis or process APIs; they map library errors."""
