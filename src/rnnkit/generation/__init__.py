"""Generation from recurrent models: sampling (temperature, top-k, top-p) and beam search.

Both read the prime once and then carry the state one token at a time. They need only
``model(idx (T, B), state=) -> (logits, loss, state)`` and
``model.step(tokens (B,), state) -> (logits (B, V), state)``.

from rnnkit.generation import beam_search, generate
ids = generate(model, vocab.encode("ROMEO:"), 200, temperature=0.8, top_p=0.95, seed=0)
best = beam_search(model, vocab.encode("ROMEO:"), 40, beam_size=5, length_penalty=0.6)
"""

from rnnkit.generation.beam_search import BeamResult, beam_search, length_normalizer, reorder_state
from rnnkit.generation.sampling import evaluating, filter_logits, generate, prime, sample_next

__all__ = [
    "BeamResult",
    "beam_search",
    "evaluating",
    "filter_logits",
    "generate",
    "length_normalizer",
    "prime",
    "reorder_state",
    "sample_next",
]
