# ruff: noqa: RUF001  (the Chinese texts are written with Chinese punctuation)
"""Demo articles, in English and Chinese, for the demo's kinds of complaint (``seed_demo``
sends ``demo_seeded``; the receiver calls this). Written and published through the services,
as a quality manager would."""

from __future__ import annotations

from decimal import Decimal

from complaints.models import User

from . import services
from .models import Article

ARTICLES = [
    {
        "category": "product_quality",
        "root_cause": "materials",
        "title_en": "Noisy washing machine drum",
        "title_zh": "洗衣机滚筒噪音大",
        "guidance_en": "Apologise first. Book an engineer visit within two days; if the "
        "bearing is faulty, repair it on site. A second fault within the warranty is a "
        "replacement.",
        "guidance_zh": "先致歉。两天内安排工程师上门；如果轴承有问题，现场维修。"
        "保修期内第二次出现同样故障的，予以更换。",
        "checks_en": "Purchase date and warranty; the bearing batch (B-17 was faulty); "
        "whether the machine stands level; the noise on the spin cycle.",
        "checks_zh": "购买日期和保修；轴承批次（B-17 批次有缺陷）；洗衣机是否放平；脱水时的噪音。",
        "remedies": ["apology", "repair"],
        "remedy_value_max": Decimal("300"),
        "reply_template_en": "Dear {customer_name},\n\nthank you for telling us about the "
        "noise of your {product} (reference {reference}). We are sorry for the trouble. An "
        "engineer will visit you and repair the drum by {next_due_date}.\n\n{agent_name}",
        "reply_template_zh": "{customer_name}，您好！\n\n感谢您告诉我们{product}的噪音问题"
        "（受理号 {reference}）。给您带来不便，我们深表歉意。工程师将在 {next_due_date} "
        "之前上门维修滚筒。\n\n{agent_name}",
    },
    {
        "category": "service_process",
        "root_cause": "process",
        "title_en": "Late home delivery",
        "title_zh": "送货上门延误",
        "guidance_en": "Apologise and give the new delivery time at once. Refund the delivery "
        "fee; when the delay was over three days, add a voucher.",
        "guidance_zh": "立即致歉并告知新的送货时间。退还运费；延误超过三天的，另送代金券。",
        "checks_en": "The order's promised date; the carrier's tracking; whether anyone "
        "called the customer.",
        "checks_zh": "订单承诺的日期；承运商的物流记录；是否有人致电客户。",
        "remedies": ["apology", "partial_refund", "voucher"],
        "remedy_value_max": Decimal("100"),
        "reply_template_en": "Dear {customer_name},\n\nwe are sorry that your delivery "
        "(order {order_number}) was late and that nobody called you. We refund the delivery "
        "fee and have sent you a voucher.\n\n{agent_name}",
        "reply_template_zh": "{customer_name}，您好！\n\n很抱歉您的订单 {order_number} "
        "送货延误，也没有人及时联系您。我们将退还运费，并已为您寄出代金券。\n\n{agent_name}",
    },
    {
        "category": "service_attitude",
        "root_cause": "people",
        "title_en": "Rude staff in a store",
        "title_zh": "门店员工态度不好",
        "guidance_en": "Listen to the whole story without defending the colleague. Apologise, "
        "answer the question the customer came with, and tell the store manager.",
        "guidance_zh": "完整倾听，不为同事辩解。致歉，解答客户原本的问题，并告知门店经理。",
        "checks_en": "Which store and when; who served the customer; the store manager's account.",
        "checks_zh": "哪家门店、什么时间；谁接待了客户；门店经理的说明。",
        "remedies": ["apology", "explanation"],
        "reply_template_en": "Dear {customer_name},\n\nwe are sorry for how you were treated "
        "in our store. This is not how we want to serve you; the store manager has spoken "
        "with the team.\n\n{agent_name}",
        "reply_template_zh": "{customer_name}，您好！\n\n对于您在门店受到的接待，我们深表歉意。"
        "这不是我们应有的服务，门店经理已与团队沟通。\n\n{agent_name}",
    },
    {
        "category": "price_billing",
        "root_cause": "",
        "title_en": "Charged twice",
        "title_zh": "重复扣款",
        "guidance_en": "Confirm the two charges in the billing system, refund the second one "
        "the same day and tell the customer when the money will be back.",
        "guidance_zh": "在计费系统中核实两笔扣款，当天退还第二笔，并告知客户到账时间。",
        "checks_en": "Both transactions, their amounts and dates; the payment provider's record.",
        "checks_zh": "两笔交易的金额和日期；支付机构的记录。",
        "remedies": ["full_refund", "apology"],
        "remedy_value_max": Decimal("2000"),
        "reply_template_en": "Dear {customer_name},\n\nyou were right: you were charged twice "
        "for order {order_number}. We have refunded the second charge; it will be back on "
        "your account within five working days.\n\n{agent_name}",
        "reply_template_zh": "{customer_name}，您好！\n\n经核实，订单 {order_number} "
        "确实被重复扣款。我们已退还第二笔款项，将在五个工作日内退回您的账户。\n\n{agent_name}",
    },
    {
        "category": "safety",
        "root_cause": "equipment",
        "title_en": "A product that burned the customer",
        "title_zh": "产品烫伤客户",
        "guidance_en": "Red urgency. Ask whether the customer is hurt and needs a doctor. "
        "Tell them to stop using the product; collect it for testing. Refund it, and tell "
        "the quality manager at once.",
        "guidance_zh": "红色紧急。询问客户是否受伤、是否需要就医。请客户停止使用产品，"
        "回收送检。予以退款，并立即告知质量负责人。",
        "checks_en": "Injury; the product's batch; other complaints about the same model.",
        "checks_zh": "是否受伤；产品批次；同一型号的其他投诉。",
        "remedies": ["full_refund", "compensation"],
        "remedy_value_max": Decimal("5000"),
        "reply_template_en": "Dear {customer_name},\n\nthank you for warning us about your "
        "{product}. Please stop using it; we will collect it and refund you. Your safety "
        "comes first: tell us if you need a doctor's help.\n\n{agent_name}",
        "reply_template_zh": "{customer_name}，您好！\n\n感谢您提醒我们{product}存在的问题。"
        "请停止使用，我们将上门回收并为您退款。您的安全最重要，如需就医请告诉我们。\n\n{agent_name}",
    },
    {
        "category": "customer_misuse",
        "root_cause": "misunderstanding",
        "title_en": "Damage from using a product as it is not meant to be used",
        "title_zh": "因使用不当造成的损坏",
        "guidance_en": "The complaint is not valid, but answer it politely: explain how the "
        "product is meant to be used, and offer a repair at cost price.",
        "guidance_zh": "投诉不成立，但要礼貌答复：说明产品的正确使用方法，并提供成本价维修。",
        "checks_en": "What the customer did with it; the manual's warnings.",
        "checks_zh": "客户如何使用；说明书中的警示。",
        "remedies": ["explanation"],
        "reply_template_en": "Dear {customer_name},\n\nthank you for your patience while we "
        "looked into case {reference}. The {product} is not made for crushing ice, so the "
        "warranty does not cover this damage; we can repair it at cost price.\n\n{agent_name}",
        "reply_template_zh": "{customer_name}，您好！\n\n感谢您在我们调查受理号 {reference} "
        "期间的耐心等待。{product}并非为碎冰设计，因此该损坏不在保修范围内；"
        "我们可以按成本价为您维修。\n\n{agent_name}",
    },
]


def demo_articles_seed(*, by: User) -> list[Article]:
    """Create and publish the demo articles (nothing when there are articles already)."""
    if Article.objects.exists():
        return []
    made = []
    for content in ARTICLES:
        article = services.article_create(by=by, data=content)
        services.article_set_status(
            article=article, by=by, status=Article.Status.PUBLISHED, expected_version=1
        )
        made.append(article)
    return made
