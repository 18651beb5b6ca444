"""Tasks: what to learn, plugged into the one ``rnnkit.training.Trainer`` through small hooks.

charlm          next-character prediction with truncated BPTT (the task's hooks,
                ``train``, ``resume``)
charlm_config   its configuration dataclasses and presets (quick, char-rnn, large, smoke)
charlm_runs     load a run, ``sample_run``, ``evaluate_run``
charlm_numpy    the same job on the NumPy reference engine (``--engine numpy``)
"""
