"""Visual question answering: the Trainer's hooks, the scores, and the data of a run.

    rnnkit data fetch digits && rnnkit train vqa --max-steps 3000
    rnnkit evaluate runs/vqa-digits-3x3-multiplicative-<time>       # test, and novel beside it
    rnnkit predict runs/vqa-digits-3x3-multiplicative-<time> "how many sevens are there ?" --image 4

Scenes and questions: ``rnnkit.data.vqa_scenes``; the model: ``rnnkit.models.vqa``. The
vocabulary is every word the question templates and answers can have
(``rnnkit.data.vqa_scenes.vocabulary``), after ``<unk> <pad> <start> <end>`` as the
captioner's; ``<start>`` begins the answer. Batch ``k`` is drawn by a
generator seeded with ``(seed, k)``, so a resumed run sees the batches it would have.

Scores (``score``): the mean loss, the greedy answers' exact-match accuracy per question
type and overall, beam search's (``decoding.beam_size``), and pointing accuracy on the
``where`` questions beside chance (1 / regions). The baselines (``rnnkit.tasks.vqa_baselines``)
are fitted before the run and scored the same way on val, test and novel.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.images import load_images
from rnnkit.data.vocab import Vocab
from rnnkit.data.vqa_scenes import (
    QUESTION_TYPES,
    SceneData,
    fingerprint,
    make_scenes,
    vocabulary,
)
from rnnkit.generation.beam_search import beam_search
from rnnkit.generation.sampling import evaluating
from rnnkit.models.vqa import VQAModel, combined_loss
from rnnkit.tasks.caption_tensors import (
    END_ID,
    NEVER_GENERATED,
    PAD_ID,
    START_ID,
    build_vocab,
    check_vocab,
    decode_caption,
    teacher_forcing_batch,
)
from rnnkit.tasks.vqa_config import VQAConfig
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput

TASK_NAME = "vqa"
EVAL_BATCH = 512
SPLITS = ("train", "val", "test", "novel")


class VQATask:
    """The Trainer's hooks (``rnnkit.training.task``) for VQA."""

    loss_unit = "nats/word + nats/pointing"  # VQAModel.forward
    one_process = True  # scenes (N, ...) beside time-major answers (T, N): not under torchrun

    def __init__(self, config: VQAConfig, data: SceneData, vocab: Vocab):
        check_vocab(vocab)
        self.config, self.data, self.vocab = config, data, vocab
        self.splits = data.splits
        if len(self.splits["train"]) == 0 or len(self.splits["val"]) == 0:
            raise ValueError("the scenes have no training or validation questions")
        self.scenes = torch.from_numpy(data.scenes)
        self.question_ids = [self.encode(q.text) for q in data.questions]
        self.answer_ids = [self.encode(q.answer) for q in data.questions]
        self.regions = torch.tensor([q.region for q in data.questions])
        self.cell = data.scenes.shape[1] // data.rules.grid
        error = config.selection.metric == "error"
        self.eval_metric = "val_error" if error else "val_loss"

    def encode(self, text: str) -> list[int]:
        return [self.vocab.stoi.get(word, 0) for word in text.split()]

    def build_model(self, inputs: str | None = None) -> VQAModel:
        config = self.config.model
        if inputs is not None:
            config = type(config)(**{**asdict(config), "inputs": inputs})
        return VQAModel(config, len(self.vocab), PAD_ID, self.data.rules.grid, self.cell)

    def batch(self, indices) -> tuple[tuple, tuple]:
        """``((scenes, questions, lengths, answer_in), (answer_out, regions))`` of questions
        ``indices``."""
        indices = [int(i) for i in indices]
        rows = [self.question_ids[i] for i in indices]
        lengths = torch.tensor([len(r) for r in rows])
        questions = torch.full((len(rows), int(lengths.max())), PAD_ID, dtype=torch.long)
        for n, row in enumerate(rows):
            questions[n, : len(row)] = torch.tensor(row)
        answer_in, answer_out = teacher_forcing_batch([self.answer_ids[i] for i in indices])
        scenes = self.scenes[[self.data.questions[i].scene for i in indices]]
        return (scenes, questions, lengths, answer_in), (answer_out, self.regions[indices])

    def train_batches(self, start_step: int):
        train, size = self.splits["train"], self.config.data.batch_size
        step = start_step
        while True:
            generator = torch.Generator().manual_seed(self.config.trainer.seed * 1_000_003 + step)
            yield self.batch(train[torch.randint(len(train), (size,), generator=generator)])
            step += 1

    def training_step(self, model: VQAModel, batch, carry) -> StepOutput:
        inputs, targets = batch
        _, loss = model(inputs, targets)
        return StepOutput(loss, None, int((targets[0] != PAD_ID).sum()), examples=len(targets[1]))

    def evaluate(self, model: VQAModel) -> dict[str, float]:
        scores = self.score(model, "val", beam=False)
        return {"val_loss": scores["loss"], "val_error": 1 - scores["accuracy"]}

    @torch.no_grad()
    def answers(self, model: VQAModel, indices) -> tuple[float, list[list[int]], list[int]]:
        """The loss over ``indices`` (the training loss's definition over them all, whatever
        the chunks: ``combined_loss`` of the summed terms), each question's greedy answer ids
        and the region its pointing picks."""
        sums, said, picked = [0.0] * 4, [], []
        longest = self.config.decoding.max_length
        with evaluating(model):
            for start in range(0, len(indices), EVAL_BATCH):
                chunk = indices[start : start + EVAL_BATCH]
                (scenes, questions, lengths, answer_in), targets = self.batch(chunk)
                a, state, _ = model.read(scenes, questions, lengths)
                logits, _, _ = model.decoder.run(answer_in, state)
                terms = model.loss_sums(logits, a, state, targets)
                sums = [total + float(term) for total, term in zip(sums, terms, strict=True)]
                picked += model.pointing(a, state).argmax(-1).tolist()
                said += model.greedy(state, START_ID, END_ID, longest + 1, NEVER_GENERATED)
        return float(combined_loss(*sums)), said, picked

    @torch.no_grad()
    def beam_ids(self, model: VQAModel, i: int) -> list[int]:
        """Question ``i``'s answer by beam search, as the run's ``decoding`` says."""
        (scenes, questions, lengths, _), _ = self.batch([i])
        with evaluating(model):
            _, state, _ = model.read(scenes, questions, lengths)
            return self.beam_answer(model, state)

    def beam_answer(self, model: VQAModel, state) -> list[int]:
        """The answer's ids by beam search from the state after the question (one scene),
        as the run's ``decoding`` says."""
        d = self.config.decoding
        return beam_search(
            model.decoder,
            [START_ID],
            d.max_length + 1,
            beam_size=d.beam_size,
            length_penalty=d.length_penalty,
            eos_id=END_ID,
            state=state,
            suppress_ids=NEVER_GENERATED,
        ).ids

    def score(self, model: VQAModel, split: str, beam: bool = True) -> dict:
        """Loss, greedy (and beam) accuracy per question type, pointing accuracy (module
        docstring) on ``split``."""
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(self.splits)}")
        indices = self.splits[split]
        loss, said, picked = self.answers(model, indices)
        greedy = [decode_caption(self.vocab, ids) for ids in said]
        out = {"loss": loss, **accuracies(self.data, indices, greedy, picked)}
        if beam:
            answers = [decode_caption(self.vocab, self.beam_ids(model, i)) for i in indices]
            beamed = accuracies(self.data, indices, answers, picked)
            out["beam_accuracy"] = beamed["accuracy"]
            out["beam_size"] = self.config.decoding.beam_size
            out["beam_by_type"] = beamed["by_type"]
        return out

    def sample(self, model: VQAModel) -> str:
        indices = self.splits["val"][:5]
        _, said, _ = self.answers(model, indices)
        lines = []
        for i, ids in zip(indices, said, strict=True):
            q = self.data.questions[i]
            lines.append(f"{q.text} {q.answer!r} -> {decode_caption(self.vocab, ids)!r}")
        return "\n".join(lines)

    def data_position(self, step: int) -> dict:
        return {"batch": step}

    def checkpoint_metadata(self) -> dict:
        return {"name": TASK_NAME, "model": asdict(self.config.model)}


def accuracies(data: SceneData, indices, answers: list[str], picked: list[int]) -> dict:
    """Exact-match accuracy overall and per question type; pointing accuracy on the
    questions whose answer is a region, and its chance level."""
    questions = [data.questions[i] for i in indices]
    right = np.array([a == q.answer for a, q in zip(answers, questions, strict=True)])
    types = np.array([q.type for q in questions])
    by_type = {t: float(right[types == t].mean()) for t in QUESTION_TYPES if (types == t).any()}
    regions = np.array([q.region for q in questions])
    pointed = regions >= 0
    pointing = (
        float((np.array(picked)[pointed] == regions[pointed]).mean()) if pointed.any() else None
    )
    return {
        "accuracy": float(right.mean()),
        "by_type": by_type,
        "pointing_accuracy": pointing,
        "pointing_chance": 1 / data.regions,
        "questions": len(questions),
    }


# -- the data, as recorded in config.json ------------------------------------------------------


def load_scenes(config: VQAConfig, record: dict | None = None) -> SceneData:
    """The scenes of ``config``; with a run's ``record``, made from the images file recorded
    there (its absolute path; a run from before that recorded the path as typed, which is
    read from the working directory as it was then)."""
    d = config.data
    images = d.images if record is None else record["data"].get("images", d.images)
    return make_scenes(load_images("digits", images), d.rules())


def prepare(config: VQAConfig, data: SceneData | None) -> VQATask:
    data = data if data is not None else load_scenes(config)
    return VQATask(config, data, build_vocab([" ".join(vocabulary(data.rules.grid))]))


def reopen(run_dir: Path, record: dict, config: VQAConfig) -> VQATask:
    data = load_scenes(config, record)
    if fingerprint(data) != record["data"]["fingerprint"]:
        raise ValueError(f"{run_dir}: the scenes differ from the ones it was trained on")
    return VQATask(config, data, Vocab.load(run_dir / layout.VOCAB))
