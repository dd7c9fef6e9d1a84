"""Average the weights of networks fine-tuned from the same start (a uniform "model soup").

    python -m training.soup OUT.safetensors CHECKPOINT CHECKPOINT [CHECKPOINT ...]

Fine-tunes of one network with a low learning rate stay in one basin of the loss, so the mean of their weights
is itself a network, often better than each of them: each run's own noise averages out (Wortsman et al. 2022,
"Model soups"). All checkpoints must share the network configuration (architecture, input size, outputs, crop
rule, input mask), except that a network shipped reading each crop both ways joins its fine-tunes (the soup reads
both ways: a way of reading, not of the weights), and a masked network may join split ones (``--input-mask split``
fine-tunes of it): its first layer is padded with zeros as ``train.started_from`` starts such a fine-tune, so it
reads as before. A soup of a fine-tune and its start trades what the fine-tune gained for what it lost (Wortsman et
al. 2022, "Robust fine-tuning of zero-shot models"). The soup is scored and shipped like any trained checkpoint
(``training.evaluate``, ``training.ship``). BatchNorm statistics are averaged with the weights
(``torch.optim.swa_utils``, as the training run's moving average).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from torch.optim.swa_utils import AveragedModel

from inversefacenet.checkpoint import CheckpointError, load_network, save_checkpoint
from training.train import started_from


def soup(checkpoints: list[Path], out: Path) -> Path:
    """Write the uniform average of ``checkpoints``' weights to ``out`` (with its JSON sidecar naming them)."""
    if len(checkpoints) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    loaded = [load_network(path) for path in checkpoints]
    config = next((c for _, c in loaded if c.input_mask == "split"), loaded[0][1])
    config = replace(config, mirror_reading=any(c.mirror_reading for _, c in loaded))  # how it reads, not its weights
    networks = []
    for path, (network, other) in zip(checkpoints, loaded, strict=True):
        other = replace(other, mirror_reading=config.mirror_reading)
        if other.input_mask == "face" and replace(other, input_mask="split") == config:
            network = started_from(config, network)  # widened: its first layer padded with zeros
        elif other != config:
            raise CheckpointError(f"{path} is another network than {checkpoints[0]}: {other} vs {config}")
        networks.append(network)
    average = AveragedModel(networks[0], use_buffers=True)  # a running mean with equal weights, from its first update
    for network in networks:
        average.update_parameters(network)
    return save_checkpoint(out, average.module, config, {"soup_of": [str(p) for p in checkpoints]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("checkpoints", type=Path, nargs="+")
    args = parser.parse_args(argv)
    print(soup(args.checkpoints, args.out))


if __name__ == "__main__":
    main()
