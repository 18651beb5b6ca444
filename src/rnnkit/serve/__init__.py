"""rnnkit studio: a local web page that looks inside trained runs (``rnnkit serve``).

``runs`` finds the run directories and reads their records; ``write`` streams a char
model's text with its probabilities; ``neurons`` traces every unit over a text; ``app`` is
the web application, and ``static/`` the page, which loads nothing from the internet.
"""
