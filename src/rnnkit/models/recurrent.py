"""Named recurrent cores: the one set of cell names every model, task, experiment and
diagnostic uses.

    build_recurrent("irnn", input_size=1, hidden_size=100)   # ReLU RNN, W_hh = I (Le et al.)
    check_cell("rnn-relu")                                    # "relu": an old name still works

A *core* is an architecture (an ``rnnkit.nn`` layer class with its fixed options) plus the
initialisation its name stands for. Every layer starts from torch.nn's default, every
parameter ~ U(-1/sqrt(H), 1/sqrt(H)); then

    name          layer                          initialisation
    rnn           RNN, tanh                      torch.nn's default
    relu          RNN, relu                      torch.nn's default
    irnn          RNN, relu                      W_hh = I, zero biases, W_ih ~ N(0, 0.001^2)
                                                 (Le et al. 2015)
    lstm          LSTM                           customary: forget-gate bias 1 (Gers et al.
                                                 2000), see ``customary_init``
    clstm         LSTM                           chrono: forget biases log U(1, horizon - 1),
                                                 input biases their negatives (Tallec and
                                                 Ollivier 2018); needs the task's ``horizon``
    gru           GRU (torch's, reset_after)     torch.nn's default
    gru-lectures  GRU, reset_after=False         torch.nn's default; Cho et al. 2014 and the
                                                 lectures' form, no fused kernel (MUT2's route)

The cores below have no fused kernel: ``Recurrent`` runs their cells (``rnnkit.nn``), each
with its own initialisation (its ``reset_parameters``); state (h, c) where marked.

    peephole      PeepholeLSTMCell (h, c)        LSTM with peepholes (Gers, Schmidhuber 2000)
    lnlstm        LayerNormLSTMCell (h, c)       layer-normalised LSTM (Ba et al. 2016)
    lngru         LayerNormGRUCell               layer-normalised GRU
    mut1 mut2 mut3  MUT1Cell ...                 Jozefowicz et al. 2015's evolved GRUs
    mingru        MinGRUCell                     minGRU (Feng et al. 2024): one scan a sequence
    minlstm       MinLSTMCell                    minLSTM (Feng et al. 2024): one scan
    rglru         RGLRUCell                      RG-LRU of Hawk/Griffin (De et al. 2024)

    alias         rnn-relu = relu                (the char model's name before this registry)

A name means one architecture everywhere. An alias is only another spelling: it builds the
very same layer, and a config keeps the name it was given, so a run directory written with an
old name reads back unchanged.

Two kinds of initialisation, kept apart on purpose (``Core.init`` and ``Core.customary_init``):

* irnn's identity and clstm's chrono biases *are* those cores: without them irnn is relu and
  clstm is lstm. They are always applied.
* lstm's forget-gate bias 1 is a customary adjustment of the same architecture. The
  classifier, tagger, forecaster, seq2seq, the experiments and the diagnostics have always
  used it (``customary_init=True``, the default); the char language model and the captioner
  never did: they keep torch.nn's default and say so in their call
  (``customary_init=False``). Each model's choice stays what it was, so a fixed seed builds
  the same weights as before the registry, draw for draw, and no name means two things.

Each builder makes the layer (its random draws: torch.nn's default init) and then applies the
core's initialisation, in that order, as every model did before.

A model declares which cores it can build (a tuple of canonical names such as
``cell_names(horizon=False)``: only clstm needs a horizon) and checks a config's name with
:func:`check_cell`, whose one-line error lists the allowed names with their aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from torch import nn

from rnnkit.nn import (
    GRU,
    LSTM,
    RNN,
    LayerNormGRUCell,
    LayerNormLSTMCell,
    MinGRUCell,
    MinLSTMCell,
    MUT1Cell,
    MUT2Cell,
    MUT3Cell,
    PeepholeLSTMCell,
    Recurrent,
    RGLRUCell,
)
from rnnkit.nn.cells import RecurrentCell
from rnnkit.nn.init import chrono_, forget_gate_bias_, identity_
from rnnkit.nn.layers import layer_cells
from rnnkit.nn.regularise import regularise
from rnnkit.options import option


def _identity(layer: nn.Module, horizon: int | None) -> None:
    identity_(layer)


def _chrono(layer: nn.Module, horizon: int | None) -> None:
    chrono_(layer, horizon)


def _forget_bias_one(layer: nn.Module, horizon: int | None) -> None:
    forget_gate_bias_(layer, 1.0)


@dataclass(frozen=True)
class Core:
    """One named core: ``layer(input_size, hidden_size, **options, ...)``, then ``init``
    (what the name stands for; always applied) and ``customary_init`` (skipped when a model
    asks for torch.nn's default), each called as ``f(layer, horizon)``."""

    name: str
    layer: type[nn.Module]
    summary: str
    options: dict = field(default_factory=dict)
    init: Callable[[nn.Module, int | None], None] | None = None
    customary_init: Callable[[nn.Module, int | None], None] | None = None
    needs_horizon: bool = False
    cell: type[nn.Module] | None = None  # a cell ``Recurrent`` runs (layer is Recurrent)
    cell_state: bool = False  # that cell's state is (h, c)

    @property
    def fused(self) -> bool:
        """torch.nn has a fused kernel for it: a core on a torch.nn layer, but the lectures'
        GRU (``reset_after=False``)."""
        return self.cell is None and self.options.get("reset_after", True)

    @property
    def has_cell_state(self) -> bool:
        """The state is ``(h, c)`` (an LSTM), not a single tensor ``h``."""
        return self.layer is LSTM or self.cell_state

    def make_layer(self, *args, **options) -> nn.Module:
        """``layer(*args, **options)``, with the core's own options and cell."""
        if self.cell is not None:
            return Recurrent(self.cell, *args, **self.options, **options)
        return self.layer(*args, **self.options, **options)


def _cell_core(name: str, cell: type[nn.Module], summary: str, cell_state=False) -> Core:
    return Core(name, Recurrent, summary, cell=cell, cell_state=cell_state)


RECURRENT_CORES: dict[str, Core] = {
    core.name: core
    for core in (
        Core("rnn", RNN, "tanh RNN", {"nonlinearity": "tanh"}),
        Core("relu", RNN, "ReLU RNN", {"nonlinearity": "relu"}),
        Core("irnn", RNN, "ReLU RNN, identity init", {"nonlinearity": "relu"}, init=_identity),
        Core("lstm", LSTM, "LSTM", customary_init=_forget_bias_one),
        Core("clstm", LSTM, "LSTM, chrono init", init=_chrono, needs_horizon=True),
        Core("gru", GRU, "GRU, torch's form (reset after W_hh h)"),
        Core("gru-lectures", GRU, "GRU of Cho et al. 2014", {"reset_after": False}),
        _cell_core("peephole", PeepholeLSTMCell, "LSTM with peepholes", cell_state=True),
        _cell_core("lnlstm", LayerNormLSTMCell, "layer-normalised LSTM", cell_state=True),
        _cell_core("lngru", LayerNormGRUCell, "layer-normalised GRU"),
        _cell_core("mut1", MUT1Cell, "MUT1 (Jozefowicz et al. 2015)"),
        _cell_core("mut2", MUT2Cell, "MUT2 (Jozefowicz et al. 2015)"),
        _cell_core("mut3", MUT3Cell, "MUT3 (Jozefowicz et al. 2015)"),
        _cell_core("mingru", MinGRUCell, "minGRU, a parallel scan (Feng et al. 2024)"),
        _cell_core("minlstm", MinLSTMCell, "minLSTM, a parallel scan (Feng et al. 2024)"),
        _cell_core("rglru", RGLRUCell, "RG-LRU, a parallel scan (De et al. 2024)"),
    )
}
CELL_ALIASES: dict[str, str] = {"rnn-relu": "relu"}


def cell_names(horizon: bool = True) -> tuple[str, ...]:
    """The canonical names of the cores a model can build: all of them, or (``horizon``
    False, a model that does not know its task's longest dependency) those that need none."""
    return tuple(
        name for name, core in RECURRENT_CORES.items() if horizon or not core.needs_horizon
    )


def cell_choices(allowed: Iterable[str] | None = None) -> tuple[str, ...]:
    """``allowed`` (default: every core) and their aliases: what a ``--cell`` flag accepts."""
    allowed = tuple(RECURRENT_CORES if allowed is None else allowed)
    return allowed + tuple(alias for alias, name in CELL_ALIASES.items() if name in allowed)


def describe_cells(allowed: Iterable[str] | None = None) -> str:
    """``"rnn, relu (alias rnn-relu), irnn, ..."``: the names for a message or a help text."""
    allowed = tuple(RECURRENT_CORES if allowed is None else allowed)
    parts = []
    for name in allowed:
        aliases = [alias for alias, target in CELL_ALIASES.items() if target == name]
        parts.append(f"{name} (alias {', '.join(aliases)})" if aliases else name)
    return ", ".join(parts)


def _lookup(name: str) -> Core | None:
    return RECURRENT_CORES.get(CELL_ALIASES.get(name, name)) if isinstance(name, str) else None


def get_core(name: str) -> Core:
    """The core called ``name`` (or an alias of it); a ValueError listing every name if none."""
    core = _lookup(name)
    if core is None:
        raise ValueError(f"unknown cell {name!r}; allowed: {describe_cells()}")
    return core


def check_cell(name: str, allowed: Iterable[str] | None = None, model: str = "this model") -> str:
    """The canonical name of ``name``, a cell that ``model`` can build (``allowed``: its
    canonical names, default all); else a one-line ValueError listing the allowed names."""
    allowed = tuple(RECURRENT_CORES if allowed is None else allowed)
    core = _lookup(name)
    if core is None:
        raise ValueError(f"unknown cell {name!r}; allowed: {describe_cells(allowed)}")
    if core.name not in allowed:
        why = " (it needs the task's horizon, its longest dependency in steps)"
        raise ValueError(
            f"cell {name!r} does not fit {model}{why if core.needs_horizon else ''}; "
            f"allowed: {describe_cells(allowed)}"
        )
    return core.name


def parse_cells(
    text: str, allowed: Iterable[str] | None = None, model: str = "this model"
) -> list[str]:
    """``"rnn,irnn,lstm"`` -> the names as given, each checked by :func:`check_cell`."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("--cells needs at least one name, e.g. rnn,irnn,lstm,gru")
    for name in names:
        check_cell(name, allowed, model)
    return names


@dataclass(kw_only=True)
class CoreRegularisers:
    """Zoneout and recurrent dropout of a model's recurrent core: fields of every model's
    config (which subclasses this), so flags of every ``rnnkit train`` task. 0, the default
    and what a config written before them reads as, is the plain core (on its fused kernels
    where it has them); above 0 the core runs its cells (``rnnkit.nn.regularise``)."""

    zoneout: float = option(
        0.0,
        "in training each unit of the recurrent state keeps its last value with probability "
        "P (Krueger et al. 2016; in evaluation: the expectation)",
        metavar="P",
    )
    recurrent_dropout: float = option(
        0.0,
        "in training drop units of h_(t-1) where the recurrent matmuls read it, one mask "
        "per sequence (Gal and Ghahramani 2016); off in evaluation",
        metavar="P",
    )

    def check_regularisers(self) -> None:
        """A one-line ValueError for a rate out of [0, 1), or recurrent dropout on a core
        whose gates never read ``h_(t-1)`` (mingru, minlstm, rglru)."""
        for name in ("zoneout", "recurrent_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        cell = get_core(self.cell).cell
        if self.recurrent_dropout and cell is not None and not hasattr(cell, "dropped"):
            raise ValueError(
                f"recurrent_dropout needs a recurrent matmul, and {self.cell}'s gates read "
                "x_t only; use zoneout"
            )

    def regularisers(self) -> dict:
        """``{"zoneout": P, "recurrent_dropout": P}`` for :func:`build_recurrent`, those
        above 0 only (a core without them is built with exactly the call it always had)."""
        rates = {"zoneout": self.zoneout, "recurrent_dropout": self.recurrent_dropout}
        return {name: rate for name, rate in rates.items() if rate}


def build_recurrent(
    name: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    batch_first: bool = True,
    horizon: int | None = None,
    *,
    customary_init: bool = True,
    zoneout: float = 0.0,
    recurrent_dropout: float = 0.0,
    **options,
) -> nn.Module:
    """The layer of the core called ``name`` (an alias works too; see the module docstring).

    ``horizon``: the task's longest dependency in steps (needed by ``clstm``, ignored by the
    others); ``customary_init=False`` keeps torch.nn's default where a core's initialisation
    is only customary (lstm's forget-gate bias); ``zoneout``, ``recurrent_dropout``: rates of
    :func:`rnnkit.nn.regularise.regularise`; ``options``: the layer's own (``bidirectional``,
    ``dropout``, ``impl`` ...)."""
    core = get_core(name)
    if core.needs_horizon and horizon is None:
        raise ValueError(f"{core.name} ({core.summary}) needs the task's horizon in steps")
    layer = core.make_layer(
        input_size, hidden_size, num_layers=num_layers, batch_first=batch_first, **options
    )
    if core.init is not None:
        core.init(layer, horizon)
    if customary_init and core.customary_init is not None:
        core.customary_init(layer, horizon)
    if zoneout or recurrent_dropout:
        regularise(layer, zoneout, recurrent_dropout)
    return layer


def build_cell(
    name: str,
    input_size: int,
    hidden_size: int,
    horizon: int | None = None,
    *,
    customary_init: bool = True,
) -> RecurrentCell:
    """One step of the core called ``name``, for a model that runs its own loop over time
    (``cell.step(cell.project_input(x), state)``): the cell of a one-layer core, holding that
    layer's parameters under the cell's names (``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``), initialised and drawn exactly as the layer is."""
    layer = build_recurrent(
        name, input_size, hidden_size, horizon=horizon, customary_init=customary_init
    )
    (cell,) = layer_cells(layer)
    return cell
