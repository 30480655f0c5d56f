"""Why a matter went where it went, as the system writes it: stored in Chinese, answered in
the caller's language (older rows written in English are answered the same way)."""

from __future__ import annotations

from fengqiao.core.labels import Label, template

TERRITORIAL = Label("属地默认", "territorial default")
BY_RULE = Label("分流规则 #{id}", "routing rule #{id}")
AS_SUGGESTED = Label("按建议：{reason}", "as suggested: {reason}")
CHOSEN = Label("调度员选定", "chosen by the dispatcher")
BY_MODEL = Label("模型分流：{reason}", "by the model: {reason}")
ROUTE_REASONS = (TERRITORIAL, BY_RULE, AS_SUGGESTED, CHOSEN, BY_MODEL)


def route_reason_in(text: str | None, lang: str) -> str | None:
    """A routing reason the system wrote, in `lang`; a person's words stay as typed."""
    if not text:
        return text
    for label in ROUTE_REASONS:
        for form in (label.zh, label.en):
            found = template(form).fullmatch(text)
            if found is not None:
                fields = {k: route_reason_in(v, lang) for k, v in found.groupdict().items()}
                return label(lang).format(**fields)
    return text
