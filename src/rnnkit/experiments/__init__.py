"""The long-dependency benchmarks: problems whose answer depends on inputs far back in time.

    adding.py          the adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015)
    copy_memory.py     the copy / memory task (Arjovsky, Shah & Bengio 2016)
    image_sequences.py images read row by row or pixel by pixel (digits, sequential MNIST)
    synthetic.py       Trainer hooks shared by the generated problems
    models.py          sequence -> one output (last step), sequence -> one output per step
    config.py          ExperimentConfig and the per-task defaults table
    runner.py          train every cell at every length, collect results, plot
    exploding.py       exploding gradients with and without clipping (a separate command)

``run_experiment(experiment_config("adding", cells=("lstm",), seq_lens=(50,)), "runs/exp")``
returns an ``ExperimentReport``; ``rnnkit experiment TASK`` is its command line. The learning
curves are drawn by ``rnnkit.plots.curves``.
"""
