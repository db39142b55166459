package handlers

import (
	"testing"

	"minyuan/bot"
)

func TestSplitTicketNo(t *testing.T) {
	cases := []struct {
		in, no, rest string
		ok           bool
	}{
		{"1001", "1001", "", true},
		{"  1001  路灯已修好 ", "1001", "路灯已修好", true},
		{"１００２ 已联系物业，明天上午维修。", "1002", "已联系物业，明天上午维修。", true},
		{"1003：好的", "1003", "好的", true},
		{"1004，李明", "1004", "李明", true},
		{"1005\n第二行", "1005", "第二行", true},
		{"", "", "", false},
		{"一下，谢谢", "", "", false},         // a sentence that starts with a desk word
		{"3号楼漏水", "", "", false},         // a number that is not a ticket number
		{"1001号楼", "", "", false},        // nor is this
		{"1234567890123", "", "", false}, // too long to be ours
		{"#1001", "1001", "", true},
		{"＃１００１　三楼", "1001", "三楼", true}, // a Chinese keyboard's full-width signs and space
		{"楼道灯 1001", "", "", false},
	}
	for _, c := range cases {
		no, rest, ok := splitTicketNo(c.in)
		if no != c.no || rest != c.rest || ok != c.ok {
			t.Errorf("splitTicketNo(%q) = %q, %q, %v; want %q, %q, %v", c.in, no, rest, ok, c.no, c.rest, c.ok)
		}
	}
}

func TestFindCommunity(t *testing.T) {
	cs := Communities{{Code: "QY", Name: "七一路社区"}, {Code: "HX", Name: "和谐社区"}}
	cases := []struct {
		in   string
		want string
	}{
		{"HX", "HX"},
		{"hx", "HX"},
		{"和谐社区", "HX"},
		{"和谐", "HX"},
		{"七一路", "QY"},
		{"李明", ""},
		{"社区", ""},
	}
	for _, c := range cases {
		got, ok := cs.find(c.in)
		if ok != (c.want != "") || got.Code != c.want {
			t.Errorf("findCommunity(%q) = %q, %v; want %q", c.in, got.Code, ok, c.want)
		}
	}
}

func TestStaffName(t *testing.T) {
	u := &bot.User{Grants: []bot.Grant{
		{Role: bot.RoleParty, Community: "QY", Name: "党员王"},
		{Role: bot.RoleStaff, Community: "QY", Name: "王芳"},
		{Role: bot.RoleAdmin, Community: "QY", Name: "区管理员孙"},
	}}
	cases := []struct{ community, want string }{
		{"QY", "王芳"},    // the staff grant of the ticket's community
		{"HX", "区管理员孙"}, // elsewhere, as the admin
	}
	for _, c := range cases {
		if got := staffName(u, c.community); got != c.want {
			t.Errorf("staffName(%s) = %q, want %q", c.community, got, c.want)
		}
	}
}
