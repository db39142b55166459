package bot_test

// volunteersTestCatalog is the catalogue of the volunteer service (a copy of its
// block of configs/messages.zh.yaml), added to the engine tests' catalogue.
const volunteersTestCatalog = `
# --- volunteers ---
vol.not_found: "没有编号为 {{.No}} 的志愿活动。发送「志愿活动」查看可报名的活动。"
vol.cancelled_activity: "活动 {{.No}}「{{.Title}}」已取消，不能再报名或签到。"
vol.started: "活动 {{.No}}「{{.Title}}」已经开始，不能再报名或取消报名。"
vol.already: "您已报名活动 {{.No}}「{{.Title}}」，无需重复报名。发送「我的报名」查看。"
vol.overlap: "活动 {{.No}}「{{.Title}}」与您已报名的活动 {{.Other}} 时间冲突，未报名。如需改报，请先发送「取消报名 {{.Other}}」。"
vol.not_signed: "您没有报名活动 {{.No}}「{{.Title}}」，无需取消。"
vol.check_not_signed: "您不在活动 {{.No}}「{{.Title}}」的正式报名名单上，不能签到签退。如在候补，请等待递补通知。"
vol.checked_in_already: "您已在活动 {{.No}}「{{.Title}}」签到过了。结束时请发送「签退 签到码」。"
vol.check_no_in: "您还没有在活动 {{.No}}「{{.Title}}」签到，不能签退。如确实参加了，请找组织者补签。"
vol.checked_out_already: "活动 {{.No}}「{{.Title}}」的时长已经记录，不能重复签退或补签。"
vol.points_short: "积分不足：当前余额 {{.Balance}} 分，兑换需要 {{.Points}} 分。未扣减积分。"
vol.no_volunteer: "没有找到志愿者{{if .No}}编号 {{.No}}{{end}}。志愿者编号可在对方「我的志愿」中看到。"
vol.need_profile: "报名前请先登记志愿者信息：发送「志愿者登记」（只需一次）。登记后再发送「报名 {{.No}}」。"
vol.not_eligible: "活动 {{.No}}「{{.Title}}」仅限{{.Who}}报名，您暂不符合条件。发送「志愿活动」看看其他活动。"
vol.staff_only: "这项操作仅限本社区工作人员。"
vol.bad_code: "签到码「{{.Code}}」不正确。请核对组织者现场出示的 6 位数字。"
vol.code_early: "活动 {{.No}}「{{.Title}}」的签到从 {{.Opens}} 开始，请到时再发。"
vol.code_expired: "活动 {{.No}}「{{.Title}}」已经结束，签到码已失效。如漏签退，请找组织者补签。"
vol.bad_draft: "{{if eq .Why \"past\"}}活动开始时间须晚于现在。{{else if eq .Why \"end\"}}结束时间须晚于开始时间，且活动不超过 24 小时。{{else if eq .Why \"capacity\"}}人数须在 1 到 10000 之间。{{else if eq .Why \"weeks\"}}每周重复的次数须在 1 到 52 之间。{{else if eq .Why \"audience\"}}报名范围不正确。{{else if eq .Why \"community\"}}没有这个社区。{{else if eq .Why \"skill\"}}没有这项特长。{{else if eq .Why \"profile\"}}请填写姓名和社区。{{else}}请填写活动名称和地点。{{end}}未保存。"
vol.ended: "活动 {{.No}}「{{.Title}}」已经结束。"
vol.no_person: "活动 {{.No}} 的正式名单上没有「{{.Who}}」。请用补签名单上的序号或志愿者编号。"
vol.bad_hours: "时长不正确：请填写 0 到 {{.Hours}} 之间的小时数（可带一位小数，如 1.5），且只能在活动开始后补签。"
vol.bad_points: "格式：兑换 志愿者编号 积分 物品，例如「兑换 20001 50 大米」。积分须为正整数。"
vol.push.template_first: "志愿活动 {{.No}} 通知"
vol.push.promoted: "好消息：您已从候补转为正式报名！\n活动 {{.No}}「{{.Title}}」\n时间：{{.When}}\n地点：{{.Place}}\n如不能参加，请发送「取消报名 {{.No}}」，把名额留给他人。"
vol.push.evening: "明天的志愿活动提醒：\n活动 {{.No}}「{{.Title}}」\n时间：{{.When}}\n地点：{{.Place}}\n到场后请向组织者要签到码，发送「签到 签到码」。不能参加请发送「取消报名 {{.No}}」。"
vol.push.soon: "志愿活动两小时后开始：\n活动 {{.No}}「{{.Title}}」\n时间：{{.When}}\n地点：{{.Place}}"
vol.push.changed: "您报名的志愿活动有变动：\n活动 {{.No}}「{{.Title}}」\n新时间：{{.When}}\n地点：{{.Place}}\n不能参加请发送「取消报名 {{.No}}」。"
vol.push.cancelled: "很抱歉，您报名的志愿活动 {{.No}}「{{.Title}}」（{{.When}}）已取消。{{if .Reason}}原因：{{.Reason}}{{end}}"
vol.push.missing: "活动 {{.No}}「{{.Title}}」（{{.When}}）以下志愿者签到后未签退：\n{{range .Missing}}{{.N}}. {{.Name}}\n{{end}}请核实后发送「补签 {{.No}} 序号 小时数」，例如「补签 {{.No}} {{(index .Missing 0).N}} {{.Hours}}」。"
`
