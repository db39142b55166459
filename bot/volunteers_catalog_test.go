package bot_test

// volunteersTestCatalog is the catalogue of the volunteer service (a copy of its
// block of configs/messages.zh.yaml), added to the engine tests' catalogue.
const volunteersTestCatalog = `
# --- volunteers ---
words.vol_list: [志愿活动, 志愿服务]
words.vol_signup: [报名]
words.vol_unsign: [取消报名]
words.vol_mine: [我的报名]
words.vol_checkin: [签到]
words.vol_checkout: [签退]
words.vol_hours: [我的时长, 我的积分]
words.vol_profile: [我的志愿]
words.vol_register: [志愿者登记, 志愿登记]
words.vol_leave: [退出志愿者]
words.vol_publish: [发布活动]
words.vol_code: [签到码]
words.vol_adjust: [补签]
words.vol_redeem: [兑换]
words.vol_move: [活动改期]
words.vol_cancel: [取消活动]
words.vol_roster: [报名名单]
vol.list: "近期志愿活动：\n{{range .Items}}\n【{{.No}}】{{.Title}}\n{{.When}} · {{.Place}}（{{.Community}}）\n{{if eq .Mine \"confirmed\"}}您已报名{{else if eq .Mine \"waitlisted\"}}您在候补中{{else if gt .Left 0}}剩余名额 {{.Left}}/{{.Capacity}}{{else}}已满，可报名候补（候补 {{.Waitlisted}} 人）{{end}}\n{{end}}\n报名请发送「报名 编号」，如「报名 {{(index .Items 0).No}}」。"
vol.list_none: "近期没有可报名的志愿活动。有新活动时社区会发布，欢迎常来看看。"
vol.signed_up: "报名成功！\n活动 {{.No}}「{{.Title}}」\n时间：{{.When}}\n地点：{{.Place}}\n活动前一天傍晚和开始前两小时会提醒您。不能参加请发送「取消报名 {{.No}}」。"
vol.waitlisted: "活动 {{.No}}「{{.Title}}」名额已满，您已进入候补第 {{.Position}} 位。有人取消时按顺序自动递补，递补成功会立即通知您。"
vol.unsigned: "{{if .Waitlisted}}已取消活动 {{.No}}「{{.Title}}」的候补。{{else}}已取消报名活动 {{.No}}「{{.Title}}」。{{if .Late}}距开始已不足规定时间，本次记为临时取消，下次请尽早告知。{{end}}{{end}}"
vol.mine: "我的报名：\n{{range .Items}}\n【{{.No}}】{{.Title}}\n{{.When}} · {{.Place}}\n{{if .Waitlisted}}候补第 {{.Position}} 位{{else}}已报名{{end}}\n{{end}}\n取消请发送「取消报名 编号」。"
vol.mine_none: "您目前没有报名的志愿活动。发送「志愿活动」看看近期活动。"
vol.checked_in: "签到成功（{{.At}}）：活动 {{.No}}「{{.Title}}」。结束时请发送「签退 签到码」记录服务时长。"
vol.checked_out: "签退成功：活动 {{.No}}「{{.Title}}」，记服务时长 {{.Got}} 小时，获得爱心积分 {{.Points}} 分。感谢您的付出！发送「我的时长」查看累计。"
vol.hours: "我的志愿服务{{if .No}}（志愿者编号 {{.No}}）{{end}}：\n{{.Year}} 年：{{.YearHours}} 小时\n累计：{{.Hours}} 小时\n爱心积分余额：{{.Points}} 分（累计获得 {{.Earned}} 分）\n{{if .Lines}}\n最近积分记录：\n{{range .Lines}}{{.At}} {{if eq .Kind \"redeemed\"}}兑换{{.Item}} {{.Points}}{{else}}活动 {{.Activity}} {{.Hours}} 小时 +{{.Points}}{{end}}，余额 {{.Balance}}\n{{end}}{{end}}积分可到社区爱心超市兑换，出示志愿者编号即可。"
vol.profile: "{{if .Registered}}我的志愿者信息：\n志愿者编号：{{.No}}\n姓名：{{.Name}}\n电话：{{.Phone}}\n社区：{{.Community}}\n特长：{{if .Skills}}{{.Skills}}{{else}}未填{{end}}\n可服务时间：{{if .Availability}}{{.Availability}}{{else}}未填{{end}}\n\n修改请发送「志愿者登记」，退出请发送「退出志愿者」（已有时长和积分保留）。{{else}}您还没有登记为志愿者。发送「志愿者登记」，一分钟即可完成。{{end}}"
vol.reg.title: "志愿者登记"
vol.reg.name: "请输入您的姓名："
vol.reg.phone: "请输入您的手机号（仅用于活动联系）："
vol.reg.community: "请选择您所在的社区："
vol.reg.skills: "您有哪些特长？可多选，用顿号或空格分开：{{.SkillList}}"
vol.reg.availability: "您一般什么时间方便参加活动？（如：周末上午）"
vol.reg.summary: "请确认：\n姓名：{{.Name}}\n电话：{{.Phone}}\n社区：{{.Community}}\n特长：{{.Skills}}\n可服务时间：{{.Availability}}\n回复「确认」提交，「返回」修改，「取消」放弃。"
vol.reg.done: "登记成功！{{.Name}}，您的志愿者编号是 {{.No}}。发送「志愿活动」查看可报名的活动。"
vol.reg.bad_skill: "没有「{{.Skill}}」这项特长，请从这些里选：{{.SkillList}}（可回复「跳过」）"
vol.left: "您已退出志愿者，近期的报名已取消。已有的服务时长和积分仍保留，随时可以发送「志愿者登记」重新加入。"
vol.pub.title: "发布志愿活动"
vol.pub.community: "发布到哪个社区？"
vol.pub.name: "活动名称："
vol.pub.start: "开始时间（如 12-05 09:00）："
vol.pub.end: "结束时间（如 11:00）："
vol.pub.place: "活动地点："
vol.pub.capacity: "名额（人数）："
vol.pub.weeks: "每周重复几次？（共几周，如 4；只办一次请回复「跳过」）"
vol.pub.audience: "谁可以报名？"
vol.pub.description: "活动内容（可附照片；可回复「跳过」）："
vol.pub.summary: "请确认：\n{{.Title}}\n时间：{{.When}}{{if gt .Weeks 1}}，每周一次共 {{.Weeks}} 次{{end}}\n地点：{{.Place}}（{{.Community}}）\n名额：{{.Capacity}}\n报名范围：{{.Audience}}\n{{if .Description}}内容：{{.Description}}\n{{end}}回复「确认」发布，「返回」修改，「取消」放弃。"
vol.pub.done: "已发布：\n{{range .Items}}【{{.No}}】{{.Title}} {{.When}}\n{{end}}居民发送「报名 编号」即可报名。活动当天发送「签到码 编号」取签到码。"
vol.pub.bad_time: "时间格式不对或已过去。请按「12-05 09:00」这样的格式输入。"
vol.pub.bad_number: "请输入 {{.Min}} 到 {{.Max}} 之间的数字。"
vol.pub.audience_all: "所有志愿者"
vol.pub.audience_party: "仅党员"
vol.code: "活动 {{.No}}「{{.Title}}」的签到码：{{.Code}}\n{{.Opens}} 起到活动结束有效。请出示给志愿者：发送「签到 {{.Code}}」签到，结束时发送「签退 {{.Code}}」。{{if .Image}}二维码图片随后发送，可直接展示。{{end}}"
vol.adjusted: "已补签：{{.Name}} 在活动 {{.No}}「{{.Title}}」记 {{.Got}} 小时，积分 {{.Points}} 分。"
vol.redeemed: "已兑换：志愿者 {{.No}} {{.Name}} 用 {{.Points}} 分兑换「{{.Item}}」，剩余 {{.Balance}} 分。"
vol.moved: "已修改活动 {{.No}}「{{.Title}}」：{{.When}}，{{.Place}}。已通知所有报名和候补的志愿者，提醒时间已随之调整。"
vol.cancelled_ok: "已取消活动 {{.No}}「{{.Title}}」，已通知所有报名和候补的志愿者，提醒已撤销。"
vol.roster: "活动 {{.No}}「{{.Title}}」{{.When}}\n正式（{{len .Confirmed}}/{{.Capacity}}）：\n{{range .Confirmed}}{{.N}}. {{.Name}} {{.No}} {{.Phone}}\n{{end}}{{if .Waitlisted}}候补：\n{{range .Waitlisted}}{{.N}}. {{.Name}} {{.No}}\n{{end}}{{end}}{{if .Late}}临时取消：{{range .Late}}{{.Name}} {{end}}{{end}}"
vol.usage: "{{if eq .Cmd \"signup\"}}请发送「报名 活动编号」，如「报名 101」。{{else if eq .Cmd \"unsign\"}}请发送「取消报名 活动编号」。{{else if eq .Cmd \"checkin\"}}请发送「签到 签到码」，签到码由组织者现场出示。{{else if eq .Cmd \"checkout\"}}请发送「签退 签到码」。{{else if eq .Cmd \"code\"}}请发送「签到码 活动编号」。{{else if eq .Cmd \"adjust\"}}请发送「补签 活动编号 序号 小时数」，如「补签 101 2 1.5」。{{else if eq .Cmd \"move\"}}请发送「活动改期 编号 12-05 09:00 11:00」或「活动改期 编号 地点 新地点」。{{else if eq .Cmd \"cancel\"}}请发送「取消活动 编号 原因」。{{else}}请发送「报名名单 活动编号」。{{end}}"
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
vol.who_party: "党员"
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
