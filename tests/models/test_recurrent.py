"""The one registry of recurrent cores (rnnkit.models.recurrent): every core and alias builds
in every model that accepts it; an alias is its core, bit for bit; every old name builds, draw
for draw, the weights and outputs it built before the registry (against the old builders,
kept verbatim in tests/models/cells_before.py); an unknown name is a one-line error that lists
the allowed names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import SimpleNamespace

import pytest
import torch

import rnnkit.models.language_model as language_model
from rnnkit.bench import layers as bench
from rnnkit.diagnostics.fresh import fresh_layer
from rnnkit.experiments import models as experiment_models
from rnnkit.models import captioner, classifier, forecaster, seq2seq, tagger
from rnnkit.models.recurrent import (
    CELL_ALIASES,
    RECURRENT_CORES,
    CoreRegularisers,
    build_cell,
    build_recurrent,
    cell_choices,
    check_cell,
    get_core,
    parse_cells,
)
from tests.models import cells_before as before

N, T = 3, 5


def _ids(high: int, *shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


def _lengths() -> torch.Tensor:
    return torch.tensor([T, 3, 1])


@dataclass
class Model:
    """A small model of one kind: the names it accepts, how to build it for a cell (under
    the caller's seed) and one forward pass with fixed inputs."""

    cells: tuple[str, ...]
    build: Callable[[str], torch.nn.Module]
    run: Callable[[torch.nn.Module], torch.Tensor]


def _char_model(cell):
    config = language_model.LanguageModelConfig(cell=cell, hidden_size=6, num_layers=2, dropout=0.1)
    return language_model.LanguageModel(config, 7)


def _seq2seq(cell):
    config = seq2seq.Seq2SeqConfig(
        "additive", cell=cell, embedding_size=4, hidden_size=5, dropout=0.0
    )
    return seq2seq.Seq2Seq(config, source_vocab_size=8, target_vocab_size=9)


def _captioner(cell, conditioning="attention"):
    config = captioner.CaptionerConfig(
        cell=cell,
        conditioning=conditioning,
        embedding_size=3,
        hidden_size=5,
        base_channels=2,
        conv_blocks=2,
        attention_size=3,
        input_pool=1,
        dropout=0.0,
    )
    return captioner.Captioner(config, vocab_size=9, image_size=8)


def _tgt() -> torch.Tensor:
    tgt = _ids(9, N, T + 1, seed=3)
    tgt[:, 0] = 2
    return tgt


MODELS = {
    "charlm": Model(
        language_model.CELLS,
        _char_model,
        lambda model: model(_ids(7, T, N))[0],
    ),
    "classifier": Model(
        classifier.CELLS,
        lambda cell: classifier.SequenceClassifier(
            classifier.ClassifierConfig(
                embedding_size=6, hidden_size=5, cell=cell, num_layers=2, bidirectional=True
            ),
            num_classes=3,
            input_size=11,
        ),
        lambda model: model(_ids(11, N, T), _lengths())[0],
    ),
    "tagger": Model(
        tagger.CELLS,
        lambda cell: tagger.SequenceTagger(
            tagger.TaggerConfig(embedding_size=5, hidden_size=4, cell=cell),
            num_tags=3,
            vocab_size=9,
        ),
        lambda model: model(_ids(9, N, T), _lengths())[0],
    ),
    "forecaster": Model(
        forecaster.CELLS,
        lambda cell: forecaster.Forecaster(
            forecaster.ForecasterConfig("direct", cell, hidden_size=6, num_layers=2), 2
        ),
        lambda model: model(torch.randn(N, T, generator=torch.Generator().manual_seed(2)))[0],
    ),
    "seq2seq": Model(
        seq2seq.CELLS,
        _seq2seq,
        lambda model: model(_ids(8, N, T), _lengths(), _tgt())[0],
    ),
    "captioner": Model(
        captioner.CELLS,
        _captioner,
        lambda model: model(
            torch.rand(N, 3, 8, 8, generator=torch.Generator().manual_seed(4)), _ids(9, T, N)
        )[0],
    ),
    "experiment": Model(
        tuple(RECURRENT_CORES),
        lambda cell: experiment_models.SequenceToOne(cell, 2, 6, 1, "regression", horizon=T),
        lambda model: model(torch.randn(N, T, 2, generator=torch.Generator().manual_seed(5)))[0],
    ),
    "diagnostics": Model(
        tuple(RECURRENT_CORES),
        lambda cell: fresh_layer(cell, 2, 6, num_layers=2, seed=0, seq_len=T),
        lambda layer: layer(torch.randn(N, T, 2, dtype=torch.float64))[0],
    ),
}
CASES = [(kind, name) for kind, model in MODELS.items() for name in cell_choices(model.cells)]


def _built(model: Model, cell: str, seed: int = 0) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """The state dict, one forward pass (eval mode) and the next random draw after building."""
    torch.manual_seed(seed)
    module = model.build(cell)
    after = torch.rand(4)
    with torch.no_grad():
        output = model.run(module.eval())
    return module.state_dict(), output, after


def _assert_identical(one, other) -> None:
    (weights, output, after), (weights_2, output_2, after_2) = one, other
    assert list(weights) == list(weights_2)
    for key in weights:
        assert torch.equal(weights[key], weights_2[key]), key
    assert torch.equal(output, output_2)
    assert torch.equal(after, after_2)  # the same number of draws: what follows is the same


# -- every name in every model that accepts it --------------------------------------------------


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_every_core_and_alias_builds_and_runs_in_every_model_that_accepts_it(kind, name):
    weights, output, _ = _built(MODELS[kind], name)
    assert weights and torch.isfinite(output).all()


def test_gru_lectures_is_available_everywhere_a_horizon_is_not_needed():
    for kind, model in MODELS.items():
        assert "gru-lectures" in model.cells, kind
    for kind in ("charlm", "classifier", "tagger", "seq2seq", "captioner"):
        assert "clstm" not in MODELS[kind].cells, kind
    assert set(MODELS["forecaster"].cells) == set(RECURRENT_CORES)


@pytest.mark.parametrize("conditioning", captioner.CONDITIONINGS)
@pytest.mark.parametrize("cell", ["gru", "gru-lectures", "irnn"])
def test_a_captioner_without_a_cell_state_captions_and_beam_reorders(conditioning, cell):
    torch.manual_seed(0)
    model = _captioner(cell, conditioning).eval()
    assert not hasattr(model, "init_c")
    images = torch.rand(2, 3, 8, 8)
    state = model.start_state(images)
    assert state.c is None and state.index_select(torch.tensor([1, 1, 0])).h.shape == (3, 5)
    ids, _ = model.greedy(images, start_id=2, end_id=3, max_length=4)
    assert len(ids) == 2


# -- an alias is its core -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "alias"),
    [(kind, alias) for kind, alias in CASES if alias in CELL_ALIASES],
)
def test_an_alias_builds_its_core_bit_for_bit(kind, alias):
    canonical = CELL_ALIASES[alias]
    assert check_cell(alias) == canonical and get_core(alias) is get_core(canonical)
    _assert_identical(_built(MODELS[kind], alias), _built(MODELS[kind], canonical))


# -- old names build what they built --------------------------------------------------------------


@pytest.mark.parametrize("cell", before.CELLS)
@pytest.mark.parametrize("embedding", ["learned", "onehot"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_the_char_model_builds_what_it_built_for_every_old_name(
    cell, embedding, num_layers, monkeypatch
):
    config = language_model.LanguageModelConfig(
        cell=cell,
        hidden_size=6,
        num_layers=num_layers,
        embedding=embedding,
        dropout=0.2,
    )
    model = Model((), lambda _: language_model.LanguageModel(config, 7), MODELS["charlm"].run)
    after = _built(model, cell, seed=3)

    def old_layer(config, input_size):  # the old builder read the input size off its config
        return before._recurrent_layer(SimpleNamespace(**asdict(config), input_size=input_size))

    monkeypatch.setattr(language_model, "_recurrent_layer", old_layer)
    _assert_identical(after, _built(model, cell, seed=3))


@pytest.mark.parametrize("name", before.RECURRENT_CORES)
@pytest.mark.parametrize(
    "options",
    [{}, {"num_layers": 2, "bidirectional": True, "dropout": 0.1}, {"batch_first": False}],
)
def test_every_old_core_builds_the_layer_it_built(name, options):
    inputs = torch.randn(N, T, 3)

    def built(build):
        torch.manual_seed(7)
        layer = build(name, 3, 4, horizon=T, **options).eval()
        return layer.state_dict(), layer(inputs)[0].detach(), torch.rand(4), repr(layer)

    new, old = built(build_recurrent), built(before.build_recurrent)
    assert new[3] == old[3]
    _assert_identical(new[:3], old[:3])


@pytest.mark.parametrize("kind", ["classifier", "tagger", "forecaster", "seq2seq", "experiment"])
def test_every_model_built_on_the_old_cores_builds_what_it_built(kind, monkeypatch):
    module = {
        "classifier": classifier,
        "tagger": tagger,
        "forecaster": forecaster,
        "seq2seq": seq2seq,
        "experiment": experiment_models,
    }[kind]
    old_names = before.SEQ2SEQ_CELLS if kind == "seq2seq" else tuple(before.RECURRENT_CORES)
    old_names = [name for name in old_names if name in MODELS[kind].cells]
    assert len(old_names) >= 5
    for name in old_names:
        after = _built(MODELS[kind], name)
        with monkeypatch.context() as patch:
            patch.setattr(module, "build_recurrent", before.build_recurrent)
            _assert_identical(after, _built(MODELS[kind], name))


@pytest.mark.parametrize("conditioning", captioner.CONDITIONINGS)
def test_the_captioner_builds_the_lstm_cell_it_built(conditioning, monkeypatch):
    model = Model((), lambda cell: _captioner(cell, conditioning), MODELS["captioner"].run)
    after = _built(model, "lstm")
    monkeypatch.setattr(captioner, "build_cell", lambda _, i, h, **__: before.caption_cell(i, h))
    _assert_identical(after, _built(model, "lstm"))


def test_build_cell_is_the_cell_of_a_one_layer_core():
    torch.manual_seed(0)
    cell = build_cell("gru-lectures", 3, 4)
    torch.manual_seed(0)
    layer = build_recurrent("gru-lectures", 3, 4)
    assert [name for name, _ in cell.named_parameters()] == [
        "weight_ih",
        "weight_hh",
        "bias_ih",
        "bias_hh",
    ]
    assert cell.reset_after is False
    for name, value in cell.named_parameters():
        assert torch.equal(value, getattr(layer, f"{name}_l0"))


def test_the_customary_init_is_the_only_difference_customary_init_false_makes():
    torch.manual_seed(0)
    customary = build_recurrent("lstm", 3, 4)
    torch.manual_seed(0)
    plain = build_recurrent("lstm", 3, 4, customary_init=False)
    assert torch.equal(customary.bias_ih_l0[4:8], torch.ones(4))
    assert torch.equal(customary.bias_hh_l0[4:8], torch.zeros(4))
    assert not torch.equal(plain.bias_ih_l0[4:8], torch.ones(4))
    for name, value in plain.named_parameters():
        if not name.startswith("bias"):
            assert torch.equal(value, getattr(customary, name))
    for name in ("irnn", "clstm"):  # what these names stand for is always applied
        torch.manual_seed(0)
        a = build_recurrent(name, 3, 4, horizon=9)
        torch.manual_seed(0)
        b = build_recurrent(name, 3, 4, horizon=9, customary_init=False)
        assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_the_bench_accepts_every_core():
    assert set(bench.BENCH_CELLS) == set(RECURRENT_CORES)
    for name in ("relu", "rnn-relu", "irnn", "clstm"):
        (record, *_) = bench.run([name], [(3, 2, 2, 3, 1)], repeats=1, warmup=0)
        assert record.cell == name and record.ms > 0
    # no fused kernel: beside torch.nn.LSTM and GRU, its route and its readable loop
    records = bench.run(["gru-lectures"], [(3, 2, 2, 3, 1)], repeats=1, warmup=0)
    assert [r.impl for r in records] == ["torch-lstm", "torch-gru", "rnnkit", "loop"]
    with pytest.raises(ValueError, match="unknown cell 'gru2'"):
        bench.run(["gru2"], [(3, 2, 2, 3, 1)], repeats=1)


# -- errors -------------------------------------------------------------------------------------

NEW_CORES = "peephole, lnlstm, lngru, mut1, mut2, mut3, mingru, minlstm, rglru"
ALL_NAMES = f"rnn, relu (alias rnn-relu), irnn, lstm, clstm, gru, gru-lectures, {NEW_CORES}"


def test_an_unknown_name_is_a_one_line_error_listing_the_allowed_names():
    for call in (lambda: check_cell("bogus"), lambda: get_core("bogus")):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == f"unknown cell 'bogus'; allowed: {ALL_NAMES}"
    with pytest.raises(ValueError, match="^unknown cell 'bogus'; allowed: rnn, relu"):
        parse_cells("rnn,bogus")
    with pytest.raises(ValueError, match="at least one"):
        parse_cells(" , ")
    assert parse_cells(" rnn, rnn-relu ") == ["rnn", "rnn-relu"]  # names kept as given


@pytest.mark.parametrize("kind", ["charlm", "classifier", "tagger", "seq2seq", "captioner"])
def test_every_model_rejects_an_unknown_or_unfit_name_in_one_line(kind):
    build = MODELS[kind].build
    allowed = f"rnn, relu (alias rnn-relu), irnn, lstm, gru, gru-lectures, {NEW_CORES}"
    with pytest.raises(ValueError) as error:
        build("bogus")
    assert str(error.value) == f"unknown cell 'bogus'; allowed: {allowed}"
    with pytest.raises(ValueError) as error:
        build("clstm")
    message = str(error.value)
    assert "\n" not in message and message.startswith("cell 'clstm' does not fit the ")
    assert "horizon" in message and message.endswith(f"allowed: {allowed}")


def test_clstm_needs_a_horizon():
    with pytest.raises(ValueError, match="clstm .*needs the task's horizon"):
        build_recurrent("clstm", 2, 3)


@pytest.mark.parametrize(
    "config_class",
    [
        language_model.LanguageModelConfig,
        classifier.ClassifierConfig,
        tagger.TaggerConfig,
        forecaster.ForecasterConfig,
        seq2seq.Seq2SeqConfig,
        captioner.CaptionerConfig,
    ],
)
def test_every_model_config_has_the_regularisers_and_reads_old_configs(config_class):
    """Each model's config holds --zoneout and --recurrent-dropout (CoreRegularisers); one
    written before them (without the keys) reads as the plain core, rates 0."""
    assert issubclass(config_class, CoreRegularisers)
    old = asdict(config_class())
    del old["zoneout"], old["recurrent_dropout"]
    config = config_class(**old)
    assert (config.zoneout, config.recurrent_dropout, config.regularisers()) == (0.0, 0.0, {})
    config.validate()
    with pytest.raises(ValueError, match=r"zoneout must be a probability in \[0, 1\)"):
        config_class(zoneout=1.0).validate()
