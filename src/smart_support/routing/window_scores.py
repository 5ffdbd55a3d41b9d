"""Exact cosine similarities of a new ticket with the dedup window, found through float16.

A dedup decision compares the ticket with every window vector: 30,000 float32 vectors of 384
dimensions are 46 MB per ticket, a product bound by memory bandwidth (~1.5 ms on one core
here, evicting the caches the rest of the route uses). `HalfIndex` keeps the window's vectors
in float16 as well, in a faiss scalar-quantizer index (half the bytes; faiss decodes to float32
and accumulates in float32), and asks it for the best `CANDIDATES` rows. A float16 score is
within HALF_ERROR of the float32 one, so the float16 scores tell which rows a decision can
depend on: every row that may score above the decision's lowest threshold and every row that
may be the most similar one. Only those rows are recomputed from the float32 vectors; the
others are -inf. When more rows than CANDIDATES may matter (a flood of near-copies), the whole
float32 product is computed instead. Whatever a decision reads (the best row and its score,
the rows above its threshold) is thus what the float32 product gives. Both compute each row's
product with `np.vecdot`, one row at a time, so a row's score does not depend on where it sits
or how many rows are computed with it (a BLAS matrix-vector product can round two identical
rows differently, which would break ties between copies of one ticket differently).

Bound, for unit vectors: rounding a window vector to float16 (u = 2**-11) moves its product
with the float32 query by at most u (Cauchy-Schwarz), the float32 accumulation of 384 terms by
at most 384 * 2**-24: about 5.1e-4 in all. HALF_ERROR is 2e-3.
"""

from __future__ import annotations

import faiss
import numpy as np

HALF_ERROR = 2e-3  # >= |float16 score - float32 score| for unit vectors (bound above: ~5.1e-4)
TWO_STAGE_FROM = 2_048  # live rows; below this one float32 product is cheaper than two stages
CANDIDATES = 64  # rows asked of the float16 index; more may matter: the float32 product


class HalfIndex:
    """float16 copies of window rows `[first, first + ntotal)`; rows before the window's head
    are dead (pruned) and are dropped by a rebuild once they are a quarter of the index."""

    def __init__(self, dimension: int) -> None:
        self.index = faiss.IndexScalarQuantizer(
            dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        self.first = 0  # the window row of index row 0

    def append(self, vector: np.ndarray) -> None:
        """The next window row (rows are appended in order)."""
        self.index.add(np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1))

    def rebuild(self, vectors: np.ndarray, first: int) -> None:
        """Index exactly `vectors`, the window rows from `first` on."""
        self.index.reset()
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors))
        self.first = first

    def shift(self, rows: int) -> None:
        """The window moved every row `rows` places to the front (a compaction)."""
        self.first -= rows

    def overwrite(self, start: int, vectors: np.ndarray) -> None:
        """Window rows from `start` on now hold `vectors` (rows moved within the index)."""
        codes = faiss.rev_swig_ptr(self.index.codes.data(), self.index.codes.size())
        halves = codes.view(np.float16).reshape(self.index.ntotal, self.index.d)
        row = start - self.first
        halves[row : row + len(vectors)] = vectors

    def similarities(
        self, vectors: np.ndarray, head: int, query: np.ndarray, floor: float
    ) -> np.ndarray:
        """`vectors[head:] @ query` (float32) for the rows above `floor` and the highest rows;
        -inf for rows that can be neither. `vectors` are the window's rows from row 0 on."""
        live = vectors[head:]
        dead = head - self.first
        if dead > len(live) // 4:  # also while the window is small: the index stays bounded
            self.rebuild(live, head)
            dead = 0
        if len(live) < TWO_STAGE_FROM:
            return np.vecdot(live, query)
        k = min(CANDIDATES, self.index.ntotal)  # dead rows among them only cost a fallback
        scores, rows = self.index.search(query.reshape(1, -1), k)
        scores, rows = scores[0], rows[0] - dead  # rows of `live`; negative: dead rows
        alive = rows >= 0
        if not alive.any():
            return np.vecdot(live, query)
        reach = min(floor, float(scores[alive][0]) - HALF_ERROR) - HALF_ERROR
        if k < self.index.ntotal and scores[-1] >= reach:  # rows beyond k may matter too
            return np.vecdot(live, query)
        rows = rows[alive & (scores >= reach)]
        sims = np.full(len(live), -np.inf, dtype=np.float32)
        sims[rows] = np.vecdot(live[rows], query)
        return sims
