"""Small message files in the two formats that replay reads, written for the tests.

The texts are the project's own, in the columns of a provincial message board
export and of an NYC 311 export. Tests use them where the recorded files are
not next to the repository, so that replay is tested on every machine.
"""

import csv
from pathlib import Path

BOARD_TOPICS = [
    (
        "城乡建设",
        "小区门口道路坑洼",
        "小区门口的道路坑坑洼洼，下雨天积水很深，老人出行不便。",
    ),
    (
        "环境保护",
        "夜间工地扬尘严重",
        "附近工地晚上施工不洒水，扬尘飘进住户家里，窗台一层灰。",
    ),
    (
        "交通运输",
        "公交站牌被遮挡",
        "路口的公交站牌被广告牌挡住，外地乘客找不到车次信息。",
    ),
    ("教育文体", "社区篮球场灯坏了", "社区篮球场的照明灯坏了一个多月，晚上没法锻炼。"),
    (
        "劳动和社会保障",
        "工厂拖欠加班费",
        "厂里连续三个月没有按规定发放加班费，希望有关部门核查。",
    ),
    ("商贸旅游", "菜市场缺斤少两", "菜市场有摊位秤不准，买一斤肉少了近二两。"),
    (
        "卫生计生",
        "社区诊所排队太久",
        "社区卫生服务站只有一名医生，上午排队要两个小时。",
    ),
]
REPLY = "经核查，相关部门已安排人员处理，并将加强日常巡查。感谢您的监督。"

NYC_TOPICS = [
    ("Noise - Residential", "Loud Music/Party", "12 ELM STREET"),
    ("Illegal Parking", "Blocked Hydrant", "40 OAK AVENUE"),
    ("HEAT/HOT WATER", "ENTIRE BUILDING", "7 PINE PLACE"),
    ("Street Light Condition", "Street Light Out", "88 MAPLE ROAD"),
    ("Noise - Street/Sidewalk", "Loud Talking", "3 CEDAR LANE"),
    ("Blocked Driveway", "No Access", "15 BIRCH COURT"),
]
NYC_RESOLUTION = "The agency inspected the location and took action."


def write_board_file(folder: Path, count: int = 80, *, replies: bool = False) -> Path:
    """Write ``count`` board messages, cycling through the topics; return the path."""
    columns = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "一级分类"]
    if replies:
        columns.append("答复意见")
    path = folder / ("board_replies.csv" if replies else "board.csv")
    with path.open("w", encoding="utf-8", newline="") as output:
        writer = csv.DictWriter(output, fieldnames=columns)
        writer.writeheader()
        for number in range(1, count + 1):
            category, subject, body = BOARD_TOPICS[number % len(BOARD_TOPICS)]
            row = {
                "留言编号": str(number),
                "留言用户": f"user_{number:04d}",
                "留言主题": f"{subject}（{number}）",
                "留言时间": f"2020/1/{number % 28 + 1} 10:00:00",
                "留言详情": body,
                "一级分类": category,
            }
            if replies:
                row["答复意见"] = REPLY
            writer.writerow(row)
    return path


def write_nyc_file(folder: Path, count: int = 40) -> Path:
    """Write ``count`` NYC 311 requests, cycling through the topics; return the path."""
    columns = [
        "Unique Key",
        "Complaint Type",
        "Descriptor",
        "Incident Address",
        "Resolution Description",
    ]
    path = folder / "nyc311.csv"
    with path.open("w", encoding="utf-8", newline="") as output:
        writer = csv.DictWriter(output, fieldnames=columns)
        writer.writeheader()
        for number in range(1, count + 1):
            complaint, descriptor, address = NYC_TOPICS[number % len(NYC_TOPICS)]
            writer.writerow(
                {
                    "Unique Key": str(40000000 + number),
                    "Complaint Type": complaint,
                    "Descriptor": descriptor,
                    "Incident Address": address,
                    "Resolution Description": NYC_RESOLUTION,
                }
            )
    return path
