"""Check the grids table for a corrupt tree: exit 1 and list the problems."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from grids.locks import lock_grid_tree
from grids.models import Grid
from grids.queries import grid_tree_problems


class Command(BaseCommand):
    help = (
        "Check lft, rght, tree_id and level of every grid and the 3+1 parent "
        "kinds. Print one line if the tree is sound; otherwise list each "
        "problem and exit with status 1."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # With the tree lock held, no grid is added or moved between the check
        # and the counts, so the summary describes the tree that was checked.
        with transaction.atomic():
            lock_grid_tree()
            problems = grid_tree_problems()
            grid_count = Grid.objects.count()
            tree_count = Grid.objects.filter(parent__isnull=True).count()

        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(
                _("The grid tree has %(count)d problems; see the lines above.")
                % {"count": len(problems)}
            )

        self.stdout.write(
            _("Grid tree OK: %(grids)d grids in %(trees)d trees.")
            % {"grids": grid_count, "trees": tree_count}
        )
