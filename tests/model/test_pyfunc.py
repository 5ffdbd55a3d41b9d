"""log → load → predict through MLflow gives what the in-memory model gives."""

import mlflow
import pandas as pd
import pytest

from smart_support.models.pyfunc import load_router, log_router_model, predict_frame


@pytest.fixture
def tracking(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    mlflow.set_experiment("test")
    yield
    mlflow.set_tracking_uri(None)


def test_pyfunc_round_trip_is_identical(tracking, tiny_m2, tiny_splits) -> None:
    frame = tiny_splits["test"].frame[["subject", "body"]]
    with mlflow.start_run():
        uri = log_router_model(tiny_m2, frame.head(3))
    loaded = mlflow.pyfunc.load_model(uri).predict(frame)
    pd.testing.assert_frame_equal(loaded, predict_frame(tiny_m2, frame))
    assert list(loaded.columns) == ["category", "confidence", "urgency_score", "familiar"]
    assert load_router(uri).labels == tiny_m2.labels


def test_pyfunc_rejects_rows_without_body(tracking, tiny_m2) -> None:
    with pytest.raises(ValueError, match="missing"):
        predict_frame(tiny_m2, pd.DataFrame({"subject": ["x"]}))


def test_the_logged_input_example_carries_no_personal_data(tracking, tiny_m2) -> None:
    example = pd.DataFrame(
        {
            "subject": ["Call +49 30 12345678"],
            "body": ["Mail jane.doe@example.com, card 4111 1111 1111 1111"],
        }
    )
    with mlflow.start_run():
        uri = log_router_model(tiny_m2, example)
    text = mlflow.pyfunc.load_model(uri).input_example.to_json()
    assert "12345678" not in text and "jane.doe" not in text and "4111" not in text
    assert "[phone]" in text and "[email]" in text and "[card]" in text


def test_a_prior_on_the_onnx_int8_encoder_round_trips(tracking, tiny_splits) -> None:
    """The prior's encoder (exported offline into SMART_SUPPORT_CACHE on first use) is named
    in the pickled model, so the loaded model embeds as the trained one did."""
    from tests.helpers import fit

    spec = {"model": "packaged:all-MiniLM-L6-v2", "max_seq_length": 32, "backend": "onnx-int8"}
    prototypes = {"path": "knowledge/departments.yaml", "embedding": spec}
    model = fit(
        "m2", tiny_splits, slot="m2", prototypes={**prototypes, "weight": 0.3, "temperature": 0.1}
    )
    frame = tiny_splits["test"].frame[["subject", "body"]]
    with mlflow.start_run():
        uri = log_router_model(model, frame.head(3))
    loaded = load_router(uri)
    assert loaded.embedding == spec
    assert loaded.embed(["x"]).shape == (1, 384)
    pd.testing.assert_frame_equal(
        mlflow.pyfunc.load_model(uri).predict(frame), predict_frame(model, frame)
    )
