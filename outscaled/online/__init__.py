"""Online serving: Redis feature snapshots and the prediction logic behind the HTTP service."""
