"""What a metric adds to the protocol of its values (see `ganx.core.metric_protocol`).

    from ganx.metrics import note_features, note_protocol

    net = feature_extractor("inception")
    note_features(net)                         # name, weights SHA-256, input resize
    note_protocol(sample_rate=16000)           # anything else lands in `details`

Outside an evaluation both do nothing, so a metric stays callable on its own.
"""

from __future__ import annotations

from typing import Any

from ganx.core.metric_protocol import MetricProtocol, note_protocol

__all__ = ["MetricProtocol", "note_features", "note_protocol"]


def note_features(extractor: Any) -> None:
    """Note a feature extractor: its `name`, `weights_sha256` (else its `digest`) and `resize`
    (else `none`)."""
    note_protocol(features=str(extractor.name),
                  features_sha256=str(getattr(extractor, "weights_sha256", "")
                                      or extractor.digest),
                  resize=str(getattr(extractor, "resize", "") or "none"))
