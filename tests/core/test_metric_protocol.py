"""The protocol record of metric values: its JSON form, its comparison and what metrics note."""

from __future__ import annotations

import dataclasses

from ganx.core.metric_protocol import MetricProtocol, collecting, note_protocol, with_notes


def sample() -> MetricProtocol:
    return MetricProtocol(features="inception", features_sha256="ab" * 32,
                          resize="tf1-legacy-bilinear 299x299", n_generated=64, n_real=64,
                          reference="fashion-mnist", reference_split="test",
                          reference_count=10000, reference_digest="cd" * 32, seed=3,
                          precision="bf16", device="cpu", ganx_version="1", torch_version="2",
                          details={"sample_rate": 16000})


def test_to_dict_round_trips_through_from_dict():
    record = sample()
    data = record.to_dict()
    assert data["features"] == "inception" and data["details"] == {"sample_rate": 16000}
    assert set(data) == {f.name for f in dataclasses.fields(MetricProtocol)}
    assert MetricProtocol.from_dict(data) == record


def test_from_dict_keeps_unknown_keys_as_details():
    data = {**sample().to_dict(), "window": "soft_tissue"}
    assert MetricProtocol.from_dict(data).details == {"sample_rate": 16000,
                                                      "window": "soft_tissue"}


def test_differences_name_fields_and_details_but_not_the_seed():
    a = sample()
    b = dataclasses.replace(a, seed=7, resize="bicubic 299x299",
                            details={"sample_rate": 22050})
    assert a.differences(b) == ["resize", "details.sample_rate"]
    assert a.differences(b, ignore=()) == ["resize", "seed", "details.sample_rate"]
    assert a.differences(dataclasses.replace(a, seed=9)) == []


def test_notes_outside_an_evaluation_go_nowhere_and_inside_merge():
    note_protocol(features="lost")  # no evaluation: nothing to collect into, no error
    with collecting() as notes:
        note_protocol(features="inception", resize="none", clip_seconds=1.0)
        note_protocol(features="inception")
        note_protocol(features="audio-digits")
    assert notes == {"features": "inception, audio-digits", "resize": "none",
                     "clip_seconds": 1.0}
    made = with_notes(MetricProtocol(n_real=5), notes)
    assert made.features == "inception, audio-digits" and made.n_real == 5
    assert made.details == {"clip_seconds": 1.0}
