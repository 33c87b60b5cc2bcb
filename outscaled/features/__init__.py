"""Feature definitions shared by the transforms (offline) and the prediction service (online)."""
