from django.db import migrations

# The categories every street office starts with; reference data, not demo
# data. docs/categories.md explains the roles and deadlines. Minutes of
# working time count only working hours: with the default hours
# (08:30-12:00, 13:30-17:30) a working day has 450 minutes.
# (code, name, role, urgent, accept minutes, resolve minutes, time basis)
DEFAULT_CATEGORIES = [
    ("noise-nuisance", "噪音扰民", "mediator", False, 120, 1350, "working"),
    ("neighbour-dispute", "邻里纠纷", "mediator", False, 240, 2250, "working"),
    ("safety-hazard", "安全隐患", "inspector", True, 30, 1440, "calendar"),
    ("sanitation", "环境卫生", "coordinator", False, 240, 1350, "working"),
    ("facility-repair", "设施报修", "coordinator", False, 240, 2250, "working"),
    ("policy-question", "政策咨询", "publicist", False, 240, 1350, "working"),
    ("service-request", "服务需求", "collector", False, 240, 2250, "working"),
    ("merchant-complaint", "商户投诉", "coordinator", False, 240, 2250, "working"),
]


def create_default_categories(apps, schema_editor):
    # Historical models are plain models without django-mptt's manager, so
    # each category is written as a one-node tree of its own.
    Category = apps.get_model("incidents", "Category")
    existing = set(
        Category.objects.filter(
            code__in=[row[0] for row in DEFAULT_CATEGORIES]
        ).values_list("code", flat=True)
    )
    last_tree_id = (
        Category.objects.order_by("-tree_id").values_list("tree_id", flat=True).first()
        or 0
    )
    for order, row in enumerate(DEFAULT_CATEGORIES, start=1):
        code, name, role, is_urgent, accept, resolve, basis = row
        if code in existing:
            continue
        last_tree_id += 1
        Category.objects.create(
            code=code,
            name=name,
            role=role,
            is_urgent=is_urgent,
            accept_minutes=accept,
            resolve_minutes=resolve,
            time_basis=basis,
            is_public=True,
            is_active=True,
            sort_order=order * 10,
            parent=None,
            tree_id=last_tree_id,
            lft=1,
            rght=2,
            level=0,
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    # Reversing keeps the rows: tickets may point at them.
    operations = [
        migrations.RunPython(create_default_categories, migrations.RunPython.noop)
    ]
