"""Lets `pytest scenarios/` run every shipped scenario file as a test (see pytest_plugin)."""

pytest_plugins = ["scenarios.pytest_plugin"]
