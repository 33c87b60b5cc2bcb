"""The analytics store: every prediction logged off the request path to ClickHouse (chdb embedded by default),
read with `outscaled analytics`, settled against real results by the `prediction_feedback` asset."""
