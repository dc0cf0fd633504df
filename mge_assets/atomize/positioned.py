"""Facts of a file kept in byte order, so the facts of any span of it are two bisections away."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from operator import itemgetter

_FIRST = itemgetter(0)  # sorts by offset only, and stably: equal offsets keep their order


@dataclass(slots=True)
class Positioned:
    """Items in the order of their start offsets, looked up by a byte range with two bisections."""

    starts: list[int]
    items: list

    @classmethod
    def of(cls, pairs: list[tuple[int, object]]) -> Positioned:
        pairs.sort(key=_FIRST)
        return cls([start for start, _ in pairs], [item for _, item in pairs])

    def indices(self, lo: int, hi: int) -> range:
        """The indices of the items that start in [lo, hi)."""
        first = bisect_left(self.starts, lo)
        return range(first, bisect_left(self.starts, hi, first))

    def within(self, lo: int, hi: int) -> list:
        """The items that start in [lo, hi)."""
        first = bisect_left(self.starts, lo)
        return self.items[first : bisect_left(self.starts, hi, first)]
