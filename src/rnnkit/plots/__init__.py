"""Every figure rnnkit draws: matplotlib's Agg canvas (no pyplot state, no screen), written as
PNG atomically so that a reader never sees half a file.

The functions take plain data (numbers, lists, arrays, strings, paths) and return the PNG's
path; they know nothing of runs, tasks, models or diagnoses, so training, evaluation,
diagnostics, experiments and tasks all draw with them.

Modules (import them directly; this package imports nothing, so ``rnnkit --help`` stays fast):

    canvas         ``new_figure``, ``save_png``: the figure and its atomic PNG
    curves         a run's loss curves, an experiment's learning curves, the exploding-
                   gradient experiment's two panels
    gradient_flow  log10 gradient norm against distance back in time
    heatmaps       a confusion matrix, a translation's attention, a caption's attention laid
                   over the image
    forecasts      a series' test forecasts, and its forecast past the end
"""
