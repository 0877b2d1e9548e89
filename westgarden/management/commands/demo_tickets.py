from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from grids.models import Grid, Place
from incidents.replay import replay_messages
from westgarden.demo.tickets import sample_messages

# General grid 1 of the demo structure, which demo-leader leads.
DEMO_LEADER_GRID_CODE = "TR-01"


class Command(BaseCommand):
    help = (
        "Submit sample tickets that the demo writes itself, route them, answer some "
        "and let a simulated working day pass so that others escalate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=120, help="Number of tickets.")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the samples.")
        parser.add_argument(
            "--simulate-hours",
            type=float,
            default=10.0,
            help="Hours that pass on the simulated clock after intake.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even though DEBUG is off.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off, so this may be a production database; "
                "pass --allow-production to add sample tickets anyway."
            )
        if options["count"] < 0:
            raise CommandError(f"--count={options['count']} must not be negative.")

        # The tickets go to the subtree of the demo leader's general grid, so
        # that the demo logins find them in their inboxes.
        leader_grid = Grid.objects.filter(code=DEMO_LEADER_GRID_CODE).first()
        places = None
        if leader_grid is not None:
            places = Place.objects.filter(
                is_active=True,
                grid__tree_id=leader_grid.tree_id,
                grid__lft__gt=leader_grid.lft,
                grid__rght__lt=leader_grid.rght,
            )
        try:
            report = replay_messages(
                sample_messages(options["count"], seed=options["seed"]),
                key_prefix="demo",
                seed=options["seed"],
                simulate_hours=options["simulate_hours"],
                answer_share=0.4,
                places=places,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        for line in report.lines():
            self.stdout.write(line)
