"""Tasks: what to learn, plugged into the one ``rnnkit.training.Trainer`` through small hooks.

Each task has a module with its hooks, ``train`` and ``resume``; a ``_config`` module with its
configuration dataclasses; and a ``_runs`` module that loads a finished run to use it.

charlm          next-character prediction with truncated BPTT (presets quick, char-rnn,
                large, smoke); ``charlm_numpy`` runs it on the NumPy reference engine
classify        many-to-one: a label per sequence, with majority and logistic-regression
                baselines
tag             many-to-many aligned: a tag per token, BIO entities, most-frequent-tag
                baseline
labelled        what classify and tag share: length-bucketed batches, their data's record
                and fingerprint check, loading a finished run's model
seq2seq         many-to-many unaligned: translation, with or without attention
caption         one-to-many: an image in, a caption out
forecast        real-valued series, direct or recursive, with naive, seasonal naive and
                ARIMA baselines (``rnnkit.data.series_windows``: splits, scaling, windows)
runs            what their ``train`` / ``resume`` share: reading a run, building the
                Trainer, reopening a run at its last checkpoint, loading the best one
"""
