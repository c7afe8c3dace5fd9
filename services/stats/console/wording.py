"""The console's words (zh-CN): statuses, actions, timeline entries, responder kinds,
and what a refusal from intake or routing means for the person who clicked."""

from __future__ import annotations

from dataclasses import dataclass

STATUS = {
    "received": "已受理",
    "routed": "待签收",
    "acknowledged": "已签收",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已评价归档",
    "duplicate": "已并入重复件",
}
ACTIONS = {
    "acknowledged": "签收",
    "in_progress": "报告办理中",
    "resolved": "办结",
    "returned": "退单",
}
TIMELINE = {
    "received": "受理",
    "routed": "派单",
    "rerouted": "改派",
    "reminded": "催办提醒",
    "escalated": "升级督办",
    "acknowledged": "签收",
    "in_progress": "办理中",
    "resolved": "办结",
    "returned": "退单",
    "rated": "居民评价",
    "reopened": "重新办理",
    "duplicate_linked": "并入重复件",
    "unlinked": "撤销合并",
    "hotspot": "列入热点（未诉先办）",
}
KINDS = {
    "property_firm": "物业企业",
    "committee": "业委会/物委会",
    "community": "社区",
    "community_party": "社区党组织",
    "housing": "住建局",
    "planning": "规划局",
    "urban_management": "城管执法局",
    "fire": "消防救援",
    "property_party_committee": "物业行业党委",
    "coordination": "联动协调中心",
    "dispatch": "派单中心",
}
RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
BREACH = {"acknowledge": "签收超时", "resolve": "办结超时"}
CHANNELS = {"hotline": "12345热线", "app": "手机应用", "web": "网站", "wechat": "微信"}
RATE_LABELS = {
    "response_rate": "响应率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
}


@dataclass(frozen=True)
class Answer:
    """What intake answered a console action, as the console shows it."""

    accepted: bool
    http_status: int
    status: str | None = None
    code: str | None = None
    field: str | None = None
    detail: str | None = None


def refusal_text(answer: Answer, action: str) -> str:
    """The refusal in words the responder can act on; the API's own reason is shown
    beside it (``Answer.detail``), so nothing is lost in translation."""
    wanted = ACTIONS.get(action, action)
    detail = answer.detail or ""
    status = answer.http_status
    if status == 401:
        return "登录已失效或密钥已停用，请重新登录。"
    if status == 404:
        return "查无此件，或此件不属于您的单位。"
    if status == 429:
        return "操作过于频繁，请稍后再试。"
    if status >= 500 or status == 0:
        return "系统暂时无法处理，请稍后重试（操作未执行）。"
    if status == 403 and answer.code in (None, "forbidden"):  # the key's scopes, not routing
        return f"您的密钥不能代表该单位{wanted}。"
    if answer.code == "not_assigned":
        if "supporting responder" in detail:
            return f"只有主办单位可以{wanted}；协办单位只能报告办理中。"
        return f"您的单位不是此件的承办单位，不能{wanted}。"
    if answer.code == "not_routed":
        return "此件尚未派单，暂不能操作。"
    if answer.code == "invalid":
        if answer.field == "note":
            return "退单须填写理由。" if action == "returned" else f"{wanted}须填写说明。"
        return f"填写的内容不符合要求，不能{wanted}。"
    if answer.code == "not_allowed":
        if "must acknowledge" in detail:
            return f"须先签收，才能{wanted}。"
        if "closed" in detail:
            return "此件已评价归档，不能再操作。"
        if "duplicate" in detail:
            return "此件已并入重复件，请处理原件。"
        if "already had this complaint" in detail:
            return "政策允许的单位都已退过此件，不能再退单，请联系派单中心。"
        if "resolved with" in detail:
            return "此件已随原件办结，只待居民评价。"
        for code, label in STATUS.items():
            if f"is {code}" in detail:
                return f"此件当前状态为「{label}」，不能{wanted}。"
        return f"此件当前状态不允许{wanted}。"
    if status == 422:
        return f"填写的内容不符合要求，不能{wanted}。"
    return f"未能{wanted}。"
