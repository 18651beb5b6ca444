"""Recurrent building blocks: cells (one time step) and layers (cells over time).

from rnnkit.nn import LSTM
lstm = LSTM(input_size=64, hidden_size=256, num_layers=2)   # torch.nn.LSTM's signature
output, (h_n, c_n) = lstm(x)                                # fused kernels
output, (h_n, c_n), steps = lstm(x, return_states=True)     # readable loop, every state

from rnnkit.nn import Recurrent
layer = Recurrent(MyCell, input_size=64, hidden_size=128, num_layers=2, bidirectional=True)
"""

from rnnkit.nn.cells import GRUCell, LSTMCell, RecurrentCell, RNNCell
from rnnkit.nn.layers import GRU, LSTM, RNN, Recurrent
from rnnkit.nn.parallel_cells import MinGRUCell, MinLSTMCell, RGLRUCell
from rnnkit.nn.recurrence import StepStates
from rnnkit.nn.regularise import Zoneout, recurrent_dropout
from rnnkit.nn.variant_cells import (
    LayerNormGRUCell,
    LayerNormLSTMCell,
    MUT1Cell,
    MUT2Cell,
    MUT3Cell,
    PeepholeLSTMCell,
)

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LayerNormGRUCell",
    "LayerNormLSTMCell",
    "MUT1Cell",
    "MUT2Cell",
    "MUT3Cell",
    "MinGRUCell",
    "MinLSTMCell",
    "RNN",
    "PeepholeLSTMCell",
    "RGLRUCell",
    "RNNCell",
    "Recurrent",
    "RecurrentCell",
    "StepStates",
    "Zoneout",
    "recurrent_dropout",
]
