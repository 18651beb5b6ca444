"""Task models: embedding -> rnnkit recurrent layers -> head, returning raw logits.

from rnnkit.models import LanguageModel, LanguageModelConfig
model = LanguageModel(LanguageModelConfig(cell="lstm", hidden_size=256), vocab_size=65)
logits, loss, state = model(idx, targets, state)   # idx, targets (T, B); logits (T, B, V)
logits, state = model.step(tokens, state)          # tokens (B,): one step of generation
"""

from rnnkit.models.language_model import CELLS, EMBEDDINGS, LanguageModel, LanguageModelConfig

__all__ = ["CELLS", "EMBEDDINGS", "LanguageModel", "LanguageModelConfig"]
