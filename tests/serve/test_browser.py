"""The studio in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright through ``executable_path``; nothing downloads a browser) against a real
``rnnkit serve`` on localhost. The page loads without console errors, text streams into the
Write view, a unit's colouring and the feature table appear in the Neurons view.

``RNNKIT_SCREENSHOTS=docs/images pytest tests/serve/test_browser.py`` also saves a screenshot
of each view (docs/studio.md shows them)."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.tasks.caption_fixtures import write_shapes_folder

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a test extra")

FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"
CHROMIUM = os.environ.get("RNNKIT_CHROMIUM") or shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "no chromium on PATH: install Debian's (apt-get install chromium; .ci/run does) or set "
        "RNNKIT_CHROMIUM",
        allow_module_level=True,
    )
SHOTS = os.environ.get("RNNKIT_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.wait_for_selector("#run-table tbody tr")
    page.console_errors = errors
    yield page
    assert errors == []
    page.close()


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"studio-{name}.png"), full_page=True)


def test_runs_view_lists_the_runs_and_draws_the_loss(page):
    rows = page.locator("#run-table tbody tr")
    assert rows.count() == 5
    assert "charlm" in page.inner_text("#run-table")
    page.click("#run-table tbody tr[data-id=charlm]")
    page.wait_for_selector("#curve path")
    assert page.locator("#curve path").count() == 2  # training loss and validation
    shot(page, "runs")


def test_runs_view_shows_a_figure_json_cannot_hold_and_a_gone_run_as_such(page):
    """A diverged run's NaN best validation loss comes as null in /api/runs, which the table
    showed as 0.0000; a run whose folder has gone showed as an 'unknown' run."""

    def diverged_and_gone(route):
        answer = route.fetch()
        said = answer.json()
        for run in said["runs"]:
            if run["id"] == "charlm":
                run["best"] = {"val_loss": None, "val_bpc": 1.5}
            run["gone"] = run["id"] == "seq2seq"
        route.fulfill(response=answer, json=said)

    page.route("**/api/runs", diverged_and_gone)
    page.reload()
    page.wait_for_selector("#run-table tbody tr[data-id=charlm]")
    cells = page.locator("#run-table tbody tr[data-id=charlm] td")
    assert cells.nth(4).inner_text() == "val_loss n/a, val_bpc 1.5000"
    assert page.locator("#run-table tbody tr[data-id=seq2seq] td").nth(1).inner_text() == "gone"


def test_write_streams_text_with_its_probabilities(page, server):
    page.select_option("#run", "charlm")
    page.click("nav button[data-view=write]")
    page.fill("#write-form input[name=length]", "60")
    page.fill("#write-form input[name=seed]", "7")
    page.click("#write-form button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#written span').length === 60")
    written = page.inner_text("#written")
    expected = (
        urllib.request.urlopen(
            f"{server}/api/runs/charlm/write?prime=ROMEO:&length=60&seed=7&temperature=0.8"
        )
        .read()
        .decode()
    )
    chars = [line[6:] for line in expected.split("\n") if line.startswith('data: {"char')]

    assert written == "ROMEO:" + "".join(json.loads(c)["char"] for c in chars)
    page.hover("#written span >> nth=5")
    assert "p = " in page.inner_text("#tooltip")
    shot(page, "write")


def test_a_bad_prime_shows_the_servers_message(page):
    page.select_option("#run", "charlm")
    page.click("nav button[data-view=write]")
    page.fill("#write-form input[name=prime]", "ROMEO:\u00e9")
    page.click("#write-form button[type=submit]")
    page.wait_for_selector("#error:not([hidden])")
    assert "not in the run's vocabulary" in page.inner_text("#error")
    refused = "the server responded with a status of 400"  # the request the test made bad
    assert any(refused in error for error in page.console_errors)
    page.console_errors[:] = [e for e in page.console_errors if refused not in e]


def test_neurons_colours_the_text_and_ranks_units(page):
    page.select_option("#run", "charlm")
    page.click("nav button[data-view=neurons]")
    text = page.input_value("#neuron-form textarea")
    page.click("#neuron-form button[type=submit]")
    page.wait_for_function(f"document.querySelectorAll('#coloured span').length === {len(text)}")
    assert page.locator("#features tbody tr").count() == 5
    assert page.locator("#saturation svg").count() == 3  # input, forget and output gates
    page.click("#features tbody tr >> nth=0")  # show the unit that tracks the first feature
    page.wait_for_function("document.querySelector('#coloured span') !== null")
    shot(page, "neurons")


def test_neurons_takes_a_slice_of_the_validation_split(page, server):
    page.select_option("#run", "charlm")
    page.click("nav button[data-view=neurons]")
    form = "#validation-form"
    page.fill(f"{form} input[name=start]", "10")
    page.fill(f"{form} input[name=length]", "60")
    page.click(f"{form} button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#coloured span').length === 60")
    piece = json.loads(
        urllib.request.urlopen(f"{server}/api/runs/charlm/validation?start=10&length=60").read()
    )
    assert page.input_value("#neuron-form textarea") == piece["text"]
    assert page.inner_text("#coloured") == piece["text"]
    assert "characters 10..69 of the 150" in page.inner_text("#validation-note")
    page.fill(f"{form} input[name=start]", "")  # at random, from a seed
    page.fill(f"{form} input[name=seed]", "3")
    page.click(f"{form} button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#validation-note').innerText.endsWith('seed 3')"
    )
    page.select_option("#run", "classify")  # an example by its index: no length
    assert page.locator("#validation-length").is_hidden()
    page.fill(f"{form} input[name=start]", "1")
    page.click(f"{form} button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#validation-note').innerText.includes('example 1')"
    )
    piece = json.loads(
        urllib.request.urlopen(f"{server}/api/runs/classify/validation?start=1").read()
    )
    assert page.input_value("#neuron-form textarea") == piece["text"]
    request = urllib.request.Request(
        f"{server}/api/runs/classify/neurons",
        data=json.dumps({"text": piece["text"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    pieces = json.loads(urllib.request.urlopen(request).read())["pieces"]
    page.wait_for_function(
        f"document.querySelector('#coloured').innerText === {json.dumps(' '.join(pieces))}"
    )
    shot(page, "neurons-validation")
    page.fill(f"{form} input[name=start]", "99")  # past the split: the server's message
    page.click(f"{form} button[type=submit]")
    page.wait_for_function("!document.querySelector('#error').hidden")
    assert "index must be in 0..3, got 99" in page.inner_text("#error")
    refused = "the server responded with a status of 400"
    page.console_errors[:] = [e for e in page.console_errors if refused not in e]


def test_neurons_and_gradients_of_a_caption_runs_decoder(page):
    page.select_option("#run", "caption")
    page.click("nav button[data-view=neurons]")
    page.fill("#neuron-form textarea", "green circle")
    page.fill("#neuron-form input[name=test_index]", "1")
    page.click("#neuron-form button[type=submit]")
    said = "document.querySelector('#coloured').innerText"
    page.wait_for_function(f"{said} === '<start> green circle'")
    assert page.locator("#saturation svg").count() == 3
    page.click("nav button[data-view=gradients]")
    page.fill("#gradient-form textarea", "green circle")
    page.fill("#gradient-form input[name=test_index]", "2")
    page.click("#gradient-form button[type=submit]")
    page.wait_for_selector("#gradient-plot path.flow")
    assert page.locator("#gradient-plot path.flow").count() == 2  # the LSTM's h and c
    page.select_option("#run", "charlm")  # no test image for a char model
    assert page.locator("#gradient-form input[name=test_index]").is_hidden()


def test_predict_draws_a_translations_attention_and_a_classifiers_labels(page):
    page.select_option("#run", "seq2seq")
    page.click("nav button[data-view=predict]")
    page.fill("#predict-form input[name=text]", "in the beginning god created the heaven")
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#attention table")
    rows = page.locator("#attention tr")
    assert rows.count() >= 2  # the source words, then one row per word written and <eos>
    assert page.locator("#attention td[title]").count() > 0
    shot(page, "attention")
    page.select_option("#run", "classify")
    page.fill("#predict-form input[name=text]", "Nakamura")
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#labels .bar")
    assert page.locator("#labels .bar").count() == 2  # the fixture's two classes


def test_predict_shows_where_a_captioner_looked(page, tmp_path):
    image = sorted(write_shapes_folder(tmp_path / "shapes").glob("*.png"))[0]
    page.select_option("#run", "caption")
    page.click("nav button[data-view=predict]")
    page.set_input_files("#predict-form input[name=image]", str(image))
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#words .word")
    page.hover("#words .word >> nth=0")
    page.wait_for_timeout(200)
    assert page.locator("#captioned canvas").count() == 1
    shot(page, "caption")


def test_predict_plots_a_forecast_against_the_series_and_the_baselines(page):
    page.select_option("#run", "forecast")
    page.click("nav button[data-view=predict]")
    page.fill("#predict-form input[name=steps]", "8")
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#forecast-plot path.future")
    methods = page.eval_on_selector_all(
        "#forecast-plot path.forecast", "paths => [...new Set(paths.map(p => p.dataset.method))]"
    )
    assert methods[0] == "RNN" and "naive" in methods and "seasonal naive" in methods
    assert page.locator("#forecast-plot path.series").count() == 1
    assert page.locator("#forecast-table tr").count() == 1 + len(methods)
    shot(page, "forecast")


def test_neurons_colours_the_words_a_classifier_reads(page, server):
    text = 'a fine , moving film ( really ) . "the best" of the year'
    page.select_option("#run", "classify")
    page.click("nav button[data-view=neurons]")
    page.fill("#neuron-form textarea", text)
    page.click("#neuron-form button[type=submit]")
    pieces = ask_neurons(server, "classify", text)["pieces"]
    page.wait_for_function(f"document.querySelectorAll('#coloured span').length === {len(pieces)}")
    assert page.inner_text("#coloured") == " ".join(pieces)
    assert page.locator("#neuron-form select[name=kind] option").count() == 2  # h and c
    page.select_option("#neuron-form select[name=kind]", "c")
    page.fill("#neuron-form input[name=unit]", "3")
    page.click("#neuron-form button[type=submit]")
    values = ask_neurons(server, "classify", text, kind="c", unit=3)["activation"]["values"]
    page.wait_for_function(  # this answer drawn, not only the one before it
        f"document.querySelector('#coloured span').title === {json.dumps(f'{values[0]:.3f}')}"
    )
    shot(page, "neurons-classify")
    page.select_option("#run", "charlm")  # the cell and state start again from the first
    assert page.input_value("#neuron-form select[name=kind]") == "h"
    page.click("#neuron-form button[type=submit]")
    page.wait_for_function(f"document.querySelector('#coloured').innerText === {json.dumps(text)}")
    assert page.locator("#error").is_hidden()  # characters, each its own span


def ask_neurons(server, run, text, **choice) -> dict:
    """The server's neurons answer for a run, asked directly (what the page should draw)."""
    request = urllib.request.Request(
        f"{server}/api/runs/{run}/neurons",
        data=json.dumps({"text": text, **choice}).encode(),
        headers={"Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(request).read())


def test_an_answer_for_a_run_no_longer_selected_is_not_drawn(page):
    """A slow answer (held back here) that comes after the user picked another run is
    dropped: the page never shows one run's neurons, cells or choices under another's name."""
    held = []
    page.route("**/api/runs/classify/neurons", lambda route: held.append(route))
    page.select_option("#run", "classify")
    page.click("nav button[data-view=neurons]")
    page.fill("#neuron-form textarea", "a fine film")
    page.click("#neuron-form button[type=submit]")
    deadline = time.time() + 30
    while not held:  # the page's request reaches the route
        assert time.time() < deadline, "the page never asked for the classifier's neurons"
        page.wait_for_timeout(20)
    page.select_option("#run", "charlm")
    page.fill("#neuron-form textarea", "ROMEO:")
    with page.expect_response("**/api/runs/charlm/neurons"):
        page.click("#neuron-form button[type=submit]")
    page.wait_for_function("document.querySelector('#coloured').innerText === 'ROMEO:'")
    with page.expect_response("**/api/runs/classify/neurons"):
        held[0].continue_()
    page.wait_for_timeout(300)  # the page has its answer: time for it to (wrongly) draw it
    page.unroute("**/api/runs/classify/neurons")
    assert page.inner_text("#coloured") == "ROMEO:"
    assert page.input_value("#neuron-form select[name=kind]") == "h"
    assert page.locator("#neuron-form select[name=kind] option").count() == 2  # charlm's LSTM
    assert page.locator("#error").is_hidden()


def test_gradients_view_draws_the_gradient_norm_per_step(page):
    page.select_option("#run", "charlm")
    page.click("nav button[data-view=gradients]")
    text = page.input_value("#gradient-form textarea")
    page.select_option("#gradient-form select[name=loss]", "sum")
    page.click("#gradient-form button[type=submit]")
    page.wait_for_selector("#gradient-plot path.flow")
    assert page.locator("#gradient-plot path.flow").count() == 2  # the LSTM's h and c
    assert page.locator("#gradient-text span").count() == len(text) - 1  # each predicts the next
    assert "memory horizon" in page.inner_text("#gradient-note")
    shot(page, "gradients")
    page.select_option("#run", "forecast")
    page.click("#gradient-form button[type=submit]")
    page.wait_for_function(  # the last window of its test part, by the series' dates
        "[...document.querySelectorAll('#gradient-plot text.piece')]"
        ".some(t => t.textContent.startsWith('200'))"
    )
    assert page.locator("#gradient-plot path.flow").count() == 2
