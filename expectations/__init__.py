"""Great Expectations 1.x suites for the lakehouse tables, run as blocking Dagster asset checks."""
