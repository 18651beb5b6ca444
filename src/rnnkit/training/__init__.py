"""Training: typed configuration, one task-agnostic ``Trainer``, checkpoints as data.

Modules (import them directly):

    config       OptimizerConfig, ScheduleConfig, TrainerConfig; overrides; ``parse_duration``
    task         the hooks a task gives the trainer (``Task``, ``StepOutput``)
    trainer      ``Trainer``: the loop, clipping, evaluation, checkpoints, stopping
    bookkeeping  the Trainer's counters (``TrainerState``), step sums, ``TrainResult``
    optimizers   ``build_optimizer``: the optimizer a config names
    schedules    warmup, cosine, reduce-on-plateau
    checkpoint   safetensors + JSON, written atomically, verified on load
    state        optimizer and random-generator state as tensors + JSON
    metrics      metrics.jsonl, TensorBoard, the loss-curve PNG
    progress     the progress bar and its logging twin
    run_dir      the layout of a run directory
"""
