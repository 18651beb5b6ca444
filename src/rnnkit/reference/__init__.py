"""The lectures' recurrent networks in NumPy: forward passes, hand-derived backpropagation
through time, and the checks that prove them right. No torch here; this is the reference the
fast paths are tested against.

Modules, in reading order:

    rnn.py, lstm.py, gru.py   one step forward + backward (cache in between), and BPTT over
                              a sequence as an explicit ``for t in reversed(range(T))`` loop
    losses.py                 softmax cross-entropy (every step / last step only), MSE
    network.py                cell -> output layer o_t = V h_t + c -> loss, and back
    gradcheck.py              centred finite differences, max relative error per parameter
    tbptt.py                  truncated BPTT(k1, k2) with the state carried forward
    clipping.py, init.py      clipping by global norm or value; torch's and IRNN's initialisation
    optim.py                  SGD, momentum, Adagrad (as min-char-rnn), Adam
    charlm.py                 min-char-rnn, batched over B parallel streams
    worked_example.py         the lectures' [h, e, l, o] example with their numbers

Conventions: arrays are time-major, xs (T, N, D), hidden states (T, N, H), outputs
(T, N, C); rows are examples, so the lecture's W h becomes h @ W.T. Parameters carry
torch.nn's names and gate order (weight_ih, weight_hh, bias_ih, bias_hh; LSTM i|f|g|o, GRU
r|z|n), plus weight_hy (V) and bias_y (c) for the output layer, so a state dict copies 1:1.
The lecture's single bias b is bias_ih + bias_hh.
"""

from rnnkit.reference.network import CELLS, Network

__all__ = ["CELLS", "Network"]
