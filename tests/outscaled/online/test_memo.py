"""The predictor's bounded memo: least recently used out first, counts of hits and misses."""

from outscaled.online.memo import Memo


def test_the_least_recently_used_entry_leaves_first():
    memo = Memo(capacity=2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "a" is now the most recent
    memo.put("c", 3)
    assert memo.get("b") is None
    assert (memo.get("a"), memo.get("c"), len(memo)) == (1, 3, 2)
    assert (memo.hits, memo.misses) == (3, 1)
