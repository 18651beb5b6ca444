"""``rnnkit demo``: a small LSTM learns a toy sequence; the loss falls as you watch."""

from __future__ import annotations

from rnnkit.cli.numbers import positive_int, seed
from rnnkit.demo import TOY_TEXT, chance_loss, train_toy_lstm


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train a small LSTM on a toy sequence and print the loss falling",
        description=__doc__,
    )
    parser.add_argument("--steps", type=positive_int, default=300, help="training steps (300)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.set_defaults(func=demo_command)


def demo_command(args) -> int:
    vocab = len(set(TOY_TEXT))
    print(f"Training an LSTM (rnnkit.nn.LSTM, 64 hidden units) to continue {TOY_TEXT!r}")
    print(f"chance level: ln({vocab}) = {chance_loss(vocab):.3f} nats/char")
    result = train_toy_lstm(
        steps=args.steps,
        seed=args.seed,
        report=lambda step, loss: print(f"step {step:4d}  loss {loss:.4f} nats/char", flush=True),
    )
    print(f"sample (greedy, primed with 'h'): {result.sample!r}")
    return 0
