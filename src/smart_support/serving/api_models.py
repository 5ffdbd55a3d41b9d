"""Request and response bodies of the HTTP API (see docs/api.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def openapi_nullable(schema: dict[str, Any]) -> None:
    """OpenAPI 3.0 has no "type": "null": publish `X | None` as X with `nullable: true`."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf", [])
        others = [o for o in options if o.get("type") != "null"]
        if len(options) == 2 and len(others) == 1 and "$ref" not in others[0]:
            del prop["anyOf"]
            prop.update(others[0], nullable=True)


OPENAPI = ConfigDict(json_schema_extra=openapi_nullable)


class TicketIn(BaseModel):
    """One incoming ticket. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=openapi_nullable)

    subject: str = Field(default="", description="ticket subject (may be empty)")
    body: str = Field(min_length=1, pattern=r"\S", description="ticket body (text, not blank)")
    language: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2}$", description="ISO 639-1 code; detected if absent"
    )
    customer_id: str | None = Field(default=None, max_length=200)


class DedupOut(BaseModel):
    model_config = OPENAPI

    is_duplicate: bool
    master_incident_id: str | None
    similarity: float


class RouteResult(BaseModel):
    model_config = OPENAPI

    ticket_id: str
    category: str
    confidence: float
    needs_review: bool
    urgency_score: float
    urgency_level: str
    model_used: str
    agent: str | None
    queue_position: int | None
    dedup: DedupOut
    latency_ms: float


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tickets: list[TicketIn] = Field(min_length=1, description="1 to max_batch (100) tickets")


class BatchOut(BaseModel):
    results: list[RouteResult]


class JobAccepted(BaseModel):
    job_id: str
    status: str


class JobOut(BaseModel):
    job_id: str
    status: str
    result: RouteResult | None = None
    error: str | None = None


class FeedbackIn(BaseModel):
    """An agent's correction: the ticket's right category (one the champion model knows) and,
    optionally, its right urgency level (one of conf/serve `urgency.levels`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=openapi_nullable)

    category: str = Field(min_length=1, max_length=100, description="the right category")
    urgency_level: str | None = Field(
        default=None, max_length=40, description="the right urgency level; absent: not corrected"
    )
