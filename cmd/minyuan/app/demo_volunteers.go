package app

import (
	"context"
	"fmt"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/configs"
)

// seedVolunteers gives the demo something to sign up for: the resident and the party
// member are registered volunteers; two activities of the home community are
// published by the staff member, one of them nearly full (one place left), so that a
// second sign-up shows the waitlist. Moving the clock to 18:00 the day before fires
// the reminders; 签到码 <no> in the staff phone gives the code to check in with.
func (d *Demo) seedVolunteers(ctx context.Context, cfg configs.Config, home configs.Community) error {
	now := d.Clock.Now()
	svc := d.App.Volunteers
	for _, v := range []bot.Volunteer{
		{OpenID: DemoResident, Name: "张秀兰", Phone: "13800138000", Community: home.Code, Skills: []string{"医护"}, Availability: "周末上午"},
		{OpenID: DemoParty, Name: "李建国", Phone: "13900139000", Community: home.Code, Skills: []string{"巡逻"}, Availability: "周末"},
		{OpenID: "oMY_demo_vol_1", Name: "陈志强", Community: home.Code},
		{OpenID: "oMY_demo_vol_2", Name: "刘芳", Community: home.Code},
		{OpenID: "oMY_demo_vol_3", Name: "赵磊", Community: home.Code},
		{OpenID: "oMY_demo_vol_4", Name: "孙丽华", Community: home.Code},
	} {
		if _, err := svc.Register(ctx, bot.Actor{Kind: bot.ActorResident, ID: v.OpenID}, now, v); err != nil {
			return fmt.Errorf("demo: seed volunteer: %w", err)
		}
	}
	organiser := bot.Actor{Kind: bot.ActorStaff, ID: DemoStaff, Name: "王芳",
		Grants: []bot.Grant{{OpenID: DemoStaff, Role: bot.RoleStaff, Community: home.Code, Name: "王芳"}}}
	day := func(n, h int) time.Time {
		t := now.In(calendar.Location()).AddDate(0, 0, n)
		return time.Date(t.Year(), t.Month(), t.Day(), h, 0, 0, 0, calendar.Location())
	}
	patrol, err := svc.Publish(ctx, organiser, now, bot.Activity{Community: home.Code, Title: "义务巡逻",
		Place: home.Name + "党群服务中心门口", Start: day(1, 9), End: day(1, 11), Capacity: 5, OrgName: "王芳",
		Description: "沿主要街巷巡查，提醒商户注意消防安全。"}, 1, "demo:patrol")
	if err != nil {
		return fmt.Errorf("demo: seed activity: %w", err)
	}
	if _, err := svc.Publish(ctx, organiser, now, bot.Activity{Community: home.Code, Title: "爱心超市值守",
		Place: home.Name + "爱心超市", Start: day(2, 14), End: day(2, 16), Capacity: 8, OrgName: "王芳",
		Description: "整理物资，帮助居民用爱心积分兑换。"}, 1, "demo:market"); err != nil {
		return fmt.Errorf("demo: seed activity: %w", err)
	}
	for i := 1; i <= 4; i++ {
		if _, _, err := svc.SignUp(ctx, bot.Actor{Kind: bot.ActorResident, ID: fmt.Sprintf("oMY_demo_vol_%d", i)}, now, patrol[0].No); err != nil {
			return fmt.Errorf("demo: seed sign-up: %w", err)
		}
	}
	return nil
}
