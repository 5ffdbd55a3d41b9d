"""The zero-shot department prior: descriptions, not data, decide where it pushes a ticket."""

import numpy as np
import pytest

from smart_support.models.prototypes import PrototypePrior, build_prior, load_descriptions

LABELS = ["Billing", "Legal", "Technical"]


def encode(texts):
    """A fake encoder: one axis per department word, so the prior's direction is known."""
    axes = {"invoice": 0, "contract": 1, "server": 2}
    out = np.zeros((len(texts), 3), dtype=np.float32)
    for i, text in enumerate(texts):
        for word, axis in axes.items():
            out[i, axis] += word in text.lower()
    return out + 1e-3


def prior() -> PrototypePrior:
    descriptions = {"Billing": ["an invoice"], "Legal": ["a contract"], "Technical": ["a server"]}
    return PrototypePrior(descriptions, weight=0.5, temperature=0.1).fit(LABELS, encode)


def test_the_prior_follows_the_descriptions() -> None:
    p = prior().prior(encode(["our contract ends", "the server is down"]))
    assert p.argmax(axis=1).tolist() == [1, 2]
    assert np.allclose(p.sum(axis=1), 1.0)


def test_blending_moves_a_supervised_mistake_towards_the_described_department() -> None:
    supervised = np.array([[0.2, 0.3, 0.5]])  # the data never showed this kind of Legal ticket
    blended = prior().blend(supervised, encode(["terminate our contract"]))
    assert blended.argmax() == 1 and np.isclose(blended.sum(), 1.0)


def test_the_shipped_descriptions_cover_every_class_in_both_languages() -> None:
    descriptions = load_descriptions("knowledge/departments.yaml")
    assert set(descriptions) == set(LABELS)
    assert all(len(v) >= 4 for v in descriptions.values())


def test_weight_zero_is_off_and_bad_settings_are_refused(tmp_path) -> None:
    assert build_prior({"weight": 0.0, "path": "knowledge/departments.yaml"}) is None
    with pytest.raises(ValueError, match="no department description"):
        PrototypePrior({"Billing": ["x"]}, 0.3, 0.1).fit(LABELS, encode)
    bad = tmp_path / "bad.yaml"
    bad.write_text("Billing: not a list\n")
    with pytest.raises(ValueError, match="bad.yaml"):
        load_descriptions(bad)


def test_the_model_embeds_with_the_backend_and_length_it_was_configured_with(monkeypatch) -> None:
    from smart_support.models import router_model

    calls = []

    class Fake:
        def encode(self, texts):
            return encode(texts)

    def fake_embedder(*args):
        calls.append(args)
        return Fake()

    monkeypatch.setattr(router_model, "shared_embedder", fake_embedder)
    spec = {"model": "packaged:all-MiniLM-L6-v2", "max_seq_length": 32, "backend": "onnx-int8"}
    model = router_model.RouterModel("m2", classifier=None, urgency=None, embedding=spec)
    model.embed(["an invoice"])
    assert calls == [("packaged:all-MiniLM-L6-v2", 32, "onnx-int8", 0)]


def test_feature_vectors_reach_only_a_model_that_reads_them() -> None:
    from smart_support.models.router_model import RouterModel

    vectors = encode(["an invoice"])
    m2 = RouterModel("m2", classifier=None, urgency=None, prior=prior())
    m3 = RouterModel("m3", classifier=None, urgency=None, uses_embeddings=True)
    assert m2.feature_vectors(vectors) is None  # the prior embeds with its own encoder
    assert m3.feature_vectors(vectors) is vectors
