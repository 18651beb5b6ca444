"""The published results (``rnnkit reproduce --list``): each command is the one its page
quotes, each range the spread measured on the machines named in docs/results.md.

A new result (VQA, say) is one more ``Entry`` here, with the command its page quotes; then a
row in the README's results table naming it (or in docs/results.md's), and, if the command
leaves its budget to a default, that default in tests/reproduce/test_entries.py
``default_budgets``. tests/reproduce checks the rest: the command is documented and parses,
and it runs at a tiny scale (with the tiny sizes of tests/cli/test_documented_commands.py's
``TINY``) with every figure read back.
"""

from __future__ import annotations

from rnnkit.reproduce.entries import Entry, Metric

CLASSIFY = "rnnkit train classify --dataset"
NAMES_FLAGS = (
    "--cell gru --hidden-size 256 --bidirectional --pooling max --dropout 0.3 "
    "--embedding-dropout 0.2 --optimizer adamw --weight-decay 0.1 --lr 3e-3 --max-steps 12000 "
    "--eval-every 500 --threads 1"
)
SENTIMENT_FLAGS = (
    "--bidirectional --pooling mean --embedding-size 128 --dropout 0.5 --embedding-dropout 0.5 "
    "--optimizer adamw --weight-decay 0.3 --lr 5e-3 --max-steps 2500 --eval-every 100 --threads 1"
)
ADDING_RUNS = "runs/experiments-*/adding"

ENTRIES: tuple[Entry, ...] = (
    Entry(
        name="charlm-quick",
        about="character model, quick preset: 2x256 LN-GRU on a CPU (LSTM on a GPU), 560 s",
        command="rnnkit train charlm --preset quick --out runs/quick",
        budget_flag="--time-budget",
        budget="560s",
        budget_s=660,
        metrics=(
            Metric(
                "best val nats/char",
                "metrics",
                "val_nats",
                1.35,
                1.47,
                "1.421",
                path="runs/quick/metrics.jsonl",
                reduce="min",
            ),
        ),
        quoted_in="README.md",
    ),
    Entry(
        name="adding",
        about="adding problem, T=200: the GRU solves it, the tanh RNN never beats the trivial MSE",
        command="rnnkit experiment adding --cells rnn,lstm,gru --seq-len 200 --time-budget 5m",
        budget_flag="--time-budget",
        budget="5m",
        budget_s=960,
        metrics=(
            Metric(
                "GRU test MSE",
                "metrics",
                "test_mse",
                0.0,
                0.01,
                "< 0.01 from step 400",
                path=f"{ADDING_RUNS}/gru-T200/metrics.jsonl",
            ),
            Metric(  # its best: the claim is that it never gets below the trivial MSE
                "tanh RNN best test MSE",
                "metrics",
                "test_mse",
                0.15,
                0.19,
                "0.171",
                path=f"{ADDING_RUNS}/rnn-T200/metrics.jsonl",
                reduce="min",
            ),
        ),
        quoted_in="docs/experiments.md",
    ),
    Entry(
        name="exploding",
        about="tanh RNN with every singular value of W_hh at 2, SGD with and without clipping",
        command="rnnkit experiment exploding --json",
        budget_flag="--steps",
        budget="1500",
        budget_s=120,
        metrics=(
            Metric(
                "||dL/dh_0|| at T=200", "stdout", "grad_norm_by_seq_len/200", 1e12, 1e14, "1.1e13"
            ),
            Metric(
                "unclipped: diverged at step", "stdout", "results/0/diverged_at_step", 15, 30, "20"
            ),
            Metric("clipped: final MSE", "stdout", "results/1/final_loss", 0.05, 0.3, "0.125"),
        ),
        quoted_in="docs/experiments.md",
        device_flag=False,  # a plain SGD loop on the CPU: a 32 x 64 batch gains nothing elsewhere
        least=30,  # the unclipped run diverges near step 20: a smoke run must get there
    ),
    Entry(
        name="names",
        about="surname -> origin (18 classes), bi-GRU with max pooling, 12,000 steps",
        command=f"{CLASSIFY} names {NAMES_FLAGS}",
        budget_flag="--max-steps",
        budget="12000",
        budget_s=330,
        metrics=(
            Metric(
                "test accuracy",
                "evaluate",
                "accuracy",
                0.675,
                0.71,
                "0.690",
                path="runs/classify-names-*",
            ),
        ),
        quoted_in="docs/classify.md",
        fetch=("names",),
    ),
    Entry(
        name="sentiment",
        about="movie-snippet sentiment, bi-LSTM with mean pooling, 2,500 steps",
        command=f"{CLASSIFY} sentiment {SENTIMENT_FLAGS}",
        budget_flag="--max-steps",
        budget="2500",
        budget_s=180,
        metrics=(
            Metric(
                "test accuracy",
                "evaluate",
                "accuracy",
                0.80,
                0.85,
                "0.825",
                path="runs/classify-sentiment-*",
            ),
        ),
        quoted_in="docs/classify.md",
        fetch=("sentiment",),
    ),
    Entry(
        name="pos",
        about="part-of-speech tagger (WSJ sample), bi-LSTM with character features",
        command="rnnkit train tag --dataset pos --char-features --max-steps 1200 --threads 1",
        budget_flag="--max-steps",
        budget="1200",
        budget_s=150,
        metrics=(
            Metric(
                "test token accuracy",
                "evaluate",
                "accuracy",
                0.92,
                0.95,
                "0.934",
                path="runs/tag-pos-*",
            ),
        ),
        quoted_in="docs/classify.md",
        fetch=("pos",),
    ),
    Entry(
        name="translation",
        about="English -> Spanish Bible verses (<= 20 words), additive attention, 15 minutes",
        command="rnnkit train seq2seq --dataset bible --max-words 20 --attention additive "
        "--threads 1 --time-budget 15m --json",
        budget_flag="--time-budget",
        budget="15m",
        budget_s=1080,
        metrics=(
            Metric(
                "test BLEU, beam 5",
                "json",
                "bleu",
                18.0,
                23.5,
                "20.85",
                path="runs/seq2seq-bible-*/test-scores.json",
            ),
            Metric(
                "test BLEU, greedy",
                "json",
                "bleu_greedy",
                17.0,
                22.5,
                "19.77",
                path="runs/seq2seq-bible-*/test-scores.json",
            ),
        ),
        quoted_in="docs/translation.md",
        fetch=("bible",),
    ),
    Entry(
        name="captioning",
        about="emoji captions (unseen emoji), CNN + LSTM with soft attention, 7,500 steps",
        command="rnnkit train caption --dataset emoji --conditioning attention --select bleu "
        "--length-penalty 0.8 --max-steps 7500 --time-budget 30m "
        "--out runs/caption-emoji-attention-bleu",
        budget_flag="--max-steps",
        budget="7500",
        budget_s=960,
        metrics=(
            Metric(
                "test BLEU, beam 3",
                "json",
                "bleu_beam",
                15.5,
                21.5,
                "18.34",
                path="runs/caption-emoji-attention-bleu/test-captions.json",
            ),
            Metric(
                "attention on the emoji",
                "json",
                "attention_on_emoji",
                0.62,
                0.82,
                "0.723",
                path="runs/caption-emoji-attention-bleu/test-captions.json",
            ),
        ),
        quoted_in="docs/caption.md",
        fetch=("emoji",),
    ),
    Entry(
        name="forecast-airline",
        about="airline passengers, recursive LSTM forecaster, 3 minutes",
        command="rnnkit train forecast --dataset airline --json",
        budget_flag="--time-budget",
        budget="3m",
        budget_s=240,
        metrics=(
            Metric(
                "test MAE", "evaluate", "mae", 8.0, 15.5, "11.81", path="runs/forecast-airline-*"
            ),
        ),
        quoted_in="docs/forecast.md",
        fetch=("airline",),
    ),
    Entry(
        name="vqa",
        about="visual question answering on 3x3 scenes of digits: the model and its two "
        "trained baselines, 3,000 steps each",
        command="rnnkit train vqa --max-steps 3000 --threads 1",
        budget_flag="--max-steps",
        budget="3000",
        budget_s=1500,
        metrics=(
            Metric(
                "test accuracy, greedy",
                "json",
                "accuracy",
                0.78,
                0.93,
                "0.859",
                path="runs/vqa-digits-3x3-multiplicative-*/test-answers.json",
            ),
            Metric(
                "test pointing accuracy (chance 0.111)",
                "json",
                "pointing_accuracy",
                0.95,
                1.0,
                "0.994",
                path="runs/vqa-digits-3x3-multiplicative-*/test-answers.json",
            ),
        ),
        quoted_in="docs/vqa.md",
        fetch=("digits",),
    ),
)


def get_entries(names: list[str] | None = None) -> list[Entry]:
    """The entries named (all of them for none), in the order named; an unknown name is a
    one-line ValueError listing the known ones."""
    known = {entry.name: entry for entry in ENTRIES}
    if not names:
        return list(ENTRIES)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown reproduce entry {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    return [known[name] for name in dict.fromkeys(names)]


def total_budget_s(entries: list[Entry] | None = None) -> int:
    """The declared wall time of full runs of ``entries`` (default: all), in seconds."""
    return sum(entry.budget_s for entry in (ENTRIES if entries is None else entries))
