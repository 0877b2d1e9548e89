"""Columns and accepted values of the members sheet of a roster."""

import re

from grids.roster.sheets import Choices, Column, SheetSpec
from members.models import (
    HeadTitle,
    OrganizationKind,
    Position,
    RoleCode,
    normalize_mobile_number,
)

MEMBER_SHEET = SheetSpec(
    kind="members",
    sheet_names=("members", "成员", "人员", "网格员"),
    columns=(
        Column("name", "姓名", ("姓名", "name"), True),
        Column(
            "phone",
            "手机号",
            (
                "手机号",
                "手机号码",
                "联系电话",
                "电话",
                "phone",
                "mobile",
                "mobile number",
            ),
            True,
        ),
        Column(
            "is_party_member",
            "是否党员",
            ("是否党员", "党员", "party member", "is party member"),
        ),
        Column(
            "organization",
            "所属单位",
            (
                "所属单位",
                "单位",
                "单位名称",
                "工作单位",
                "organization",
                "organization name",
            ),
        ),
        Column("organization_kind", "单位类型", ("单位类型", "organization kind")),
        Column(
            "grid_code",
            "网格编码",
            ("网格编码", "所属网格编码", "所属网格", "grid code", "grid"),
            True,
        ),
        Column("position", "职务", ("职务", "岗位", "position")),
        Column("roles", "六员", ("六员", "角色", "roles")),
        Column("title", "三长", ("三长", "三长职务", "title", "three heads title")),
        Column("duties", "职责", ("职责", "工作职责", "duties")),
        Column(
            "commitment", "公开承诺", ("公开承诺", "承诺", "服务承诺", "commitment")
        ),
        Column(
            "start_date",
            "任职日期",
            ("任职日期", "开始日期", "任职开始日期", "start date"),
        ),
        Column(
            "end_date", "离任日期", ("离任日期", "结束日期", "任职结束日期", "end date")
        ),
    ),
)

POSITIONS = Choices(
    {
        Position.LEADER: ("网格长", "总网格长", "微网格长", "专属网格长"),
        Position.MEMBER: (
            "网格员",
            "微网格员",
            "专属网格员",
            "专职网格员",
            "兼职网格员",
        ),
    }
)

ROLES = Choices(
    {
        RoleCode.PUBLICIST: ("宣传员",),
        RoleCode.COLLECTOR: ("收集员",),
        RoleCode.LIAISON: ("联络员",),
        RoleCode.COORDINATOR: ("协调员",),
        RoleCode.INSPECTOR: ("排查员",),
        RoleCode.MEDIATOR: ("调解员",),
    }
)

TITLES = Choices(
    {
        HeadTitle.PARTY_GROUP: ("党小组长", "party group leader"),
        HeadTitle.BUILDING: ("楼栋长", "building leader"),
        HeadTitle.RESIDENT_GROUP: ("居民小组长", "resident group leader"),
        HeadTitle.VILLAGER_GROUP: ("村民小组长", "villager group leader"),
    }
)
NO_TITLE_WORDS = {"", "无", "none"}

ORGANIZATION_KINDS = Choices(
    {
        OrganizationKind.ENTERPRISE: ("企业",),
        OrganizationKind.PROPERTY: ("物业公司", "物业", "property company"),
        OrganizationKind.POLICE: ("派出所", "police station"),
        OrganizationKind.HEALTH: (
            "社康中心",
            "社区健康服务中心",
            "卫生服务中心",
            "community health center",
        ),
        OrganizationKind.SOCIAL: ("社会组织", "social organization"),
        OrganizationKind.MERCHANT: ("商户", "商家"),
        OrganizationKind.COMMUNITY: ("社区", "社区工作站", "街道", "街道办"),
    }
)

ROLE_SEPARATORS = re.compile(r"[、,，;；/\s]+")

MEMBER_FIELD_COLUMNS = {
    "name": "name",
    "phone": "phone",
    "is_party_member": "is_party_member",
}
ORGANIZATION_FIELD_COLUMNS = {"name": "organization", "kind": "organization_kind"}
ASSIGNMENT_FIELD_COLUMNS = {
    "position": "position",
    "title": "title",
    "duties": "duties",
    "commitment": "commitment",
    "start_date": "start_date",
    "end_date": "end_date",
}


def normalize_phone(text: str) -> str:
    """Return ``text`` as the forms store a number; brackets may group the digits."""
    return normalize_mobile_number(re.sub(r"[()（）]", "", text))
