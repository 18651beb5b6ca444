"""Scores of trained models: accuracy, macro-F1 and confusion matrices of classifiers, BIO
entity spans and entity-level precision / recall / F1 of taggers, BLEU and chrF of
translations and captions. Their pictures are drawn by ``rnnkit.plots``."""
