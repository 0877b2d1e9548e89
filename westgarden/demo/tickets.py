"""Sample citizen messages that the demo writes itself, in the board's format.

Built from templates with a seeded random generator, so the same seed gives
the same messages. Each category of the default set gets its own phrasing,
and about half of the messages carry an official reply.
"""

import random
from collections.abc import Iterator

from incidents.replay import Message

# (board category, subject template, body template, reply template)
TEMPLATES = [
    (
        "政法",
        "{building}楼上深夜噪音",
        "{building}{floor}楼住户连续几晚十二点后还在拖动家具、大声放音乐，"
        "影响休息，希望网格员帮忙协调。",
        "网格调解员已上门与住户沟通，对方承诺晚上十点后不再制造噪音，请继续反馈。",
    ),
    (
        "政法",
        "{building}邻里停车纠纷",
        "{building}楼下两户因为电动车停放位置多次争吵，希望有人出面调解。",
        "调解员已组织双方协商，划定了停放区域，双方均表示认可。",
    ),
    (
        "交通运输",
        "{building}消防通道被占用",
        "{building}旁边的消防通道长期停着电动车和杂物，发生火灾时消防车进不来。",
        "排查员已清理通道并张贴告示，物业每天巡查一次。",
    ),
    (
        "环境保护",
        "{building}垃圾清运不及时",
        "{building}门口的垃圾桶已经满了两天，气味很大，夏天容易滋生蚊虫。",
        "已联系环卫公司增加清运频次，今天下午完成清运。",
    ),
    (
        "城乡建设",
        "{building}楼道灯不亮",
        "{building}{floor}楼楼道灯坏了一周，晚上下楼看不见台阶，老人容易摔倒。",
        "物业维修人员已更换灯具，楼道照明恢复正常。",
    ),
    (
        "劳动和社会保障",
        "咨询灵活就业社保补贴",
        "我在园区工厂上班，想了解灵活就业人员社保补贴怎么申请，需要准备哪些材料。",
        "",
    ),
    (
        "教育文体",
        "孩子入学政策咨询",
        "刚搬到{building}，想问孩子明年上小学需要办理哪些手续，学区怎么划分。",
        "宣传员已把今年的入学政策和材料清单发到您的手机，可到社区工作站现场咨询。",
    ),
    (
        "商贸旅游",
        "商铺占道经营",
        "{building}附近的餐饮店把桌椅摆到人行道上，行人只能走机动车道。",
        "",
    ),
    (
        "卫生计生",
        "老人需要上门体检",
        "{building}{floor}楼有位独居老人行动不便，希望社区卫生服务中心能上门体检。",
        "",
    ),
]

BUILDINGS = ["天瑞花园{n}栋", "产业员工公寓{n}号楼", "西园新村{n}栋", "工业园宿舍{n}栋"]


def sample_messages(count: int, *, seed: int = 1) -> Iterator[Message]:
    """Yield ``count`` sample messages, the same ones for the same seed."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        category, subject, body, reply = rng.choice(TEMPLATES)
        building = rng.choice(BUILDINGS).format(n=rng.randint(1, 40))
        floor = rng.randint(2, 18)
        yield Message(
            number=f"demo-{seed}-{number}",
            subject=subject.format(building=building, floor=floor),
            body=body.format(building=building, floor=floor),
            category_name=category,
            reply=reply if rng.random() < 0.8 else "",
        )
