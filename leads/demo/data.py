"""Static vocabulary of the demo world: people, companies, campaigns, reasons, notes.

Pure data, no randomness and no database. Text that people read in the app is bilingual
(中文 + English) the way a Chinese B2B team actually writes it.
"""

from __future__ import annotations

DEMO_PASSWORD = "demo1234"  # noqa: S105 - documented demo-only password, printed by the command

# username, first name, last name, role groups, superuser
DEMO_USERS: list[tuple[str, str, str, tuple[str, ...], bool]] = [
    ("admin", "Alex", "Wang", (), True),
    ("boss", "建华", "杨", ("manager",), False),
    ("marketer1", "娜", "李", ("marketer",), False),
    ("marketer2", "Emily", "Zhou", ("marketer",), False),
    ("desk1", "芳", "王", ("lead_desk",), False),
    ("desk2", "Kevin", "Liu", ("lead_desk",), False),
    ("salesmgr1", "强", "陈", ("sales_manager",), False),
    ("salesmgr2", "Grace", "Huang", ("sales_manager",), False),
    ("salesmgr3", "磊", "赵", ("sales_manager",), False),
    ("rep1", "伟", "张", ("sales_rep",), False),
    ("rep2", "洋", "刘", ("sales_rep",), False),
    ("rep3", "Jason", "Wu", ("sales_rep",), False),
    ("rep4", "丽", "黄", ("sales_rep",), False),
    ("rep5", "杰", "周", ("sales_rep",), False),
    ("rep6", "Cindy", "Lin", ("sales_rep",), False),
    ("rep7", "浩", "孙", ("sales_rep",), False),
    ("rep8", "Michael", "Ma", ("sales_rep",), False),
]
DEMO_USERNAMES = [row[0] for row in DEMO_USERS]

# name, manager, members (username, weight, daily capacity, max open leads, away days),
# provinces the team covers
DEMO_TEAMS: list[tuple[str, str, list[tuple[str, int, int, int, int]], tuple[str, ...]]] = [
    (
        "华东 East",
        "salesmgr1",
        [("rep1", 2, 40, 400, 0), ("rep2", 1, 25, 250, 0), ("rep3", 1, 25, 250, 0)],
        ("上海", "江苏", "浙江", "安徽", "山东"),
    ),
    (
        "华南 South",
        "salesmgr2",
        [("rep4", 2, 40, 400, 0), ("rep5", 1, 25, 250, 0), ("rep6", 1, 20, 200, 0)],
        ("广东", "福建", "湖南", "广西"),
    ),
    (
        "华北 North",
        "salesmgr3",
        [("rep7", 1, 30, 300, 0), ("rep8", 1, 20, 200, 6)],
        ("北京", "天津", "河北", "辽宁", "山西"),
    ),
]

# --------------------------------------------------------------------------------------
# Places and companies
# --------------------------------------------------------------------------------------

# city, pinyin, province, weight
CITIES: list[tuple[str, str, str, int]] = [
    ("上海", "shanghai", "上海", 14),
    ("苏州", "suzhou", "江苏", 9),
    ("无锡", "wuxi", "江苏", 5),
    ("南京", "nanjing", "江苏", 5),
    ("常州", "changzhou", "江苏", 4),
    ("杭州", "hangzhou", "浙江", 7),
    ("宁波", "ningbo", "浙江", 5),
    ("温州", "wenzhou", "浙江", 3),
    ("合肥", "hefei", "安徽", 3),
    ("青岛", "qingdao", "山东", 4),
    ("济南", "jinan", "山东", 3),
    ("深圳", "shenzhen", "广东", 11),
    ("广州", "guangzhou", "广东", 8),
    ("东莞", "dongguan", "广东", 6),
    ("佛山", "foshan", "广东", 5),
    ("珠海", "zhuhai", "广东", 2),
    ("厦门", "xiamen", "福建", 3),
    ("福州", "fuzhou", "福建", 2),
    ("长沙", "changsha", "湖南", 3),
    ("南宁", "nanning", "广西", 1),
    ("北京", "beijing", "北京", 10),
    ("天津", "tianjin", "天津", 5),
    ("石家庄", "shijiazhuang", "河北", 2),
    ("唐山", "tangshan", "河北", 2),
    ("沈阳", "shenyang", "辽宁", 3),
    ("大连", "dalian", "辽宁", 3),
    ("太原", "taiyuan", "山西", 1),
    ("成都", "chengdu", "四川", 6),
    ("绵阳", "mianyang", "四川", 1),
    ("重庆", "chongqing", "重庆", 5),
    ("武汉", "wuhan", "湖北", 5),
    ("西安", "xian", "陕西", 4),
    ("郑州", "zhengzhou", "河南", 3),
]

# brand (汉字, pinyin)
CN_BRANDS: list[tuple[str, str]] = [
    ("华晟", "huasheng"), ("中科", "zhongke"), ("鼎信", "dingxin"), ("恒通", "hengtong"),
    ("瑞丰", "ruifeng"), ("博远", "boyuan"), ("天润", "tianrun"), ("金桥", "jinqiao"),
    ("宏达", "hongda"), ("海纳", "haina"), ("锐思", "ruisi"), ("星辰", "xingchen"),
    ("远航", "yuanhang"), ("联创", "lianchuang"), ("新拓", "xintuo"), ("嘉禾", "jiahe"),
    ("德润", "derun"), ("智诚", "zhicheng"), ("启明", "qiming"), ("安泰", "antai"),
    ("正元", "zhengyuan"), ("中恒", "zhongheng"), ("卓越", "zhuoyue"), ("凯达", "kaida"),
    ("泰和", "taihe"), ("融信", "rongxin"), ("万通", "wantong"), ("永盛", "yongsheng"),
    ("东方", "dongfang"), ("云帆", "yunfan"), ("青松", "qingsong"), ("光启", "guangqi"),
    ("九州", "jiuzhou"), ("同舟", "tongzhou"), ("明德", "mingde"), ("精工", "jinggong"),
    ("蓝海", "lanhai"), ("银河", "yinhe"), ("恒信", "hengxin"), ("晨光", "chenguang"),
    ("华锐", "huarui"), ("宇航", "yuhang"), ("昌盛", "changsheng"), ("亿达", "yida"),
    ("百川", "baichuan"), ("睿达", "ruida"), ("天成", "tiancheng"), ("荣泰", "rongtai"),
    ("鸿运", "hongyun"), ("立信", "lixin"), ("铭泰", "mingtai"), ("开元", "kaiyuan"),
    ("兴业", "xingye"), ("尚品", "shangpin"), ("君诚", "juncheng"), ("源丰", "yuanfeng"),
    ("汇智", "huizhi"), ("迅捷", "xunjie"), ("致远", "zhiyuan"), ("通达", "tongda"),
]  # fmt: skip

# business words (汉字, short code for a web domain, industry)
CN_BUSINESSES: list[tuple[str, str, str]] = [
    ("精密机械", "jm", "制造业"), ("智能装备", "zb", "制造业"), ("自动化", "auto", "制造业"),
    ("模具", "mj", "制造业"), ("机床", "jc", "制造业"), ("重工", "hi", "制造业"),
    ("汽车零部件", "ap", "汽车"), ("新能源汽车", "ev", "汽车"), ("汽车电子", "ae", "汽车"),
    ("电子科技", "et", "电子"), ("半导体", "semi", "电子"), ("光电", "oe", "电子"),
    ("医疗器械", "med", "医疗"), ("生物医药", "bio", "医疗"), ("制药", "ph", "医疗"),
    ("商贸", "trade", "零售"), ("连锁", "chain", "零售"), ("电商", "ec", "零售"),
    ("融资租赁", "lease", "金融"), ("金融科技", "fin", "金融"),
    ("新能源", "ne", "能源"), ("电力设备", "pw", "能源"), ("光伏", "pv", "能源"),
    ("物流", "wl", "物流"), ("供应链", "scm", "物流"), ("冷链", "cold", "物流"),
    ("软件", "soft", "软件/SaaS"), ("信息技术", "it", "软件/SaaS"),
    ("云计算", "cloud", "软件/SaaS"),
    ("化工", "chem", "化工"), ("新材料", "nm", "化工"), ("食品", "food", "食品"),
    ("饮料", "bev", "食品"), ("纺织", "tex", "纺织服装"), ("家电", "ha", "家电"),
]  # fmt: skip

CN_COMPANY_FORMS = [
    "{city}{brand}{business}有限公司",
    "{city}{brand}{business}股份有限公司",
    "{brand}{business}（{city}）有限公司",
    "{city}{brand}{business}科技有限公司",
    "{brand}{business}集团有限公司",
]

EN_BRANDS = [
    "Bluepeak", "Northwind", "Silverline", "Brightwave", "Crestline", "Ironbridge",
    "Oakridge", "Redstone", "Skyforge", "Clearwater", "Goldfield", "Riverbend", "Keystone",
    "Lumina", "Vertex", "Polaris", "Meridian", "Pinnacle", "Granite", "Cobalt", "Aurora",
    "Atlas", "Harbor", "Sterling", "Bridgeport", "Westbrook", "Eastgate", "Fairview",
    "Highland", "Stonebridge", "Summitview", "Truenorth", "Greenleaf", "Blackrock Valley",
]  # fmt: skip
# noun, domain code, industry
EN_BUSINESSES: list[tuple[str, str, str]] = [
    ("Robotics", "robotics", "制造业"), ("Precision", "precision", "制造业"),
    ("Automotive", "auto", "汽车"), ("Electronics", "electronics", "电子"),
    ("Medical", "medical", "医疗"), ("Pharma", "pharma", "医疗"), ("Retail", "retail", "零售"),
    ("Capital", "capital", "金融"), ("Energy", "energy", "能源"), ("Solar", "solar", "能源"),
    ("Logistics", "logistics", "物流"), ("Software", "software", "软件/SaaS"),
    ("Materials", "materials", "化工"), ("Foods", "foods", "食品"),
]  # fmt: skip
EN_COMPANY_FORMS = [
    "{brand} {business} ({city}) Co., Ltd.",
    "{brand} {business} Co., Ltd.",
    "{brand} {business} China Ltd.",
]

# size code, weight, deal size range in yuan (low, high) for a won deal
COMPANY_SIZES: list[tuple[str, int, tuple[int, int]]] = [
    ("", 5, (15_000, 50_000)),
    ("1-49", 22, (15_000, 40_000)),
    ("50-199", 30, (30_000, 100_000)),
    ("200-999", 24, (80_000, 280_000)),
    ("1000-4999", 13, (180_000, 600_000)),
    ("5000+", 6, (350_000, 1_600_000)),
]

# --------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------

CN_SURNAMES: list[tuple[str, str]] = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
    ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"), ("郑", "zheng"),
    ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"), ("许", "xu"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("袁", "yuan"), ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("于", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("魏", "wei"), ("苏", "su"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("卢", "lu"), ("姚", "yao"), ("沈", "shen"), ("钟", "zhong"),
    ("姜", "jiang"), ("崔", "cui"), ("谭", "tan"), ("陆", "lu"), ("范", "fan"),
    ("汪", "wang"), ("廖", "liao"), ("石", "shi"), ("金", "jin"), ("贾", "jia"),
    ("夏", "xia"), ("欧阳", "ouyang"), ("上官", "shangguan"),
]  # fmt: skip
CN_GIVEN: list[tuple[str, str]] = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"),
    ("浩", "hao"), ("宇", "yu"), ("婷", "ting"), ("晨", "chen"), ("欣怡", "xinyi"),
    ("子涵", "zihan"), ("梓轩", "zixuan"), ("俊杰", "junjie"), ("思远", "siyuan"),
    ("雨萱", "yuxuan"), ("志强", "zhiqiang"), ("建华", "jianhua"), ("海涛", "haitao"),
    ("晓东", "xiaodong"), ("文博", "wenbo"), ("国栋", "guodong"), ("丹", "dan"),
    ("鹏", "peng"), ("辉", "hui"), ("斌", "bin"), ("亮", "liang"), ("玲", "ling"),
    ("琳", "lin"), ("慧", "hui"), ("佳", "jia"), ("颖", "ying"), ("蕾", "lei"), ("凯", "kai"),
    ("博", "bo"), ("宁", "ning"), ("晶", "jing"), ("倩", "qian"), ("雪", "xue"),
    ("瑶", "yao"), ("鑫", "xin"), ("帅", "shuai"), ("昊", "hao"), ("天佑", "tianyou"),
    ("一鸣", "yiming"), ("嘉怡", "jiayi"), ("子豪", "zihao"), ("宏伟", "hongwei"),
    ("建国", "jianguo"), ("春梅", "chunmei"), ("丽娟", "lijuan"), ("晓燕", "xiaoyan"),
    ("志明", "zhiming"), ("少华", "shaohua"), ("振宇", "zhenyu"), ("雅琴", "yaqin"),
]  # fmt: skip
EN_FIRST = [
    "Emily", "David", "Michael", "Jason", "Kevin", "Grace", "Cindy", "Linda", "Tony", "Jack",
    "Amy", "Eric", "Vivian", "Peter", "Sophia", "Daniel", "Jessica", "Frank", "Helen",
    "Steven", "Alice", "Brian", "Catherine", "Leo", "Nancy", "Oliver", "Rachel", "Sam",
    "Tina", "William", "Anna", "Chris", "Lucy", "Mark", "Olivia", "Paul", "Sarah", "Thomas",
    "Victor", "Wendy",
]  # fmt: skip
EN_LAST = [
    "Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Lin", "Wu", "Zhou", "Xu", "Ma", "Sun",
    "Zhu", "Guo", "Gao", "Zheng", "Liang", "Tan", "Ho", "Wong", "Lee", "Chan", "Ng",
    "Smith", "Miller", "Mueller", "Schmidt", "Johnson", "Brown", "Taylor", "Wilson",
    "Anderson", "Martin", "Weber", "Fischer", "Tanaka", "Suzuki", "Kim", "Park", "Rossi",
]  # fmt: skip

#: Personal mailboxes are QQ numbers (unique per lead in the demo).
PERSONAL_MAIL_DOMAINS = ("qq.com", "qq.com", "qq.com", "foxmail.com")

# decision role → titles (中文, English)
TITLES: dict[str, list[tuple[str, str]]] = {
    "decision_maker": [
        ("总经理", "General Manager"), ("董事长", "Chairman"), ("副总经理", "Deputy GM"),
        ("首席执行官", "CEO"), ("首席技术官", "CTO"), ("首席信息官", "CIO"),
        ("厂长", "Plant Director"), ("运营副总裁", "VP Operations"),
    ],
    "influencer": [
        ("IT总监", "IT Director"), ("生产总监", "Production Director"),
        ("信息化经理", "IT Manager"), ("采购经理", "Procurement Manager"),
        ("数字化负责人", "Head of Digital"), ("质量总监", "Quality Director"),
        ("供应链总监", "Supply Chain Director"),
    ],
    "user": [
        ("工程师", "Engineer"), ("生产主管", "Production Supervisor"),
        ("质量工程师", "QA Engineer"), ("设备主管", "Maintenance Lead"),
        ("项目经理", "Project Manager"), ("工艺工程师", "Process Engineer"),
        ("仓库主管", "Warehouse Supervisor"),
    ],
    "unknown": [
        ("", ""), ("专员", "Specialist"), ("行政助理", "Admin Assistant"), ("学生", "Student"),
    ],
}  # fmt: skip

PRODUCTS = [
    "MES 制造执行系统",
    "WMS 仓储管理",
    "QMS 质量管理",
    "EAM 设备管理 / 预测性维护",
    "IIoT 工业物联网平台",
    "EMS 能耗管理",
    "APS 高级排程",
    "数字孪生 Digital Twin",
]
NEEDS = [
    "计划明年在{n}个工厂上线{product}",
    "现有系统老旧，想替换为{product}，希望支持私有化部署",
    "集团要求数字化转型，先了解{product}方案和同行案例",
    "需要{product}对接现有ERP（SAP/用友/金蝶）",
    "Evaluating {product} for {n} plants, please send a quote",
    "Looking for a {product} vendor with on-site support in China",
    "想看一下{product}的报价和实施周期",
    "老板看了直播，想了解{product}的价格",
    "{n}条产线要做数据采集，{product}能否支持",
    "We need {product} before the new plant opens",
]

# --------------------------------------------------------------------------------------
# Channels and campaigns
# --------------------------------------------------------------------------------------

# code → (share of leads, mean quality 0–1, cost per lead in yuan, touch kind,
#         utm_source, utm_medium)
CHANNEL_PROFILES: dict[str, tuple[float, float, int, str, str, str]] = {
    "website": (10, 0.55, 150, "form", "direct", "website"),
    "seo": (9, 0.50, 180, "form", "baidu", "organic"),
    "sem": (16, 0.45, 650, "form", "baidu", "cpc"),
    "feed_ads": (20, 0.20, 420, "form", "oceanengine", "feed"),
    "content": (5, 0.45, 350, "form", "whitepaper", "content"),
    "knowledge": (4, 0.45, 260, "form", "zhihu", "knowledge"),
    "social_media": (7, 0.32, 320, "form", "wechat", "social"),
    "display_ads": (6, 0.18, 900, "form", "dsp", "display"),
    "trade_show": (8, 0.70, 3800, "event_checkin", "", ""),
    "own_event": (4, 0.78, 3200, "event_checkin", "", ""),
    "media_relations": (1.5, 0.48, 4500, "manual", "", ""),
    "pr": (1.5, 0.38, 3800, "manual", "", ""),
    "webinar": (6, 0.55, 480, "webinar", "", ""),
    "resource_exchange": (2, 0.36, 420, "import", "", ""),
}

#: Schedules: ``always`` (all year, ongoing), ``quarter`` (one calendar quarter),
#: ``burst`` (2–7 weeks), ``webinar`` (two weeks of registration up to the live day),
#: ``event:MM-DD:days`` (an annual show on that date), ``planned`` (starts after today).
CAMPAIGN_TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "website": [
        ("官网自然流量 Website inbound {year}", "website-inbound-{year}", "always"),
        ("官网 Landing Page A/B 测试 {yq}", "website-lp-ab-{yq}", "quarter"),
        ("官网在线客服 Live chat {yq}", "website-livechat-{yq}", "quarter"),
    ],
    "seo": [
        ("SEO 长尾词优化 Long-tail {year}", "seo-longtail-{year}", "always"),
        ("SEO 专题页：MES 选型 {yq}", "seo-mes-topic-{yq}", "quarter"),
        ("英文站 SEO Global site {year}", "seo-global-{year}", "always"),
        ("SEO 案例页 Case pages {yq}", "seo-case-pages-{yq}", "quarter"),
    ],
    "sem": [
        ("{yq} 百度SEM 品牌词 Brand", "baidu-sem-brand-{yq}", "quarter"),
        ("{yq} 百度SEM 行业词 MES/WMS", "baidu-sem-generic-{yq}", "quarter"),
        ("{yq} 百度SEM 竞品词 Competitor", "baidu-sem-competitor-{yq}", "quarter"),
        ("{yq} 360/搜狗 SEM 行业词", "360-sogou-sem-{yq}", "quarter"),
        ("{yq} Bing Ads 海外询盘 Overseas", "bing-ads-overseas-{yq}", "quarter"),
        ("百度SEM 品牌词 Brand {year}", "baidu-sem-brand-{year}", "planned"),
    ],
    "feed_ads": [
        ("巨量引擎 信息流 Ocean Engine {month}", "oceanengine-feed-{month}", "burst"),
        ("腾讯广告 朋友圈 WeChat Moments {yq}", "tencent-moments-{yq}", "quarter"),
        ("百度信息流 Baidu Feed {yq}", "baidu-feed-{yq}", "quarter"),
        ("视频号投流 Channels boost {month}", "channels-boost-{month}", "burst"),
        ("快手磁力 信息流 Kuaishou feed {month}", "kuaishou-feed-{month}", "burst"),
    ],
    "content": [
        ("白皮书：{year} 制造业数字化报告 Whitepaper", "whitepaper-mfg-digital-{year}", "burst"),
        ("电子书：MES 选型指南 eBook", "ebook-mes-guide-{month}", "burst"),
        ("客户案例集 Case studies {yq}", "case-studies-{yq}", "quarter"),
        ("ROI 计算器 ROI calculator", "roi-calculator-{year}", "always"),
    ],
    "knowledge": [
        ("知乎专栏：智能制造 Zhihu column", "zhihu-column-{year}", "always"),
        ("CSDN 技术问答 Tech Q&A {yq}", "csdn-qa-{yq}", "quarter"),
        ("行业知识库 Knowledge base {year}", "knowledge-base-{year}", "always"),
    ],
    "social_media": [
        ("微信公众号矩阵 WeChat OA {yq}", "wechat-oa-{yq}", "quarter"),
        ("视频号直播：工厂开放日 Live factory tour {month}", "channels-live-{month}", "burst"),
        ("抖音企业号 Douyin {yq}", "douyin-{yq}", "quarter"),
        ("LinkedIn 中国 LinkedIn China {year}", "linkedin-cn-{year}", "always"),
    ],
    "display_ads": [
        ("工控网 Banner 广告 {yq}", "gongkong-banner-{yq}", "quarter"),
        ("行业垂直媒体展示广告 Vertical media {yq}", "vertical-display-{yq}", "quarter"),
        ("程序化展示 DSP 再营销 Retargeting {month}", "dsp-retargeting-{month}", "burst"),
    ],
    "trade_show": [
        ("{year} 上海工博会 CIIF", "ciif-{year}", "event:09-23:5"),
        ("{year} 深圳高交会 CHTF", "chtf-{year}", "event:11-15:5"),
        ("{year} 广州国际工业自动化展 SIAF", "siaf-{year}", "event:03-04:3"),
        ("{year} 汉诺威工业博览会 Hannover Messe", "hannover-messe-{year}", "event:04-20:5"),
        ("{year} 成都国际工业博览会", "chengdu-industry-expo-{year}", "event:06-12:3"),
    ],
    "own_event": [
        ("{year} 智能制造客户大会（上海）Customer Summit", "customer-summit-{year}",
         "event:10-18:2"),
        ("城市巡回沙龙·苏州站 Roadshow Suzhou {yq}", "roadshow-suzhou-{yq}", "event:05-16:1"),
        ("城市巡回沙龙·东莞站 Roadshow Dongguan {yq}", "roadshow-dongguan-{yq}", "event:07-11:1"),
        ("VIP 客户答谢会 Customer dinner {year}", "vip-dinner-{year}", "event:12-20:1"),
        ("{year} 智能制造客户大会（深圳）Customer Summit", "customer-summit-sz-{year}", "planned"),
    ],
    "media_relations": [
        ("行业媒体专访 Industry media interview {yq}", "media-interview-{yq}", "burst"),
        ("财经媒体圆桌 Business media roundtable {yq}", "media-roundtable-{yq}", "burst"),
        ("《智能制造》杂志封面报道 Cover story", "magazine-cover-{year}", "burst"),
    ],
    "pr": [
        ("新品发布新闻稿 Product launch PR {yq}", "pr-launch-{yq}", "burst"),
        ("行业奖项申报 Industry awards {year}", "pr-awards-{year}", "burst"),
        ("舆情监测与口碑 Reputation care {yq}", "pr-reputation-{yq}", "quarter"),
    ],
    "webinar": [
        ("Webinar: 智能制造数字化转型", "webinar-digital-transformation-{month}", "webinar"),
        ("Webinar: MES 选型指南", "webinar-mes-selection-{month}", "webinar"),
        ("Webinar: 预测性维护实战 Predictive maintenance", "webinar-pdm-{month}", "webinar"),
        ("Webinar: 工业数据中台 Industrial data platform", "webinar-data-platform-{month}",
         "webinar"),
        ("Webinar: 精益生产与能耗管理 Lean & energy", "webinar-lean-energy-{month}", "webinar"),
    ],
    "resource_exchange": [
        ("云厂商联合营销 名单置换 Cloud partner list swap {yq}", "partner-cloud-swap-{yq}",
         "burst"),
        ("行业协会会员名单合作 Association list", "association-list-{year}", "burst"),
        ("合作伙伴联合活动 Partner co-marketing {yq}", "partner-comarketing-{yq}", "burst"),
    ],
}  # fmt: skip

#: utm_campaign slugs of campaigns that were called off (a deposit was lost, no leads).
CANCELLED_TEMPLATES = {"roadshow-dongguan-{yq}", "media-roundtable-{yq}"}

# channel kind → cost line notes
COST_NOTES = {
    "online": ["平台充值 Ad account top-up", "月度投放 Monthly spend", "代运营服务费 Agency fee"],
    "offline": [
        "展位费 Booth fee",
        "搭建与物料 Stand build & materials",
        "差旅与住宿 Travel & hotel",
        "场地与餐饮 Venue & catering",
        "嘉宾与主持 Speakers & host",
    ],
}
CANCELLED_COST_NOTE = "场地订金（不退）Venue deposit, non-refundable"

MANUAL_GRADE_REASONS = [
    "电话确认预算已批 Budget confirmed on the phone",
    "老客户转介绍 Referral from an existing customer",
    "实际为个人/学生 Actually an individual",
    "决策链不清，先降级 Decision chain unclear",
    "集团项目，优先跟进 Group-level project, prioritise",
]

# --------------------------------------------------------------------------------------
# Reasons (code → text the person typed) and follow-up wording
# --------------------------------------------------------------------------------------

DISQUALIFY_REASONS = {
    "invalid_contact": "空号/联系方式无效 Phone number invalid",
    "no_need": "仅收集资料，无采购需求 Only collecting material",
    "competitor": "同行来询价 Competitor fishing for prices",
    "duplicate": "与已有线索重复 Duplicate of an existing lead",
    "spam": "测试/垃圾提交 Test or spam submission",
    "other": "学生做课题 Student research project",
}
REJECT_REASONS = {
    "not_reachable": "连续三天未接通 Not reachable for three days",
    "no_need": "客户表示暂无需求 Customer says there is no need now",
    "wrong_contact": "联系人已离职 Contact has left the company",
    "too_small": "规模太小，不在服务范围 Too small for us",
    "duplicate": "已在跟进中 Already being worked",
    "other": "非目标行业 Not a target industry",
}
RECYCLE_REASONS = {
    "no_follow_up": "超过SLA未跟进，自动回收 No follow-up within the SLA, recycled",
    "not_now": "客户明年再看 Customer will revisit next year",
    "capacity": "手上线索过多 Too many open leads",
}
LOST_REASONS = {
    "price": "价格超出预算 Price above budget",
    "competitor": "选择了竞品 Chose a competitor",
    "no_budget": "预算被砍 Budget cut",
    "no_decision": "项目搁置 Project stalled",
    "timing": "推迟到明年 Postponed to next year",
    "product_fit": "功能不匹配 Feature gap",
    "other": "客户被并购 Customer was acquired",
}

# phase → (outcome, method)
FOLLOW_UP_OUTCOMES: dict[str, list[tuple[str, str]]] = {
    "contact": [
        ("已接通，了解需求 Reached; discussed needs", "call"),
        ("未接通，稍后再拨 No answer; will call back", "call"),
        ("已加微信，发送资料 Added on WeChat; sent brochure", "wechat"),
        ("邮件发送产品介绍 Sent product intro by email", "email"),
    ],
    "develop": [
        ("线上演示完成 Online demo done", "meeting"),
        ("现场拜访，参观产线 Site visit; toured the line", "visit"),
        ("技术交流会 Technical workshop", "meeting"),
        ("发送方案与报价 Sent proposal and quote", "email"),
        ("微信沟通需求细节 Clarified requirements on WeChat", "wechat"),
    ],
    "close": [
        ("商务谈判中 Negotiating terms", "meeting"),
        ("等待预算审批 Waiting for budget approval", "call"),
        ("合同条款确认 Reviewing contract terms", "email"),
        ("高层拜访 Executive visit", "visit"),
        ("招标文件已提交 Tender documents submitted", "other"),
    ],
}
FOLLOW_UP_NOTES = [
    "",
    "客户关注实施周期 Customer cares about rollout time",
    "需要IT部门再确认接口 IT must confirm the interfaces",
    "竞品也在报价 A competitor is quoting too",
    "下周安排演示 Demo next week",
    "决策人下月出差回来 Decision maker back next month",
    "要求提供同行业案例 Asked for references in their industry",
    "预算在走流程 Budget in approval",
    "",
]
