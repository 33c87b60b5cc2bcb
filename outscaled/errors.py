"""Turn exceptions into the one-paragraph messages users see."""

from __future__ import annotations


def describe(error: BaseException) -> str:
    text = str(error).strip() or error.__class__.__name__
    return text
