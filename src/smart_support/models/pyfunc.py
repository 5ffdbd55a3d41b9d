"""The MLflow pyfunc flavour of a RouterModel: subject/body rows in, routing columns out."""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd

from smart_support.models.router_model import RouterModel
from smart_support.text import ticket_text

# familiar: False when the ticket is unlike every training ticket (send it to review).
OUTPUT_COLUMNS = ["category", "confidence", "urgency_score", "familiar"]


def texts_from_frame(frame: pd.DataFrame) -> list[str]:
    missing = {"subject", "body"} - set(frame.columns)
    if missing:
        raise ValueError(f"input needs columns subject and body; missing {sorted(missing)}")
    return [ticket_text(s, b) for s, b in zip(frame["subject"], frame["body"], strict=True)]


def predict_frame(model: RouterModel, frame: pd.DataFrame) -> pd.DataFrame:
    prediction = model.predict(texts_from_frame(frame))
    familiar = (
        np.ones(len(frame), dtype=bool) if prediction.familiar is None else prediction.familiar
    )
    return pd.DataFrame(
        {
            "category": prediction.categories,
            "confidence": prediction.confidences.astype(float),
            "urgency_score": prediction.urgency.astype(float),
            "familiar": np.asarray(familiar, dtype=bool),
        }
    )


class RouterPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    def __init__(self, router: RouterModel) -> None:
        self.router = router

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return predict_frame(self.router, pd.DataFrame(model_input))


def log_router_model(router: RouterModel, input_example: pd.DataFrame) -> str:
    """Log into the active run as artifact `model`; returns the model URI. The input example
    (real tickets) is stored with personal data redacted."""
    from mlflow.models import infer_signature

    from smart_support.redaction import redact

    input_example = input_example.map(lambda v: redact(v) if isinstance(v, str) else v)
    signature = infer_signature(input_example, predict_frame(router, input_example))
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=RouterPyfunc(router),
        signature=signature,
        input_example=input_example,
    )
    return str(info.model_uri)


def load_router(model_uri: str) -> RouterModel:
    """Load the RouterModel behind a pyfunc URI (runs:/…, models:/name@alias)."""
    return unwrap(mlflow.pyfunc.load_model(model_uri))


def unwrap(pyfunc_model: Any) -> RouterModel:
    wrapper = pyfunc_model.unwrap_python_model()
    router = getattr(wrapper, "router", None)
    if not isinstance(router, RouterModel):
        raise TypeError("this MLflow model is not a Smart-Support router (RouterPyfunc)")
    return router
