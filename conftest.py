"""Repository-wide pytest setup: shipped scenario files are tests; `sim_cluster` fixture."""

pytest_plugins = ["scenarios.pytest_plugin"]
