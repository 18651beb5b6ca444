"""The SWORD text cleaner on real verses' markup (copied from the two modules), and the
bible.tsv table. Nothing here needs pysword, the Debian packages or /usr/share/sword."""

import pytest

from rnnkit.data.bible import VersePair, bible_files, clean_sword_text, pairs_tsv
from rnnkit.data.parallel import read_bible_tsv

# Genesis 1:1, KJV and Reina-Valera 1909, exactly as pysword returns them with clean=False
GENESIS_1_1 = (
    'In the <w lemma="strong:H7225">beginning</w> <w lemma="strong:H0430">God</w> '
    '<w lemma="strong:H1254">created</w> the <w lemma="strong:H8064">heaven</w> '
    '<w lemma="strong:H0853">and</w> the <w lemma="strong:H0776">earth</w>. '
)
GENESIS_1_1_ES = (
    '<w lemma="strong:H7225">EN el principio</w> <w lemma="strong:H1254">crió</w> '
    '<w lemma="strong:H0430">Dios</w> <w lemma="strong:H8064">los cielos</w> '
    '<w lemma="strong:H0776">y la tierra</w>. '
)
# Genesis 2:4: milestones, a pilcrow, an added word, the divine name
GENESIS_2_4 = (
    '<div type="x-milestone" subType="x-preverse" sID="pv9"/><div sID="gen13" type="x-p"/> '
    '<div type="x-milestone" subType="x-preverse" eID="pv9"/>\u00b6 <w lemma="strong:H0428">'
    'These</w> <transChange type="added">are</transChange> the <w lemma="strong:H8435">'
    'generations</w> of the <w lemma="strong:H8064">heavens</w>, in the <w lemma="strong:H3117">'
    'day</w> that the <divineName><w lemma="strong:H3068">LORD</w></divineName> '
    '<w lemma="strong:H0430">God</w> <w lemma="strong:H6213">made</w> the earth, '
)
# Romans 16:27 ends with the epistle's subscript, a <title> that is not part of the verse
ROMANS_16_27 = (
    'To <w lemma="strong:G2316">God</w> <w lemma="strong:G3441">only</w> wise, '
    '<transChange type="added">be</transChange> glory for ever. <w lemma="strong:G0281">Amen'
    '</w>.  <div eID="gen9005" type="x-p"/> <chapter eID="Rom.16"/> <title>Written to the '
    'Romans from Corinthus, <transChange type="added">and sent</transChange> by Phebe.</title> '
    '<div canonical="true"/>'
)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        (GENESIS_1_1, "In the beginning God created the heaven and the earth."),
        (GENESIS_1_1_ES, "EN el principio crió Dios los cielos y la tierra."),
        (
            GENESIS_2_4,
            "These are the generations of the heavens, in the day that the LORD God made "
            "the earth,",
        ),
        (ROMANS_16_27, "To God only wise, be glory for ever. Amen."),
        ("And the \\nd LORD spake unto Moses, saying,", "And the LORD spake unto Moses, saying,"),
        (
            'he said<note type="x-footnote">Or, <hi>wept</hi></note>: [but] &amp; he',
            "he said: but & he",
        ),
        ("one<lb/>two\n\tthree  <l>four</l>", "one two three four"),
        ("", ""),
    ],
)
def test_clean_sword_text(markup, text):
    assert clean_sword_text(markup) == text


def test_bible_table_round_trip(tmp_path):
    pairs = [
        VersePair("Genesis", 1, 1, "In the beginning.", "EN el principio."),
        VersePair("I John", 2, 23, "Whosoever denieth the Son,", "Cualquiera que niega al Hijo,"),
    ]
    path = tmp_path / "bible.tsv"
    path.write_bytes(pairs_tsv(pairs))
    read, origins = read_bible_tsv(path)
    assert read == [(p.en, p.es) for p in pairs]
    assert origins == ["Genesis 1:1", "I John 2:23"]


def test_bible_table_errors(tmp_path):
    path = tmp_path / "bible.tsv"
    path.write_text("en\tes\nIn\tEn\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not rnnkit's bible.tsv"):
        read_bible_tsv(path)
    path.write_text("book\tchapter\tverse\ten\tes\nGenesis\t1\t1\tIn\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: expected 5 fields, got 4"):
        read_bible_tsv(path)


def test_the_spanish_package_must_lie_beside_the_english_one(tmp_path):
    deb = tmp_path / "sword-text-kjv_14.3-1_all.deb"
    deb.write_bytes(b"!<arch>\n")
    with pytest.raises(ValueError, match="sword-text-sparv_\\*.deb in the same folder"):
        next(bible_files(deb))


def test_fetch_downloads_both_packages_and_hands_on_the_english_one(tmp_path, monkeypatch):
    import subprocess

    from rnnkit.data import fetch

    seen = []

    def run(command, cwd, **options):
        seen.append(command)
        for name in ("sword-text-kjv_14.3-1_all.deb", "sword-text-sparv_2.60-1_all.deb"):
            (cwd / name).write_bytes(b"deb")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(fetch.subprocess, "run", run)
    monkeypatch.setattr(fetch.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    deb = fetch.download_archive("bible", fetch.RECIPES["bible"], tmp_path / "d")
    assert seen == [["/usr/bin/apt-get", "download", "sword-text-kjv", "sword-text-sparv"]]
    assert deb.name == "sword-text-kjv_14.3-1_all.deb"
