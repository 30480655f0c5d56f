"""What the demo county's residents and grid workers write: the kinds of matter with their
topics, and each report's title and description told in many ways, so that the text
model trained on the demo's history (`fengqiao demo`) learns the words of each category
rather than a few fixed sentences.

A topic is drawn by the history's own random stream (so the simulated paths do not depend
on the wording); the wording comes from a stream of its own.
"""

from __future__ import annotations

import random
import re

from fengqiao.demo.topics import TOPICS

# (category, weight, share a grid worker settles on the spot, topics)
KINDS: list[tuple[str, int, float, list[str]]] = [
    (
        "urban_management",
        22,
        0.55,
        ["占道经营", "乱堆乱放", "垃圾未及时清运", "路灯损坏", "违规张贴小广告", "油烟扰民"],
    ),
    ("dispute_family", 9, 0.45, ["邻里噪音纠纷", "宅基地界址纠纷", "赡养老人纠纷", "婚姻家庭矛盾"]),
    ("dispute_labour", 4, 0.1, ["工地拖欠农民工工资", "渔船雇工工资纠纷"]),
    ("maritime_fishery", 6, 0.2, ["渔船停靠纠纷", "海上养殖区界址争议", "渔具损坏赔偿纠纷"]),
    ("security", 8, 0.3, ["出租房屋安全隐患", "电动车楼道充电", "可疑人员出没"]),
    ("fire_safety", 5, 0.35, ["消防通道被占用", "楼道堆放杂物", "灭火器过期"]),
    ("safety_production", 4, 0.1, ["小作坊安全隐患", "码头作业安全隐患"]),
    ("food_safety", 3, 0.1, ["无证经营小吃摊", "海鲜排档卫生问题"]),
    ("environment", 6, 0.2, ["海滩垃圾堆积", "养殖尾水直排", "施工扬尘"]),
    ("transport", 5, 0.15, ["道路坑洼", "公交站牌损坏", "轮渡码头护栏松动"]),
    ("urban_construction", 5, 0.1, ["违章搭建", "危旧房屋隐患", "下水道堵塞"]),
    ("livelihood", 7, 0.4, ["独居老人需要帮扶", "低保申请咨询", "停水停电"]),
    ("labour_social", 3, 0.1, ["社保缴费问题", "就业困难求助"]),
    ("health", 3, 0.2, ["疫苗接种咨询", "村卫生室缺药"]),
    ("commerce_tourism", 3, 0.1, ["民宿价格纠纷", "游客投诉宰客"]),
    ("education_culture", 2, 0.1, ["校车安全隐患", "文化礼堂设施损坏"]),
    ("petition", 2, 0.0, ["征地补偿信访", "重复信访事项"]),
]

LANDMARKS = [
    "菜市场旁边",
    "老街口",
    "村委会边上",
    "小学门口",
    "公交站附近",
    "停车场",
    "三号楼下",
    "海堤路上",
    "文化礼堂前",
    "卫生院对面",
    "新村路",
    "渔港边",
    "小区门口",
    "后山脚下",
    "大桥下面",
]
OPENINGS = {  # by channel
    "grid_app": ["网格员巡查发现，", "走访时发现", "日常巡查中发现，", ""],
    "hotline": ["来电人反映：", "市民来电反映，", "群众来电称，", "来电："],
    "web": ["", "我是本地居民，", "你好，", "反映一个问题："],
    "letter": ["来信反映：", "群众来信称，"],
    "video": ["视频巡查发现，", "监控画面显示，"],
}
WHEN = [
    "",
    "",
    "已经好几天了。",
    "这种情况持续一个多月了。",
    "最近一周天天这样。",
    "前几天反映过，到现在还没人处理。",
    "昨天晚上又出现了。",
    "问题一直没有解决。",
]
ASKS = [
    "请尽快处理。",
    "希望有关部门尽快处理。",
    "麻烦派人来看一下。",
    "请相关部门核实处理。",
    "希望能尽快解决，谢谢！",
    "盼复。",
    "请帮忙协调解决。",
    "",
]
# Some reports say little of what they are about, in the title or (fewer) in the body: the
# model cannot be sure of those, as of real messages, and leaves them to a dispatcher.
VAGUE_TITLES = ["反映问题", "求助", "投诉", "咨询", "请帮忙处理", "问题反映", "群众诉求", "急！"]
VAGUE_DETAILS = [
    "情况电话里说不清楚，希望有人来现场看看",
    "具体情况见照片",
    "这个问题影响很大，大家都很有意见",
    "之前也有人反映过类似情况",
    "请联系我详细了解情况",
    "事情比较复杂，涉及好几户人家",
]
VAGUE_TITLE_SHARE, VAGUE_DETAIL_SHARE = 0.12, 0.03
_GRID_SUFFIX = re.compile(r"(第\d+网格|海上网格\d+|专属网格)$")


def place_of(grid_name: str, kind: str) -> str:
    """How a reporter names the grid's place: its community, its waters, its zone."""
    place = _GRID_SUFFIX.sub("", grid_name) or grid_name
    return f"{place}附近海域" if kind == "sea" else place


def words_for(rng: random.Random, topic: str, channel: str, place: str) -> tuple[str, str]:
    """A title and a description of a report of `topic` made through `channel` at `place`."""
    titles, details = TOPICS[topic]
    title = rng.choice([topic, *titles])
    vague = rng.random() < VAGUE_TITLE_SHARE
    if vague:
        title = rng.choice(VAGUE_TITLES)
    elif rng.random() < 0.25:
        title = f"{place}{title}"
    # A vague title goes with a vague body more often than not (they are the same kind of
    # report): about one report in twenty says nothing of its category.
    vague_body = rng.random() < (0.4 if vague else VAGUE_DETAIL_SHARE)
    detail = rng.choice(VAGUE_DETAILS if vague_body else details)
    where = place if rng.random() < 0.3 else f"{place}{rng.choice(LANDMARKS)}"
    opening = rng.choice(OPENINGS.get(channel, [""]))
    body = f"{opening}{where}，{detail}。{rng.choice(WHEN)}{rng.choice(ASKS)}"
    return title, body
