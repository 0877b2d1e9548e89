"""Made-up Chinese names for demo people, enterprises, streets and shops.

Everything is drawn from the lists below with a caller's ``random.Random``, so
a seed fixes every name and no external data is needed.
"""

import random

# Common surnames, most frequent first. The weights make the first ones
# appear more often, a rough imitation of real frequencies, not census data.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
    "尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
SURNAME_WEIGHTS = tuple(1 / (rank + 8) for rank in range(len(SURNAMES)))

GIVEN_NAME_CHARACTERS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉鑫鹏宇浩凯健俊"
    "帆帅旭宁龙林欣佳雪梅琳晨晓思雨婷颖嘉子梓涵博睿轩泽一诗怡瑶慧丹志国海斌波峰飞"
    "云亮成荣春燕莉彬晶倩玲璐蕾阳毅立新德永红霖炜昊然铭宏敬远航诚"
)

# Two-character enterprise name cores are drawn from these characters.
TRADE_NAME_CHARACTERS = "瑞华宏恒鑫信达丰盛泰安凯创远博新德顺兴嘉隆昌明源诚联科智拓"
INDUSTRIES = (
    "电子科技",
    "精密制造",
    "光电",
    "新材料",
    "智能装备",
    "生物医药",
    "通信技术",
    "汽车零部件",
    "供应链管理",
    "食品",
    "模具",
    "包装印刷",
)

STREETS = (
    "天瑞路",
    "西园大道",
    "兴业路",
    "科苑路",
    "创业一路",
    "创业二路",
    "园中路",
    "高新北路",
    "工业三路",
    "瑞丰街",
    "和谐路",
    "新村街",
)

# Residential estates and apartment blocks of the general grids.
ESTATES = (
    "天瑞花园",
    "西园新村",
    "兴业公寓",
    "科苑小区",
    "瑞丰苑",
    "和谐家园",
    "园中雅居",
    "创业人才公寓",
    "高新公寓",
    "新村北区",
)

SHOP_TYPES = (
    "便利店",
    "快餐",
    "水果店",
    "理发店",
    "药店",
    "五金店",
    "早餐店",
    "手机维修",
)

COMMITMENTS = (
    "有事找我，件件有回音。",
    "小事不出网格，大事及时上报。",
    "每周走访楼栋，隐患早发现早处置。",
    "群众有需求，我第一时间到场。",
    "亮身份、践承诺，做居民身边的贴心人。",
)


def person_name(rng: random.Random) -> str:
    """Return a full name: a common surname and one or two given-name characters."""
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    length = 1 if rng.random() < 0.3 else 2
    given_name = "".join(rng.choice(GIVEN_NAME_CHARACTERS) for _ in range(length))
    return surname + given_name


def trade_name(rng: random.Random, used_names: set[str]) -> str:
    """Pick an unused trade name such as 瑞丰电子科技 and add it to ``used_names``.

    Raise RuntimeError if no unused name turns up, which would mean that far
    more enterprises were requested than the character lists can name.
    """
    for _ in range(1000):
        first, second = rng.sample(TRADE_NAME_CHARACTERS, 2)
        name = first + second + rng.choice(INDUSTRIES)
        if name not in used_names:
            used_names.add(name)
            return name
    raise RuntimeError(f"No unused trade name left after {len(used_names)} names.")


def shop_name(rng: random.Random) -> str:
    """Return a shop name such as 王记快餐."""
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    return f"{surname}记{rng.choice(SHOP_TYPES)}"
