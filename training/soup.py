"""Average the weights of networks fine-tuned from the same start (a uniform "model soup").

    python -m training.soup OUT.safetensors CHECKPOINT CHECKPOINT [CHECKPOINT ...]

Fine-tunes of one network with a low learning rate stay in one basin of the loss, so the mean of their weights
is itself a network, often better than each of them: each run's own noise averages out (Wortsman et al. 2022,
"Model soups"). All checkpoints must share the network configuration (architecture, input size, outputs, crop
rule, input mask); the soup is scored and shipped like any trained checkpoint (``training.evaluate``,
``training.ship``). BatchNorm statistics are averaged with the weights (``torch.optim.swa_utils``, as the
training run's moving average).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torch.optim.swa_utils import AveragedModel

from inversefacenet.checkpoint import CheckpointError, load_network, save_checkpoint


def soup(checkpoints: list[Path], out: Path) -> Path:
    """Write the uniform average of ``checkpoints``' weights to ``out`` (with its JSON sidecar naming them)."""
    if len(checkpoints) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    first, config = load_network(checkpoints[0])
    average = AveragedModel(first, use_buffers=True)  # a running mean with equal weights, from its first update
    average.update_parameters(first)
    for path in checkpoints[1:]:
        network, other = load_network(path)
        if other != config:
            raise CheckpointError(f"{path} is another network than {checkpoints[0]}: {other} vs {config}")
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
