package bot_test

// visitsTestCatalog is the catalogue of the visit service (a copy of its block of
// configs/messages.zh.yaml), added to the engine tests' catalogue.
const visitsTestCatalog = `
# --- party-member tasks (三必访, 五包, 四个一) ---
words.visit_mine: [我的任务]
words.visit_show: [任务]
words.visit_done: [完成]
words.visit_reschedule: [改期]
words.visit_return: [转交]
words.visit_branch: [支部任务]
words.visit_assign: [指派]
words.visit_nudge: [催办]
words.visit_approve: [同意]
words.visit_refuse: [不同意]
words.visit_transfer_in: [转入]
words.visit_flag_hardship: [标记困难]
words.visit_illness: [病访]
words.visit_bereavement: [逝访]
words.pair: [结对]
words.pair_end: [结束结对]
words.fourone: [四个一]
words.fourone_mine: [我的四个一]
words.fourone_branch: [支部四个一]
words.fourone.good_deed: [好事]
words.fourone.labour: [义务劳动, 劳动, 公益活动]
words.fourone.info: [信息, 民意]
words.fourone.proposal: [建议]
visit.kind.transfer_in: "新转入党员走访"
visit.kind.hardship: "困难群众走访"
visit.kind.illness: "病患慰问走访"
visit.kind.bereavement: "丧事慰问走访"
visit.kind.hardship_member: "五包·特困党员户"
visit.kind.released: "五包·两劳释放人员"
visit.kind.elderly_alone: "五包·孤寡老人"
visit.kind.laid_off: "五包·下岗职工"
visit.kind.disabled: "五包·残疾人"
visit.status.new: "待指派"
visit.status.assigned: "待走访"
visit.status.done: "已完成"
visit.status.ended: "已撤销"
visit.push.new: |-
  【走访任务 {{.No}}】{{.Kind}}{{if .Person}}：{{.Person}}{{end}}
  {{if .Place}}地点：{{.Place}}
  {{end}}请于 {{.Deadline}} 前完成走访。
  回复「任务 {{.No}}」查看详情，走访后回复「完成 {{.No}} 走访情况」。
visit.push.unassigned: |-
  【待指派 {{.No}}】{{.Kind}}，截止 {{.Deadline}}。
  {{if .FallBack}}本社区尚未绑定社区书记，此提醒发给社区工作人员：指派须由社区书记操作，请联系党支部安排党员走访，并请管理员绑定社区书记。{{else}}回复「指派 {{.No}} 党员姓名」安排走访，「任务 {{.No}}」查看详情。{{end}}
visit.push.before: "⏰【走访提醒 {{.No}}】{{.Kind}}明天到期（{{.Deadline}}）。{{if .Place}}地点：{{.Place}}。{{end}}完成后回复「完成 {{.No}} 走访情况」。"
visit.push.on_day: "🔴【今日到期 {{.No}}】{{.Kind}}今天 {{.Deadline}} 到期。{{if .Place}}地点：{{.Place}}。{{end}}完成后回复「完成 {{.No}} 走访情况」，需延期请回复「改期 {{.No}} 日期 原因」。"
visit.push.secretary: "🔴【走访超期 {{.No}}】{{.Kind}}已过期限（{{.Deadline}}）{{if .Assignee}}，承办党员：{{.Assignee}}{{else}}，尚未指派{{end}}。{{if .FallBack}}本社区尚未绑定社区书记，此提醒发给社区工作人员：请{{if .Assignee}}联系承办党员尽快走访{{else}}联系党支部尽快安排党员走访{{end}}，并请管理员绑定社区书记。{{else}}回复「催办 {{.No}}」提醒，或「指派 {{.No}} 党员姓名」。{{end}}"
visit.push.district: "🔴【走访超期·区级督办 {{.No}}】{{.Kind}}已超期（期限 {{.Deadline}}）{{if .Assignee}}，承办党员：{{.Assignee}}{{end}}，{{if .FallBack}}尚未绑定区级管理员，此督办提醒发给社区工作人员，请尽快落实，并请管理员绑定区级管理员。{{else}}请督促支部落实。{{end}}"
visit.push.nudge: "📌【支部催办 {{.No}}】{{.Kind}}请尽快走访，期限 {{.Deadline}}。完成后回复「完成 {{.No}} 走访情况」。"
visit.push.reschedule_ask: "【改期申请 {{.No}}】{{.Assignee}}申请将{{.Kind}}的期限改到 {{.Proposed}}。{{if .FallBack}}本社区尚未绑定社区书记，此申请发给社区工作人员：改期须由社区书记同意，请与党员商量，并请管理员绑定社区书记。{{else}}回复「同意 {{.No}}」或「不同意 {{.No}}」，「任务 {{.No}}」查看原因。{{end}}"
visit.push.reschedule_ok: "✅ 支部已同意改期：任务 {{.No}} 的新期限为 {{.Deadline}}。"
visit.push.reschedule_no: "支部未同意改期：任务 {{.No}} 的期限仍为 {{.Deadline}}，如有困难请联系支部书记或回复「转交 {{.No}}」。"
visit.push.returned: "【任务退回 {{.No}}】{{.Member}}已将{{.Kind}}交回支部，期限 {{.Deadline}}。{{if .FallBack}}本社区尚未绑定社区书记，此提醒发给社区工作人员：请联系党支部重新安排，并请管理员绑定社区书记。{{else}}回复「指派 {{.No}} 党员姓名」重新安排。{{end}}"
visit.push.done: "✅【走访完成 {{.No}}】{{.Assignee}}已完成{{.Kind}}。{{if .FallBack}}（本社区尚未绑定社区书记，此消息发给社区工作人员。）{{else}}回复「任务 {{.No}}」查看走访情况。{{end}}"
visit.not_found: "没有找到任务 {{.No}}，或这不是您的任务。发送「我的任务」查看您的任务。"
visit.not_open: "任务 {{.No}} 已经完成或已撤销，不需要再操作。"
visit.not_member: "本支部没有名为「{{.Member}}」的党员。请核对姓名（党员需先绑定身份）。"
visit.bad_date: "请写明新日期（工作日）和原因，例如：改期 101 12月8日 住院复查。新日期须晚于现在。"
visit.no_proposal: "任务 {{.No}} 没有待审批的改期申请。"
visit.needs_report: "请写上走访情况，例如：完成 {{.No}} 已上门看望，老人身体好转，送去米面油。"
visit.needs_name: "请写上姓名，例如：转入 王建军 幸福里3栋。"
visit.no_branch: "这项操作需要本支部书记的身份。"
pair.bad_kind: "结对类别须是：特困党员户、两劳释放人员、孤寡老人、下岗职工、残疾人 之一。"
pair.not_found: "没有找到结对 {{.ID}}。"
fourone.title: "四个一"
fourone.not_member: "「四个一」由党员和挂点指导的处级干部填报。如您是党员，请先发送「绑定 邀请码」。"
fourone.bad_item: "请按格式填报，例如：四个一 好事 帮孤寡老人修好了水管。可填：好事、义务劳动、信息、建议。"
fourone.item.member.good_deed: "做一件好事"
fourone.item.member.labour: "参加一次义务劳动"
fourone.item.member.info: "向党支部反映一条信息"
fourone.item.member.proposal: "提一条合理化建议"
fourone.item.instructor.good_deed: "办一件实事好事"
fourone.item.instructor.labour: "参加一次社区公益活动"
fourone.item.instructor.info: "反映一条民意"
fourone.item.instructor.proposal: "提一条合理化建议"
fourone.push.november: "【四个一提醒】{{.Name}}同志，{{.Year}}年度「四个一」您还差：{{.Missing}}。请在年底前完成，完成后回复「四个一 好事 内容」等填报。"
time.when: "{{.Month}}月{{.Day}}日 {{.Clock}}"
time.weekdays: "日一二三四五六"
`
