"""Check that the committed message catalogs match the code.

Fails when a compiled django.mo differs from what its django.po compiles to.
Fails too when a msgid that the code uses is missing from the Simplified
Chinese catalog, or when an entry there is untranslated or fuzzy, because
Django then shows the English msgid. Run it from the repository root with
the project's Python; it needs GNU gettext (msgfmt, xgettext, msgmerge).
"""

import ast
import gettext
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
CHECKED_LANGUAGE = "zh_Hans"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "var", "node_modules", "__pycache__", "*.mo", ".*_cache"
)

Key = tuple[str | None, str, str | None]


def parse_po(path: Path) -> dict[Key, tuple[list[str], set[str]]]:
    """Map each live entry of a .po file to its msgstr list and flags.

    Keys are (msgctxt, msgid, msgid_plural); the header and obsolete ``#~``
    entries are left out.
    """
    entries: dict[Key, tuple[list[str], set[str]]] = {}
    fields: dict[str, str] = {}
    flags: set[str] = set()
    current = ""

    def flush() -> None:
        if "msgid" in fields and fields["msgid"]:
            key = (fields.get("msgctxt"), fields["msgid"], fields.get("msgid_plural"))
            strings = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            entries[key] = (strings, set(flags))

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:
            if fields:
                flush()
            fields, flags, current = {}, set(), ""
            continue
        if line.startswith("#,"):
            flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            # References, translator comments, previous msgids (#|) and
            # obsolete entries (#~).
            continue
        if line.startswith('"'):
            fields[current] += ast.literal_eval(line)
            continue
        keyword, _, literal = line.partition(" ")
        current = keyword
        fields[current] = ast.literal_eval(literal)
    return entries


def check_compiled(po_path: Path, scratch: Path) -> list[str]:
    mo_path = po_path.with_suffix(".mo")
    fresh = scratch / f"{po_path.parent.parent.name}.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(fresh), str(po_path)], check=True
    )
    if not mo_path.exists():
        return [f"{mo_path.relative_to(ROOT)} is missing; run `make messages`."]

    with mo_path.open("rb") as committed, fresh.open("rb") as compiled:
        committed_catalog = gettext.GNUTranslations(committed)._catalog
        compiled_catalog = gettext.GNUTranslations(compiled)._catalog
    if committed_catalog != compiled_catalog:
        return [
            f"{mo_path.relative_to(ROOT)} does not match its .po; "
            "run `make messages` and commit both files."
        ]
    return []


def extract_current(scratch: Path) -> dict[Key, tuple[list[str], set[str]]]:
    """Run makemessages on a copy of the tree and return its fresh catalog."""
    copy = scratch / "tree"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            CHECKED_LANGUAGE,
            "--ignore=.venv",
            "--ignore=var",
            "-v0",
        ],
        cwd=copy,
        check=True,
    )
    return parse_po(copy / "locale" / CHECKED_LANGUAGE / "LC_MESSAGES" / "django.po")


def describe(key: Key) -> str:
    context, msgid, _ = key
    text = msgid if len(msgid) <= 70 else msgid[:67] + "..."
    return f"{text!r}" + (f" (context {context!r})" if context else "")


def main() -> int:
    problems: list[str] = []
    catalogs = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))
    checked = LOCALE / CHECKED_LANGUAGE / "LC_MESSAGES" / "django.po"
    if checked not in catalogs:
        print(f"catalogs: {checked.relative_to(ROOT)} is missing.")
        return 1

    with tempfile.TemporaryDirectory(prefix="westgarden-catalogs-") as name:
        scratch = Path(name)
        for po_path in catalogs:
            problems += check_compiled(po_path, scratch)
        current = extract_current(scratch)

    committed = parse_po(checked)
    missing = sorted(set(current) - set(committed), key=str)
    untranslated = sorted(
        (key for key, (strings, _) in committed.items() if not all(strings)),
        key=str,
    )
    fuzzy = sorted(
        (key for key, (_, flags) in committed.items() if "fuzzy" in flags), key=str
    )
    for key in missing:
        problems.append(f"missing from {CHECKED_LANGUAGE}: {describe(key)}")
    for key in untranslated:
        problems.append(f"untranslated in {CHECKED_LANGUAGE}: {describe(key)}")
    for key in fuzzy:
        problems.append(f"fuzzy in {CHECKED_LANGUAGE}: {describe(key)}")

    for problem in problems:
        print(f"catalogs: {problem}")
    if problems:
        print(
            f"catalogs: failed, see the {len(problems)} lines above; run "
            f"`make messages`, translate the new entries in "
            f"locale/{CHECKED_LANGUAGE}, then run it again."
        )
        return 1
    print(
        f"catalogs: {len(catalogs)} compiled catalogs current; {len(committed)} "
        f"{CHECKED_LANGUAGE} entries cover all {len(current)} msgids in the code."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
