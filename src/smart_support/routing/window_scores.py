"""Exact cosine similarities of a new ticket with the dedup window, found through int8 codes.

A dedup decision compares the ticket with every window vector: 30,000 float32 vectors of 384
dimensions are 46 MB per ticket, a product bound by memory and arithmetic (~1.5 ms on one core
here, evicting the caches the rest of the route uses). `CodeIndex` keeps the window's vectors
as int8 codes as well (round(SCALE * x), a quarter of float32's bytes) in a faiss
scalar-quantizer index, which scans them about twice as fast as float16, and asks it for the
best `CANDIDATES[0]` rows. A code's score is within a known bound of the float32 one, so the codes
tell which rows a decision can depend on: every row that may score above the decision's lowest
threshold and every row that may be the most similar one. Only those rows are recomputed from
the float32 vectors and returned; the decision never looks at the others. When more rows than
that may matter (a flood of near-copies, or a low threshold such as the burst rule's), the
index is asked for more rows (1,024), and only when even those may not hold every row that
matters is the whole float32 product computed instead.
Whatever a decision reads (the best row and its score, the rows above its threshold) is thus
what the float32 product gives. The burst rule's usual rate counts its reference tickets above
the threshold the same way (`dedup.UsualRate`). Both compute each row's product with
`np.vecdot`, one row at a time, so a row's score does not depend on where it sits or how many
rows are computed with it (a BLAS matrix-vector product can round two identical rows
differently, which would break ties between copies of one ticket differently).

The bound. A row x has codes c = round(SCALE * x) (clipped to ±127), so c / SCALE = x + d with
d the row's rounding error, known when the row is added. The index returns ||c - SCALE * q||²
(faiss's int8 codes give L2 distances only), from which the code score c·q / SCALE follows
exactly given ||c||²; it differs from x·q by d·q, at most ||d|| ||q|| (Cauchy-Schwarz): about
0.016 for unit vectors (rounding errors of 1 / (2 * SCALE) per component; a clipped component
only makes that row's ||d|| larger). The float32 sums inside faiss add at most FLOAT_ERROR.
"""

from __future__ import annotations

import faiss
import numpy as np

CODE_RANGE = 0.35  # components beyond ±CODE_RANGE are clipped (the served encoder's reach 0.27)
SCALE = 127 / CODE_RANGE
OFFSET = 128  # faiss's direct codes are unsigned bytes: c + OFFSET
FLOAT_ERROR = 1e-4  # >= faiss's float32 rounding of a distance, in score units (~5e-5)
TWO_STAGE_FROM = 2_048  # live rows; below this one float32 product is cheaper than two stages
# Rows asked of the code index, then more when rows beyond them may matter, then the float32
# product. A search for 128 of 30,000 rows takes ~0.25 ms here, for 1,024 ~0.56 ms, the float32
# product ~2.3 ms; faiss's range search over the codes ~13 ms (not vectorised for them).
CANDIDATES = (128, 1_024)


def codes_of(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows as int8 codes (float32 holding integers), each code's squared norm (exact: sums of
    integers below 2**24), and each row's rounding error ||c / SCALE - x|| (float32: within
    1e-6, inside FLOAT_ERROR)."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    codes = np.rint(vectors * np.float32(SCALE))
    np.clip(codes, -127, 127, out=codes)
    squared = np.einsum("ij,ij->i", codes, codes).astype(np.float64)
    errors = np.linalg.norm(codes / np.float32(SCALE) - vectors, axis=1).astype(np.float64)
    return codes, squared, errors


class CodeIndex:
    """int8 codes of window rows `[first, first + ntotal)`; rows before the window's head are
    dead (pruned) and are dropped from the front once they are a quarter of the index."""

    def __init__(self, dimension: int) -> None:
        self.index = faiss.IndexScalarQuantizer(
            dimension, faiss.ScalarQuantizer.QT_8bit_direct, faiss.METRIC_L2
        )
        self.first = 0  # the window row of index row 0
        self._squared = np.zeros(64, dtype=np.float64)  # per index row: ||c||²
        self._errors = np.zeros(64, dtype=np.float64)  # per index row: ||d||
        self.max_squared = 0.0  # over the index's rows (dead ones included: a looser bound)
        self.max_error = 0.0  # the largest ||d|| over the index's rows

    def append(self, vectors: np.ndarray) -> None:
        """The next window rows, one vector or several (rows are appended in order)."""
        self._add(np.atleast_2d(vectors))

    def drop_front(self, rows: int) -> None:
        """Forget the first `rows` index rows (dead ones): the codes move, none is recomputed."""
        end = self.index.ntotal
        self.index.remove_ids(faiss.IDSelectorRange(0, rows))  # keeps the order of the rest
        for array in (self._squared, self._errors):
            array[: end - rows] = array[rows:end]
        self.max_squared = float(self._squared[: end - rows].max(initial=0.0))
        self.max_error = float(self._errors[: end - rows].max(initial=0.0))
        self.first += rows

    def _add(self, vectors: np.ndarray) -> None:
        codes, squared, errors = codes_of(vectors)
        start, end = self.index.ntotal, self.index.ntotal + len(vectors)
        if end > len(self._squared):
            size = max(end, 2 * len(self._squared))
            self._squared, self._errors = (
                np.resize(self._squared, size),
                np.resize(self._errors, size),
            )
        self._set(start, squared, errors)
        self.index.add(codes + np.float32(OFFSET))

    def _set(self, row: int, squared: np.ndarray, errors: np.ndarray) -> None:
        self._squared[row : row + len(squared)] = squared
        self._errors[row : row + len(errors)] = errors
        self.max_squared = max(self.max_squared, float(squared.max(initial=0.0)))
        self.max_error = max(self.max_error, float(errors.max(initial=0.0)))

    def shift(self, rows: int) -> None:
        """The window moved every row `rows` places to the front (a compaction)."""
        self.first -= rows

    def overwrite(self, start: int, vectors: np.ndarray) -> None:
        """Window rows from `start` on now hold `vectors` (rows moved within the index)."""
        codes, squared, errors = codes_of(vectors)
        stored = faiss.rev_swig_ptr(self.index.codes.data(), self.index.codes.size())
        row = start - self.first
        stored.reshape(self.index.ntotal, self.index.d)[row : row + len(vectors)] = codes + OFFSET
        self._set(row, squared, errors)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The `k` index rows nearest `query` by their codes, their code scores, a score no
        other row's code score exceeds, and the bound on |code score - float32 score|."""
        codes, base = _scaled(query)
        distances, rows = self.index.search(codes, k)
        distances, rows = distances[0].astype(np.float64), rows[0]
        beyond = (self.max_squared + base - distances[-1]) / (2 * SCALE * SCALE)
        error = self.max_error * float(np.linalg.norm(query)) + FLOAT_ERROR
        return rows, self._scores(rows, distances, base), beyond, error

    def _scores(self, rows: np.ndarray, distances: np.ndarray, base: float) -> np.ndarray:
        """Code scores c·q / SCALE of index rows from their distances ||c - SCALE q||²."""
        return (self._squared[rows] + base - distances) / (2 * SCALE * SCALE)

    def similarities(
        self, vectors: np.ndarray, head: int, query: np.ndarray, floor: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows of `vectors[head:]` that may score above `floor` or be the highest, in
        order, with their float32 scores (`vectors[head:] @ query` for those rows); no other
        row can be either. `vectors` are the window's rows from row 0 on."""
        live = vectors[head:]
        dead = head - self.first
        if dead > len(live) // 4:  # also while the window is small: the index stays bounded
            self.drop_front(dead)
            dead = 0
        if len(live) >= TWO_STAGE_FROM:
            for wanted in CANDIDATES:  # dead rows among them only cost a wider search
                k = min(wanted, self.index.ntotal)
                rows, scores, beyond, error = self.search(query, k)
                rows = rows - dead  # rows of `live`; negative: dead rows
                alive = rows >= 0
                if not alive.any():
                    break
                reach = min(floor, float(scores[alive].max()) - error) - error
                if k == self.index.ntotal or beyond < reach:  # no row beyond k matters
                    rows = np.sort(rows[alive & (scores >= reach)])
                    return rows, np.vecdot(live[rows], query)
        return np.arange(len(live)), np.vecdot(live, query)


def _scaled(query: np.ndarray) -> tuple[np.ndarray, float]:
    """The query as faiss's code space sees it (SCALE q + OFFSET, one float32 row) and
    ||SCALE q||²."""
    scaled = np.asarray(query, dtype=np.float64) * SCALE
    return (scaled + OFFSET).astype(np.float32)[None, :], float(scaled @ scaled)
