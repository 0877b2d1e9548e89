"""Replay of recorded citizen messages and the demo's own sample tickets."""

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Category, EventKind, Incident, IncidentEvent, State
from incidents.replay import read_messages, replay
from members.models import Assignment
from tests.incidents.replay_samples import write_board_file, write_nyc_file

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
BOARD_FILE = SHARED_DATA / "tipdm2020_messages_labeled.csv"
REPLIES_FILE = SHARED_DATA / "tipdm2020_messages_with_replies.csv"
NYC_FILE = SHARED_DATA / "nyc311_service_requests_sample.csv"


@pytest.fixture
def demo(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = True
    call_command("demo_data", "--scale", "0.05", stdout=StringIO())


def needs(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path


# Each replay test runs on a file written by the test and, where it lies next
# to the repository, on the recorded file.
@pytest.fixture(params=["written", "recorded"])
def board_file(request, tmp_path) -> Path:
    if request.param == "recorded":
        return needs(BOARD_FILE)
    return write_board_file(tmp_path)


@pytest.fixture(params=["written", "recorded"])
def replies_file(request, tmp_path) -> Path:
    if request.param == "recorded":
        return needs(REPLIES_FILE)
    return write_board_file(tmp_path, replies=True)


@pytest.fixture(params=["written", "recorded"])
def nyc_file(request, tmp_path) -> Path:
    if request.param == "recorded":
        return needs(NYC_FILE)
    return write_nyc_file(tmp_path)


def test_replay_routes_board_messages_to_demo_members(demo, board_file):
    report = replay(board_file, limit=60, answer_share=0)

    assert report.read == 60
    assert report.created == 60
    assert report.routed == 60
    assert len(report.latencies_ms) == 60
    serving = set(Assignment.objects.values_list("member_id", flat=True))
    routed_to = set(Incident.objects.values_list("assignee_id", flat=True))
    assert None not in routed_to
    assert routed_to <= serving


def test_replay_escalates_up_to_street_office(demo, board_file):
    # 120 simulated hours hold at least three weekdays from any start, and
    # the test database has no holidays.
    report = replay(board_file, limit=30, simulate_hours=120, answer_share=0)

    assert report.escalated[1] > 0
    assert report.triage > 0
    assert report.triage == Incident.objects.filter(needs_triage=True).count()


def test_replay_answers_with_official_reply(demo, replies_file):
    report = replay(replies_file, limit=20, answer_share=1.0)

    assert report.answered > 0
    resolved = Incident.objects.filter(state=State.RESOLVED)
    assert resolved.count() == report.answered
    with replies_file.open(encoding="utf-8") as source:
        replies = {row["答复意见"].strip() for row in csv.DictReader(source)}
    assert all(
        incident.reply in replies for incident in resolved if len(incident.reply) < 4000
    )


def test_replay_twice_creates_nothing_new(demo, board_file):
    replay(board_file, limit=10)
    second = replay(board_file, limit=10)

    assert second.created == 0
    assert Incident.objects.count() == 10


def test_replay_maps_nyc_complaints(demo, nyc_file):
    report = replay(nyc_file, limit=30)

    assert report.created == 30
    noise = Incident.objects.filter(category__code="noise-nuisance").count()
    nyc_noise = sum(
        1
        for message in read_messages(nyc_file, limit=30)
        if message.category_name.lower().startswith("noise")
    )
    assert noise == nyc_noise


def test_replay_rejects_unknown_columns(demo, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        call_command("replay_messages", str(path), stdout=StringIO())
    assert "unknown columns" in str(caught.value)


def test_replay_command_prints_report(demo, board_file):
    output = StringIO()
    call_command("replay_messages", str(board_file), "--limit", "5", stdout=output)

    assert "tickets created        5" in output.getvalue()
    assert "routing latency" in output.getvalue()


def test_demo_tickets_escalate_some_and_repeat_nothing(demo):
    output = StringIO()
    call_command(
        "demo_tickets", "--count", "40", "--simulate-hours", "120", stdout=output
    )
    first = Incident.objects.count()
    call_command("demo_tickets", "--count", "40", stdout=StringIO())

    assert first == 40
    assert Incident.objects.count() == 40
    assert IncidentEvent.objects.filter(kind=EventKind.ESCALATED).exists()
    assert Incident.objects.filter(state=State.RESOLVED).exists()
    assert "tickets created        40" in output.getvalue()


def test_demo_tickets_refuses_without_debug(demo, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError) as caught:
        call_command("demo_tickets", "--count", "1", stdout=StringIO())
    assert "--allow-production" in str(caught.value)


def test_replay_sweeps_leave_other_tickets_alone(demo, board_file):
    from grids.models import Place
    from incidents.actors import Actor
    from incidents.models import Channel
    from incidents.routing import incident_route
    from incidents.workflow import incident_submit

    real = incident_submit(
        category_id=Category.objects.get(code="noise-nuisance").pk,
        description="真实的噪音投诉",
        channel=Channel.PUBLIC_FORM,
        place_id=Place.objects.order_by("pk").first().pk,
        actor=Actor.resident(),
    )
    incident_route(incident_id=real.pk)
    real.refresh_from_db()

    report = replay(board_file, limit=10, simulate_hours=120, answer_share=0)
    after = Incident.objects.get(pk=real.pk)

    assert sum(report.escalated.values()) > 0
    assert after.escalation_level == 0
    assert after.accept_deadline == real.accept_deadline
    assert not after.events.filter(kind=EventKind.ESCALATED).exists()


def test_replay_command_refuses_without_debug(demo, settings, board_file):
    settings.DEBUG = False

    with pytest.raises(CommandError) as caught:
        call_command("replay_messages", str(board_file), stdout=StringIO())
    assert "--allow-production" in str(caught.value)
