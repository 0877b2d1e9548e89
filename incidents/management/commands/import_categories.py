"""Load a three-level category taxonomy from a CSV file into the category tree.

Running it again with the same file and options changes nothing.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.taxonomy import (
    DEFAULT_ROLE_MAP,
    HEADER,
    TaxonomyInvalid,
    category_import_taxonomy,
    check_role_map_names,
    parse_role_map,
    read_taxonomy_file,
)


class Command(BaseCommand):
    help = (
        f"Create the categories of a CSV file with the columns {','.join(HEADER)}, "
        "one row per third-level category. Categories created by an earlier run "
        "stay as they are. A file with any bad row writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The CSV file, UTF-8 or GB18030.")
        parser.add_argument(
            "--root-code",
            metavar="CODE",
            help="Code of the category to import under; default: the first-level "
            "categories become roots.",
        )
        parser.add_argument(
            "--role-map",
            action="append",
            default=[],
            metavar="NAME=ROLE[,NAME=ROLE...]",
            help="Role for the first-level category NAME, overriding the default "
            "map; NAME= sets no role. May be given more than once.",
        )
        parser.add_argument(
            "--no-default-roles",
            action="store_true",
            help="Start from an empty role map instead of the default one.",
        )
        parser.add_argument(
            "--public",
            action="store_true",
            help="Let residents pick the imported categories; default: staff and "
            "grid members only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            taxonomy = read_taxonomy_file(path)
            overrides = parse_role_map(options["role_map"])
            check_role_map_names(overrides, taxonomy)
            base = {} if options["no_default_roles"] else DEFAULT_ROLE_MAP
            result = category_import_taxonomy(
                taxonomy=taxonomy,
                root_code=options["root_code"],
                role_map={**base, **overrides},
                is_public=options["public"],
            )
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        except TaxonomyInvalid as invalid:
            for problem in invalid.errors:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(
                f"{len(invalid.errors)} errors; no category was written."
            ) from None

        levels = ", ".join(str(count) for count in result.created_per_level)
        self.stdout.write(
            f"{result.rows} rows read; {result.created} categories created "
            f"(per level: {levels}), {result.existing} already present."
        )
