"""scenarios: declarative scenario files and their runner (sim and kind backends)."""
