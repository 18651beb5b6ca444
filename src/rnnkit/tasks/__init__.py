"""Tasks: what to learn, each declared as a ``TaskSpec`` and run by one lifecycle.

spec            ``TaskSpec``: the hooks a task declares (prepare, reopen, record, describe,
                summary, and the optional baselines, score, predict, export)
registry        every task by name: the one line that registers a new task
lifecycle       what every task does the same way: train, resume, evaluate, predict, reading
                a run directory (``format_version``) and opening its checkpoints

The tasks, each a module with its hooks and ``SPEC`` (most also a ``_config`` module with
their configuration dataclasses and a ``_runs`` module that uses a finished run):

charlm          next-character prediction with truncated BPTT (presets quick, char-rnn,
                large, smoke); ``charlm_numpy`` runs it on the NumPy reference engine,
                ``charlm_gradients`` diagnoses a trained one
classify        many-to-one: a label per sequence, with majority and logistic-regression
                baselines, ensembles of runs
tag             many-to-many aligned: a tag per token, BIO entities, most-frequent-tag
                baseline
seq2seq         many-to-many unaligned: translation, with or without attention
caption         one-to-many: an image in, a caption out
vqa             visual question answering on generated scenes (``vqa_task``, ``vqa_predict``,
                ``vqa_baselines``)
forecast        real-valued series, direct or recursive, with naive, seasonal naive and
                ARIMA baselines
parity          the worked example of docs/adding-a-task.md: a whole task in one module

Shared by some: ``labelled`` (classify and tag: length-bucketed batches, their data's record
and fingerprint, loading a run's model), ``encoder_decoder`` (seq2seq and caption: BLEU
selection, loading a run).
"""
