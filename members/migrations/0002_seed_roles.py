from django.db import migrations

# The six roles of a micro-grid member; reference data, not demo data.
ROLES = [
    ("publicist", "宣传员", 1),
    ("collector", "收集员", 2),
    ("liaison", "联络员", 3),
    ("coordinator", "协调员", 4),
    ("inspector", "排查员", 5),
    ("mediator", "调解员", 6),
]


def seed_roles(apps, schema_editor):
    Role = apps.get_model("members", "Role")
    for code, name, order in ROLES:
        Role.objects.update_or_create(
            code=code, defaults={"name": name, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
