"""Semantic dedup: which recent group a new ticket joins, and when a group becomes an incident.

Embeddings are unit-normalised, so cosine similarity is a dot product. How a new ticket
picks its group is a GroupingRule. LINK (this module's default) makes a ticket a duplicate
when its best cosine - against any ticket in the window or against the centroid of a
multi-ticket group - exceeds the threshold; it joins that group, and a ticket that matches
several groups bridges them and they merge (transitive grouping). Transitivity chains real
tickets on a shared topic, so the threshold must be high (0.85) and only near copies group.
The served rule (conf/serve `dedup`) is BURST with a significance test on the topic's usual
rate (`UsualRate`), near copies and cohesion: a ticket links the tickets it is close to at
0.55 only when that many is unlikely in ordinary traffic and they form a cluster
(`cohesive`). docs/dedup_threshold.md and the README measure the rules on real ticket traffic
with injected floods. `Novelty` keeps tickets of usual topics (a near-twin in ordinary
traffic) out of every group (measured, not served).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.special import pdtrc

from smart_support.routing.window_scores import CodeIndex


@dataclass(frozen=True)
class DedupDecision:
    similarity: float  # best cosine to a window ticket or group centroid; 0.0 when none
    is_duplicate: bool
    group_id: str  # the group joined, or the caller's new group id when none matched
    merged_groups: tuple[str, ...]  # other matching groups folded into group_id
    matched_ticket_id: str | None  # most similar window ticket, None when the window is empty
    joins_incident: bool = False  # group_id already has an incident


class GroupingRule(StrEnum):
    """Which window groups a new ticket may join; docs/dedup_threshold.md compares them."""

    LINK = "link"  # a member or multi-ticket centroid above threshold; bridges merge groups
    NEAREST = "nearest"  # as LINK, but the ticket joins one group and nothing merges
    CENTROID = "centroid"  # only a group centroid (a lone ticket is its own) above threshold
    DENSE = "dense"  # min(min_matches, group size) members above threshold; no merges
    BURST = "burst"  # density: a ticket close to min_matches window tickets links them all


DEFAULT_RULE = GroupingRule.LINK
DEFAULT_MIN_MATCHES = 3


class IncidentAction(StrEnum):
    NONE = "none"  # group still small: nothing to do
    CREATE = "create"  # group just outgrew the limit: open a Master Incident, notify once
    ATTACH = "attach"  # group already has an incident: attach the new ticket to it


def incident_action(group_size: int, incident_after: int, has_incident: bool) -> IncidentAction:
    """What a group of `group_size` window tickets (the new one included) calls for."""
    if has_incident:
        return IncidentAction.ATTACH
    if group_size > incident_after:
        return IncidentAction.CREATE
    return IncidentAction.NONE


# Which of the given dedup groups have an incident (any subset, in any order). One call per
# decision asks about every group it matches: a store answers in one query, however many groups
# a ticket of a busy topic matches. A set's `intersection` is one.
IncidentLookup = Callable[[Sequence[str]], Collection[str]]


def no_incidents(groups: Sequence[str]) -> Collection[str]:
    """The lookup of a window without incidents."""
    return ()


class DedupWindow:
    """The recent tickets dedup compares against, with running per-group sums for centroids.

    Everything a decision reads is an array (a row per ticket, a slot per group), so deciding
    costs one matrix-vector product over the window plus work on the few groups that match or
    have several members: a 5-minute window at 100 tickets/s (30,000 tickets) stays cheap.
    The product reads int8 codes of the vectors and recomputes in float32 only the rows the
    decision can depend on (window_scores.CodeIndex): the decision is the float32 one.
    Rows live in `[_head, _head + len)`: tickets leave the window from the front, so pruning
    moves `_head` and the arrays are compacted only once the dead prefix is as long as the
    live rows (amortised O(1) per ticket, not a copy of the whole window per prune).
    """

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension
        self._vectors = np.zeros((64, dimension), dtype=np.float32)
        self._codes = CodeIndex(dimension)  # _vectors as int8 codes, to find the rows that matter
        self._times = np.zeros(64, dtype=np.float64)
        self._rows_slot = np.zeros(64, dtype=np.intp)  # each ticket's group slot
        self._ids: list[str] = []  # per row, the dead prefix included
        self._head = 0  # first live row
        self._sums = np.zeros((64, dimension), dtype=np.float64)  # per slot: sum of members
        self._counts = np.zeros(64, dtype=np.int64)  # per slot: members (0 = free slot)
        self._opened = np.zeros(64, dtype=np.int64)  # per slot: when its group was first seen
        self._slot_ids: list[str | None] = []  # per slot: the group id
        self._slot_of: dict[str, int] = {}
        self._free: list[int] = []
        self._opened_seq = 0

    def __len__(self) -> int:
        return len(self._ids) - self._head

    @property
    def ticket_ids(self) -> list[str]:
        return self._ids[self._head :]

    @property
    def embeddings(self) -> np.ndarray:
        return self._vectors[self._head : len(self._ids)]

    @property
    def group_ids(self) -> list[str]:
        """Each window ticket's group, in arrival order."""
        return [str(self._slot_ids[s]) for s in self._live_slots]

    @property
    def _live_slots(self) -> np.ndarray:
        return self._rows_slot[self._head : len(self._ids)]

    def members(self, group_id: str) -> np.ndarray:
        """The vectors of the group's window tickets, in arrival order."""
        slot = self._slot_of.get(group_id)
        if slot is None:
            return self._vectors[:0]
        return self._vectors[self._head + np.flatnonzero(self._live_slots == slot)]

    def group_size(self, group_id: str) -> int:
        slot = self._slot_of.get(group_id)
        return 0 if slot is None else int(self._counts[slot])

    def add(self, ticket_id: str, group_id: str, embedding: np.ndarray, created_at: float) -> None:
        if len(self._ids) == len(self._vectors) and self._head:
            self._compact()
        n = len(self._ids)
        if n == len(self._vectors):
            self._vectors, self._times, self._rows_slot = _grown(
                self._vectors, self._times, self._rows_slot
            )
        vector = np.asarray(embedding, dtype=np.float32).reshape(self.dimension)
        slot = self._slot(group_id)
        self._vectors[n], self._times[n], self._rows_slot[n] = vector, created_at, slot
        self._codes.append(vector)
        self._ids.append(ticket_id)
        self._sums[slot] += vector
        self._counts[slot] += 1

    def prune(self, before: float) -> None:
        """Forget tickets created before `before` (the start of the window)."""
        head, end = self._head, len(self._ids)
        keep = self._times[head:end] >= before
        if keep.all():
            return
        gone = head + np.flatnonzero(~keep)
        np.subtract.at(self._sums, self._rows_slot[gone], self._vectors[gone])
        np.subtract.at(self._counts, self._rows_slot[gone], 1)
        for slot in np.unique(self._rows_slot[gone]):
            if self._counts[slot] == 0:
                self._release(int(slot))
        last = int(gone[-1])
        if last != head + len(gone) - 1:  # out of arrival order (replicas): some rows stay
            self._close_gaps(head, last, head + np.flatnonzero(keep[: last - head + 1]))
        self._head = head + len(gone)
        if self._head >= end - self._head:
            self._compact()

    def _close_gaps(self, head: int, last: int, stay: np.ndarray) -> None:
        """Rows `stay` of `[head, last]` remain: move them, in order, to end at `last`; the
        rows after `last` do not move (only the few rows up to the last one gone are copied,
        not the whole window)."""
        start = last + 1 - len(stay)
        for array in (self._vectors, self._times, self._rows_slot):
            array[start : last + 1] = array[stay]
        self._ids[start : last + 1] = [self._ids[i] for i in stay]
        self._codes.overwrite(start, self._vectors[start : last + 1])

    def _compact(self) -> None:
        """Move the live rows to the front (numpy copies overlapping slices safely)."""
        head, end = self._head, len(self._ids)
        for array in (self._vectors, self._times, self._rows_slot):
            array[: end - head] = array[head:end]
        self._ids = self._ids[head:]
        self._head = 0
        self._codes.shift(head)

    def merge(self, into: str, groups: Sequence[str]) -> None:
        """Relabel the tickets of `groups` as members of `into` (a bridging ticket arrived)."""
        for group in groups:
            source = self._slot_of.get(group)
            if group == into or source is None:
                continue
            if into not in self._slot_of:  # a rename: no ticket changes slot
                self._slot_of[into] = self._slot_of.pop(group)
                self._slot_ids[source] = into
                self._opened[source] = self._next_opened()
                continue
            target = self._slot_of[into]
            rows = self._live_slots
            rows[rows == source] = target
            self._sums[target] += self._sums[source]
            self._counts[target] += self._counts[source]
            self._counts[source] = 0
            self._release(source)

    def decide(
        self,
        embedding: np.ndarray,
        threshold: float,
        new_group_id: str,
        incidents: IncidentLookup = no_incidents,
        rule: GroupingRule | str = DEFAULT_RULE,
        min_matches: int = DEFAULT_MIN_MATCHES,
        usual: float | Callable[[], float] = 0.0,
        significance: float | None = None,
        near_copy: float | None = None,
        cohesion: float | None = None,
        usual_floor: float = 0.0,
    ) -> DedupDecision:
        """Compare one new ticket with the window; the window itself is not changed.

        `usual` (BURST only) is how many window tickets usually sit this close to such a
        ticket (UsualRate), or a function that computes it (called only for a ticket close to
        min_matches tickets); the ticket is dense when it is close to min_matches more than
        that, or, with a `significance`, when that many close tickets are so unlikely
        (`is_dense`; `usual_floor`, the least `usual` can be, spares computing it when even
        that would not make the count unlikely). With a `cohesion`, the tickets it is close to
        must also be close to one another: at least that share of their pairs above the
        threshold (`cohesive`).

        With a `near_copy` cosine (BURST only), a ticket that is not dense matches and links
        the groups of its near copies (members above `near_copy`) instead of a formed burst.

        `incidents` answers which of the matching groups have an incident, once per decision.
        The ticket joins the most similar matching group that already has an incident, else
        the most similar matching group. Under LINK, and under BURST for a dense ticket or
        near copies, the other matching groups without an incident are folded into it
        (transitive grouping); groups with their own incident never merge. The other rules
        never merge.
        """
        n = len(self)
        if n == 0:
            return DedupDecision(0.0, False, new_group_id, (), None)
        rule = GroupingRule(rule)
        query = np.asarray(embedding, dtype=np.float32).reshape(self.dimension)
        rows, sims = self._codes.similarities(
            self._vectors[: len(self._ids)], self._head, query, threshold
        )
        best = int(rows[np.argmax(sims)])  # the first of equals: the oldest row
        counts = self._counts[: len(self._slot_ids)]
        multi = np.flatnonzero(counts > 1)
        sums = self._sums[multi]
        centroid = (sums @ query) / np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        similarity = max(float(sims.max()), float(centroid.max(initial=-1.0)))
        close = sims > threshold
        dense = rule is GroupingRule.BURST and is_dense(
            close, min_matches, usual, significance, usual_floor
        )
        if dense and cohesion is not None:
            dense = cohesive(
                self._vectors[self._head + _closest(rows, sims, close)], threshold, cohesion
            )
        copies = rule is GroupingRule.BURST and not dense and near_copy is not None
        if copies:  # outside a burst only near copies group, as under LINK at that threshold
            close = sims > near_copy
        links = dense or copies  # every close group matches, and they merge
        slots, score = _group_scores(
            rule,
            Candidates(self._live_slots[rows[close]], sims[close], multi, centroid, counts),
            threshold,
            min_matches,
            links,
        )
        merges = rule is GroupingRule.LINK or links
        matching = np.flatnonzero(score > -np.inf)
        if len(matching) == 0:
            return DedupDecision(similarity, False, new_group_id, (), self._ids[self._head + best])
        slots, score = slots[matching], score[matching]
        order = np.lexsort((self._opened[slots], -score))
        ranked = [str(self._slot_ids[s]) for s in slots[order]]
        found = set(incidents(ranked))
        with_incident = [group for group in ranked if group in found]
        target = with_incident[0] if with_incident else ranked[0]
        merged: tuple[str, ...] = ()
        if merges:
            merged = tuple(g for g in ranked if g != target and g not in found)
        return DedupDecision(
            similarity, True, target, merged, self._ids[self._head + best], bool(with_incident)
        )

    def _slot(self, group_id: str) -> int:
        """The group's slot, opening one (a free one first) for a group not seen yet."""
        slot = self._slot_of.get(group_id)
        if slot is not None:
            return slot
        if self._free:
            slot = self._free.pop()
            self._slot_ids[slot] = group_id
        else:
            slot = len(self._slot_ids)
            self._slot_ids.append(group_id)
            if slot == len(self._sums):
                self._sums, self._counts, self._opened = _grown(
                    self._sums, self._counts, self._opened
                )
        self._slot_of[group_id] = slot
        self._opened[slot] = self._next_opened()
        return slot

    def _next_opened(self) -> int:
        self._opened_seq += 1
        return self._opened_seq

    def _release(self, slot: int) -> None:
        """An empty group leaves the window; its slot is reused (exact zeros, no drift)."""
        group = self._slot_ids[slot]
        if group is not None and self._slot_of.get(group) == slot:
            del self._slot_of[group]
        self._slot_ids[slot] = None
        self._sums[slot] = 0.0
        self._free.append(slot)


def is_dense(
    close: np.ndarray,
    min_matches: int,
    usual: float | Callable[[], float] = 0.0,
    significance: float | None = None,
    usual_floor: float = 0.0,
) -> bool:
    """Whether a ticket is close (cosine above threshold: `close`, a mask) to at least
    min_matches tickets more than `usual` (the count expected in ordinary traffic), or, with a
    `significance`, to at least min_matches tickets that ordinary traffic would bring this
    close with probability at most 10**-significance (a Poisson tail with mean `usual`).
    `usual` may be a function: it is called only when the count reaches min_matches and, with
    a `significance`, only when the count would be significant were `usual` as small as it can
    be (`usual_floor`): the tail only shrinks as its mean grows, so below that the answer is
    no whatever `usual` is."""
    count = int(np.count_nonzero(close))
    if count < min_matches:  # usual >= 0: neither test can pass
        return False
    if significance is not None and surprise(count, usual_floor) < significance:
        return False
    expected = usual() if callable(usual) else usual
    if significance is None:
        return count - expected >= min_matches
    return surprise(count, expected) >= significance


COHESION_SAMPLE = 32  # tickets a cohesion check compares pairwise: the closest or latest


def cohesive(vectors: np.ndarray, threshold: float, cohesion: float) -> bool:
    """Whether tickets (unit `vectors`) form a cluster: at least a `cohesion` share of their
    pairs above the threshold.

    One problem told by many customers is such a cluster: the reports' pairs sit above the
    threshold together. Traffic that is all alike is not: a ticket filed from a template shares
    words with many others, and they share different words with it, so a ticket's close
    tickets are mostly not close to one another, and a group grown by chaining such tickets
    is not either. Callers pass at most COHESION_SAMPLE tickets: the cost does not grow with
    the window."""
    k = len(vectors)
    if k < 2:
        return True
    above = int(np.count_nonzero(vectors @ vectors.T > threshold)) - k  # the diagonal is 1
    return above >= cohesion * k * (k - 1)


def _closest(rows: np.ndarray, sims: np.ndarray, close: np.ndarray) -> np.ndarray:
    """The COHESION_SAMPLE rows of `rows[close]` most similar to the ticket (any order)."""
    rows, sims = rows[close], sims[close]
    if len(rows) <= COHESION_SAMPLE:
        return rows
    return rows[np.argpartition(-sims, COHESION_SAMPLE - 1)[:COHESION_SAMPLE]]


def surprise(count: int, expected: float) -> float:
    """-log10 of the chance that ordinary traffic, expecting `expected` close tickets (a Poisson
    count), brings at least `count`: 3 means one window in a thousand."""
    if count <= 0:
        return 0.0  # every count is at least 0
    tail = float(pdtrc(count - 1, expected))  # P(X > count - 1); scipy.stats' logsf is ~40x slower
    return -math.log10(tail) if tail > 0.0 else math.inf


class UsualRate:
    """How many tickets of a window usually sit close to a ticket: a topic's ordinary rate.

    `reference` holds unit vectors of ordinary traffic (the training split); the expected
    count for a window of n tickets is the reference's close share times n. A new outage has
    (almost) no close reference tickets; a topic that is always busy does. The close count is
    exact, read as the window's is (window_scores.CodeIndex): a scan of the reference's int8
    codes, a quarter of float32's bytes, then float32 scores for the rows near the threshold
    only. A fixed cost, whatever the window holds, and a small one: a route runs this after the
    window's own scan has filled the caches, so the reference comes from memory every time."""

    def __init__(self, reference: np.ndarray, significance: float | None = None) -> None:
        self.reference = np.asarray(reference, dtype=np.float32)
        self.significance = significance  # None: an excess of min_matches; else is_dense's test
        self._codes: CodeIndex | None = None
        if len(self.reference):
            self._codes = CodeIndex(self.reference.shape[1])
            self._codes.append(self.reference)

    def close_count(self, embedding: np.ndarray, threshold: float) -> int:
        """Reference tickets with a cosine above `threshold` to the ticket."""
        if self._codes is None:
            return 0
        query = np.asarray(embedding, dtype=np.float32).reshape(self.reference.shape[1])
        _, sims = self._codes.similarities(self.reference, 0, query, threshold)
        return int(np.count_nonzero(sims > threshold))

    def least_expected(self, window_size: int) -> float:
        """The least `expected` can be for a window of this size: no reference ticket close."""
        if self.significance is None:
            return 0.0
        return window_size / (len(self.reference) + 1)

    def expected(self, embedding: np.ndarray, threshold: float, window_size: int) -> float:
        """The close share of the reference times the window size; for the significance test
        with one close reference ticket added (a topic seen never is not impossible: the
        smallest rate is one ticket in the reference, which keeps the Poisson tail finite)."""
        close = self.close_count(embedding, threshold)
        if self.significance is not None:
            return (close + 1) * self.least_expected(window_size)
        if len(self.reference) == 0:
            return 0.0
        return close * window_size / len(self.reference)


class Novelty:
    """Whether a ticket's topic is new: no ticket of ordinary traffic is close to it.

    `reference` holds unit vectors of ordinary traffic (the training split, embedded by the
    served encoder). A ticket whose nearest reference ticket is at or above `threshold` belongs
    to a usual topic: the dataset's template topics (near-paraphrases of one ticket, a dozen in
    every 5-minute window) all have near-twins in the reference, the reports of a new outage do
    not. One matrix-vector product over the reference per ticket, whatever the window holds."""

    def __init__(self, reference: np.ndarray, threshold: float) -> None:
        self.reference = np.asarray(reference, dtype=np.float32)
        self.threshold = threshold

    def is_usual(self, embedding: np.ndarray) -> bool:
        if len(self.reference) == 0:
            return False
        return float(np.max(self.reference @ embedding)) >= self.threshold


def _grown(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each array at twice its length (first axis), zeros after the old rows."""
    return tuple(np.concatenate([a, np.zeros_like(a)]) for a in arrays)


@dataclass(frozen=True)
class Candidates:
    """What a decision reads of the window's groups: the group slots of the tickets above the
    threshold with their cosines, the groups with several members with their centroid
    cosines, and every slot's member count."""

    close_slots: np.ndarray
    close_sims: np.ndarray
    multi: np.ndarray
    centroid: np.ndarray
    counts: np.ndarray


def _group_scores(
    rule: GroupingRule,
    found: Candidates,
    threshold: float,
    min_matches: int,
    dense: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The group slots that could match (a member above the threshold or several members), and
    per slot how similar the ticket is to it, or -inf when the rule does not match.

    Only these slots are looked at, so the cost does not grow with the number of unrelated
    tickets. A group of one has no centroid of its own (-inf) but for CENTROID.
    """
    slots = np.union1d(found.close_slots, found.multi)
    best_member = np.full(len(slots), -np.inf)
    np.maximum.at(best_member, np.searchsorted(slots, found.close_slots), found.close_sims)
    centroid = np.full(len(slots), -np.inf)
    centroid[np.searchsorted(slots, found.multi)] = found.centroid
    counts = found.counts[slots]
    if rule is GroupingRule.CENTROID:  # a lone ticket's centroid is the ticket itself
        own = np.where(counts == 1, best_member, centroid)
        return slots, np.where(own > threshold, own, -np.inf)
    if rule is GroupingRule.BURST:  # dense: every close group; else only a formed burst
        return slots, best_member if dense else np.where(counts > 1, best_member, -np.inf)
    if rule is GroupingRule.DENSE:
        hits = np.bincount(np.searchsorted(slots, found.close_slots), minlength=len(slots))
        return slots, np.where(
            (hits > 0) & (hits >= np.minimum(min_matches, counts)), best_member, -np.inf
        )
    by_centroid = centroid > threshold  # LINK and NEAREST; groups of one have -inf
    return slots, np.where(by_centroid, np.maximum(best_member, centroid), best_member)


@dataclass(frozen=True)
class DedupOutcome:
    decision: DedupDecision
    group_size: int  # window tickets in the joined group, the new one included
    action: IncidentAction


class Deduplicator:
    """Window + incident policy: feed tickets in arrival order, get what each one means."""

    def __init__(
        self,
        threshold: float,
        window_s: float = 300.0,
        incident_after: int = 10,
        dimension: int = 384,
        rule: GroupingRule | str = DEFAULT_RULE,
        min_matches: int = DEFAULT_MIN_MATCHES,
        usual_rate: UsualRate | None = None,
        novelty: Novelty | None = None,
        near_copy: float | None = None,
        cohesion: float | None = None,
    ) -> None:
        if min_matches < 1:
            raise ValueError(f"min_matches must be at least 1, got {min_matches}")
        self.threshold = threshold
        self.window_s = window_s
        self.incident_after = incident_after
        self.rule = GroupingRule(rule)
        self.min_matches = min_matches
        self.usual_rate = usual_rate  # BURST: discount a topic's ordinary rate (None: zero)
        self.novelty = novelty  # None: every ticket may group; else only new topics do
        # BURST: a ticket outside a burst links its near copies (above this cosine) only
        self.near_copy = near_copy
        # BURST: a burst's close tickets must be close to one another too (`cohesive`)
        self.cohesion = cohesion
        self.window = DedupWindow(dimension)

    def observe(
        self,
        ticket_id: str,
        embedding: np.ndarray,
        created_at: float,
        incidents: IncidentLookup,
    ) -> DedupOutcome:
        """Decide for one new ticket, apply its merges and add it to the window.

        A ticket that matches nothing starts a new group named after its own id, and so does
        a ticket of a usual topic when `novelty` is set (it stays in the window: it still
        counts, and later tickets may join it, only it links nothing itself).
        """
        self.window.prune(created_at - self.window_s)
        vector = np.asarray(embedding, dtype=np.float32).reshape(self.window.dimension)
        usual: float | Callable[[], float] = 0.0
        significance, floor = None, 0.0
        if self.usual_rate is not None and self.rule is GroupingRule.BURST:
            # a scan of the whole reference: only for a ticket that may be dense
            usual = functools.partial(
                self.usual_rate.expected, vector, self.threshold, len(self.window)
            )
            significance = self.usual_rate.significance
            floor = self.usual_rate.least_expected(len(self.window))
        decision = self.window.decide(
            vector,
            self.threshold,
            ticket_id,
            incidents,
            self.rule,
            self.min_matches,
            usual,
            significance,
            self.near_copy,
            self.cohesion,
            floor,
        )
        if decision.is_duplicate and self.novelty is not None and self.novelty.is_usual(vector):
            decision = DedupDecision(
                decision.similarity, False, ticket_id, (), decision.matched_ticket_id
            )
        self.window.merge(decision.group_id, decision.merged_groups)
        self.window.add(ticket_id, decision.group_id, embedding, created_at)
        size = self.window.group_size(decision.group_id)
        action = incident_action(size, self.incident_after, decision.joins_incident)
        if action is IncidentAction.CREATE and not self._is_cluster(decision.group_id):
            action = IncidentAction.NONE  # a chain of similar tickets, not one problem
        return DedupOutcome(decision, size, action)

    def _is_cluster(self, group_id: str) -> bool:
        """With a `cohesion` (BURST), whether the group's latest members are close to one
        another (`cohesive`); always true without one."""
        if self.cohesion is None or self.rule is not GroupingRule.BURST:
            return True
        members = self.window.members(group_id)[-COHESION_SAMPLE:]
        return cohesive(members, self.threshold, self.cohesion)
