"""The BentoML prediction service (never imports orchestration/ or assets/)."""
