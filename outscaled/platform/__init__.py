"""The platform layer of the prediction service: API keys, JWT bearer tokens, roles and rate limits."""
