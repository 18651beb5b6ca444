"""Truncated backpropagation through time, BPTT(k1, k2) of Williams and Peng (1990, "An
efficient gradient-based algorithm for on-line training of recurrent network trajectories").

The network runs forward without end, its state carried from one update to the next. Every
k1 = ``forward_steps`` new steps, the errors of those k1 steps are propagated back through the
last k2 = ``backward_steps`` steps (k2 >= k1), and no further::

    time  ──────────────────────────────────────────────────────────────>
                         s_{t-k2}                                     t
                            │<──────────── backward: k2 steps ────────>│
                            │                    │<── forward: k1 ───> │
                     state held fixed             losses L_τ counted here

So the update at time t follows the gradient of the truncated objective

    L_trunc(θ) = sum_{τ = t-k1+1}^{t} L_τ(θ),   with the state s_{t-k2} held fixed.

k1 = k2 is the common "chunk" training of character models (pytorch's word_language_model
``repackage_hidden``; min-char-rnn): each chunk starts from the last chunk's final state.
With k2 > k1 the losses at the start of a chunk still see k2 - k1 steps of history.

Where this departs from the paper: Williams and Peng keep the activations of the last k2
steps as they were computed (with the weights of their time). Here the k2 - k1 older steps
are run again with the current weights, so each update is the exact gradient of L_trunc at
the current θ, which is what the gradient check tests.
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.losses import get_loss
from rnnkit.reference.network import Network

PER_STEP_LOSSES = ("cross_entropy", "mse")


def _add(grads_a: dict, grads_b: dict) -> dict:
    return {name: grads_a[name] + grads_b[name] for name in grads_a}


class TruncatedBPTT:
    """Feed it k1 steps at a time; it returns the loss and gradient of each update."""

    def __init__(
        self,
        network: Network,
        forward_steps: int,
        backward_steps: int | None = None,
        loss: str = "cross_entropy",
    ):
        backward_steps = forward_steps if backward_steps is None else backward_steps
        if forward_steps < 1:
            raise ValueError(f"forward_steps (k1) must be at least 1, got {forward_steps}")
        if backward_steps < forward_steps:
            raise ValueError(
                f"backward_steps (k2) must be at least forward_steps (k1) = {forward_steps}, "
                f"got {backward_steps}"
            )
        if loss not in PER_STEP_LOSSES:
            raise ValueError(f"truncated BPTT needs a loss at every step: {PER_STEP_LOSSES}")
        self.network = network
        self.forward_steps = forward_steps
        self.backward_steps = backward_steps
        self.loss_forward, self.loss_backward = get_loss(loss)
        self.reset()

    def reset(self, state=None):
        """Forget the past: the next update starts from ``state`` (zeros if None)."""
        self.state = state  # the state now, carried forward
        self.past_xs = None  # inputs of the up to k2 - k1 steps before now      (P, N, D)
        self.past_state = None  # the state before those steps: s_{t-k2}

    def _forward(self, params: dict, xs: np.ndarray, state):
        if len(xs) == 0:  # nothing to run: no outputs, the state unchanged
            return np.empty((0, xs.shape[1], len(params["bias_y"]))), state, None
        return self.network.forward(params, xs, state)

    def _backward(self, do: np.ndarray, cache, params: dict, dstate_last):
        if cache is None:
            return {name: np.zeros_like(value) for name, value in params.items()}, dstate_last
        grads, _, dstate0 = self.network.backward(do, cache, params, dstate_last, False)
        return grads, dstate0

    def step(self, params: dict, xs: np.ndarray, targets: np.ndarray):
        """Run the next k1 steps xs (k1, N, D) with their targets; return (L_trunc, grads).

        params are read afresh at every call, so an optimiser may update them in between.
        """
        if len(xs) != self.forward_steps:
            raise ValueError(f"expected {self.forward_steps} new steps, got {len(xs)}")
        if self.past_xs is None:
            window, start = xs, self.state  # (k1, N, D)
        else:
            window = np.concatenate([self.past_xs, xs])  # (P + k1, N, D)
            start = self.past_state
        keep = min(self.backward_steps - self.forward_steps, len(window))
        head, tail = window[: len(window) - keep], window[len(window) - keep :]
        # Forward in two parts, so that the state where the next window starts (after head,
        # before tail: the k2 - k1 steps the next window keeps) is at hand.
        o_head, state_mid, cache_head = self._forward(params, head, start)
        o_tail, state_end, cache_tail = self._forward(params, tail, state_mid)
        o = np.concatenate([o_head, o_tail]) if len(tail) else o_head  # (W, N, C)
        loss, loss_cache = self.loss_forward(o[-self.forward_steps :], targets)
        do = self.loss_backward(loss_cache)  # dL/do over the last k1 steps
        if len(o) > self.forward_steps:  # no loss on the older steps of the window
            do = np.concatenate([np.zeros_like(o[: -self.forward_steps]), do])  # (W, N, C)
        # Backward: the tail first; its dL/d(state_mid) flows on into the head.
        grads_tail, dstate_mid = self._backward(do[len(head) :], cache_tail, params, None)
        grads_head, _ = self._backward(do[: len(head)], cache_head, params, dstate_mid)
        grads = grads_head if cache_tail is None else _add(grads_head, grads_tail)
        self.past_xs, self.past_state = tail, state_mid
        self.state = state_end
        return loss, grads
