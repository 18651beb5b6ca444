"""Scores of trained classifiers and taggers: accuracy, macro-F1, confusion matrices (and
their pictures), BIO entity spans and entity-level precision / recall / F1."""
