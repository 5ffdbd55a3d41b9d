"""Semantic dedup: which recent group a new ticket joins, and when a group becomes an incident.

Embeddings are unit-normalised, so cosine similarity is a dot product. How a new ticket
picks its group is a GroupingRule. The default, LINK, makes a ticket a duplicate when its
best cosine - against any ticket in the window or against the centroid of a multi-ticket
group - exceeds the threshold; it joins that group, and a ticket that matches several
groups bridges them and they merge (transitive grouping). Transitivity chains real tickets
on a shared topic, so the threshold must be high (0.85): docs/dedup_threshold.md measures
the rules and thresholds on real ticket traffic with injected floods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


@dataclass(frozen=True)
class DedupDecision:
    similarity: float  # best cosine to a window ticket or group centroid; 0.0 when none
    is_duplicate: bool
    group_id: str  # the group joined, or the caller's new group id when none matched
    merged_groups: tuple[str, ...]  # other matching groups folded into group_id
    matched_ticket_id: str | None  # most similar window ticket, None when the window is empty


class GroupingRule(StrEnum):
    """Which window groups a new ticket may join; docs/dedup_threshold.md compares them."""

    LINK = "link"  # a member or multi-ticket centroid above threshold; bridges merge groups
    NEAREST = "nearest"  # as LINK, but the ticket joins one group and nothing merges
    CENTROID = "centroid"  # only a group centroid (a lone ticket is its own) above threshold
    DENSE = "dense"  # min(min_matches, group size) members above threshold; no merges


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


class DedupWindow:
    """The recent tickets dedup compares against, with running per-group sums for centroids."""

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension
        self._vectors = np.zeros((64, dimension), dtype=np.float32)
        self._times = np.zeros(64, dtype=np.float64)
        self.ticket_ids: list[str] = []
        self.group_ids: list[str] = []
        self._sums: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ticket_ids)

    @property
    def embeddings(self) -> np.ndarray:
        return self._vectors[: len(self)]

    def group_size(self, group_id: str) -> int:
        return self._counts.get(group_id, 0)

    def add(self, ticket_id: str, group_id: str, embedding: np.ndarray, created_at: float) -> None:
        n = len(self)
        if n == len(self._vectors):
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
            self._times = np.concatenate([self._times, np.zeros_like(self._times)])
        vector = np.asarray(embedding, dtype=np.float32).reshape(self.dimension)
        self._vectors[n] = vector
        self._times[n] = created_at
        self.ticket_ids.append(ticket_id)
        self.group_ids.append(group_id)
        self._sums[group_id] = self._sums.get(group_id, 0.0) + vector
        self._counts[group_id] = self._counts.get(group_id, 0) + 1

    def prune(self, before: float) -> None:
        """Forget tickets created before `before` (the start of the window)."""
        n = len(self)
        keep = self._times[:n] >= before
        if keep.all():
            return
        rows = np.flatnonzero(keep)
        for i in np.flatnonzero(~keep):
            group = self.group_ids[i]
            self._sums[group] = self._sums[group] - self._vectors[i]
            self._counts[group] -= 1
            if self._counts[group] == 0:
                del self._sums[group], self._counts[group]
        self._vectors[: len(rows)] = self._vectors[rows]
        self._times[: len(rows)] = self._times[rows]
        self.ticket_ids = [self.ticket_ids[i] for i in rows]
        self.group_ids = [self.group_ids[i] for i in rows]

    def merge(self, into: str, groups: Sequence[str]) -> None:
        """Relabel the tickets of `groups` as members of `into` (a bridging ticket arrived)."""
        for group in groups:
            if group == into or group not in self._counts:
                continue
            self._sums[into] = self._sums.get(into, 0.0) + self._sums.pop(group)
            self._counts[into] = self._counts.get(into, 0) + self._counts.pop(group)
        folded = set(groups)
        self.group_ids = [into if g in folded else g for g in self.group_ids]

    def decide(
        self,
        embedding: np.ndarray,
        threshold: float,
        new_group_id: str,
        has_incident: Callable[[str], bool] = lambda group: False,
        rule: GroupingRule | str = DEFAULT_RULE,
        min_matches: int = DEFAULT_MIN_MATCHES,
    ) -> DedupDecision:
        """Compare one new ticket with the window; the window itself is not changed.

        The ticket joins the most similar matching group that already has an incident, else
        the most similar matching group. Under LINK the other matching groups without an
        incident are folded into it (transitive grouping); groups with their own incident
        never merge. The other rules never merge.
        """
        if len(self) == 0:
            return DedupDecision(0.0, False, new_group_id, (), None)
        rule = GroupingRule(rule)
        query = np.asarray(embedding, dtype=np.float32).reshape(self.dimension)
        sims = self.embeddings @ query
        best = int(np.argmax(sims))
        groups = list(self._counts)
        index = {group: i for i, group in enumerate(groups)}
        member_group = np.fromiter((index[g] for g in self.group_ids), np.intp, len(self))
        counts = np.array([self._counts[g] for g in groups])
        sums = np.stack([self._sums[g] for g in groups])
        centroid = (sums @ query) / np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        multi = counts > 1
        similarity = max(float(sims[best]), float(centroid[multi].max(initial=-1.0)))
        score = _group_scores(rule, sims, member_group, centroid, counts, threshold, min_matches)
        matching = np.flatnonzero(score > -np.inf)
        if len(matching) == 0:
            return DedupDecision(similarity, False, new_group_id, (), self.ticket_ids[best])
        ranked = [groups[i] for i in matching[np.argsort(-score[matching], kind="stable")]]
        with_incident = [group for group in ranked if has_incident(group)]
        target = with_incident[0] if with_incident else ranked[0]
        merged: tuple[str, ...] = ()
        if rule is GroupingRule.LINK:
            merged = tuple(g for g in ranked if g != target and g not in with_incident)
        return DedupDecision(similarity, True, target, merged, self.ticket_ids[best])


def _group_scores(
    rule: GroupingRule,
    sims: np.ndarray,
    member_group: np.ndarray,
    centroid: np.ndarray,
    counts: np.ndarray,
    threshold: float,
    min_matches: int,
) -> np.ndarray:
    """Per group: how similar the ticket is to it, or -inf when the rule does not match it."""
    best_member = np.full(len(counts), -np.inf)
    np.maximum.at(best_member, member_group, sims)
    above = best_member > threshold
    if rule is GroupingRule.CENTROID:  # a lone ticket's centroid is the ticket itself
        return np.where(centroid > threshold, centroid, -np.inf)
    if rule is GroupingRule.DENSE:
        hits = np.bincount(member_group[sims > threshold], minlength=len(counts))
        return np.where(hits >= np.minimum(min_matches, counts), best_member, -np.inf)
    by_centroid = (counts > 1) & (centroid > threshold)  # LINK and NEAREST
    score = np.where(above, best_member, -np.inf)
    return np.where(by_centroid, np.maximum(score, centroid), score)


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
    ) -> None:
        if min_matches < 1:
            raise ValueError(f"min_matches must be at least 1, got {min_matches}")
        self.threshold = threshold
        self.window_s = window_s
        self.incident_after = incident_after
        self.rule = GroupingRule(rule)
        self.min_matches = min_matches
        self.window = DedupWindow(dimension)

    def observe(
        self,
        ticket_id: str,
        embedding: np.ndarray,
        created_at: float,
        has_incident: Callable[[str], bool],
    ) -> DedupOutcome:
        """Decide for one new ticket, apply its merges and add it to the window.

        A ticket that matches nothing starts a new group named after its own id.
        """
        self.window.prune(created_at - self.window_s)
        decision = self.window.decide(
            embedding, self.threshold, ticket_id, has_incident, self.rule, self.min_matches
        )
        self.window.merge(decision.group_id, decision.merged_groups)
        self.window.add(ticket_id, decision.group_id, embedding, created_at)
        size = self.window.group_size(decision.group_id)
        action = incident_action(size, self.incident_after, has_incident(decision.group_id))
        return DedupOutcome(decision, size, action)
