"""Baselines computed beside every classification and tagging run, on the same splits, so a
model's figure always comes with the figure it has to beat."""
