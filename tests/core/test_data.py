"""The engine's data path: device-resident and streamed sources walk the same resumable order."""

import pytest
import torch
from torch.utils.data import Dataset

from ganx.core.data import DeviceTensorSource, StreamingSource, make_source

CPU = torch.device("cpu")


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return torch.tensor([i * i])


def take(source, k):
    return [source.next()[0].flatten().tolist() for _ in range(k)]


def test_device_and_streaming_sources_agree_and_resume_exactly():
    tensors = (torch.arange(10).pow(2).unsqueeze(1),)
    device = DeviceTensorSource(tensors, 3, CPU, seed=7)
    stream = StreamingSource(Squares(), 3, CPU, seed=7, num_workers=0)
    first = take(device, 5)
    assert first == take(stream, 5)
    # every epoch (3 full batches of 10 items) visits distinct items
    assert len({x for batch in first[:3] for x in batch}) == 9
    state = device.state_dict()
    rest = take(device, 4)
    again = DeviceTensorSource(tensors, 3, CPU, seed=7)
    again.load_state_dict(state)
    assert take(again, 4) == rest
    stream.load_state_dict(state)
    assert take(stream, 4) == rest


def test_small_tensor_data_stays_on_the_device_and_large_streams():
    data = torch.zeros(100, 4, dtype=torch.uint8)
    assert isinstance(make_source(data, 10, CPU, 0, 0, device_limit_mb=1), DeviceTensorSource)
    big = torch.zeros(2**20 + 1, dtype=torch.uint8)
    assert isinstance(make_source(big, 10, CPU, 0, 0, device_limit_mb=1), StreamingSource)


@pytest.mark.parametrize("limit_mb", [100, 0], ids=["device", "streaming"])
def test_a_batch_larger_than_the_dataset_repeats_samples(caplog, limit_mb):
    items = torch.arange(25)
    with caplog.at_level("WARNING", logger="ganx"):
        source = make_source(items, 64, CPU, 0, 0, limit_mb)
    assert "batch_size 64 is larger than the dataset (25 samples)" in caplog.text
    assert "each sample 2 or 3 times" in caplog.text
    for _ in range(4):
        (batch,) = source.next()
        counts = torch.bincount(batch, minlength=25)
        assert len(batch) == 64 and set(counts.tolist()) <= {2, 3}
    state = source.state_dict()
    rest = [source.next()[0].tolist() for _ in range(3)]
    again = make_source(items, 64, CPU, 0, 0, limit_mb)
    again.load_state_dict(state)
    assert [again.next()[0].tolist() for _ in range(3)] == rest
