package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Identities of pushes and reminders. Every push id and every reminder id Minyuan
// makes comes from here, built from the entity, its version and the event — never
// from the inbound message that caused it — so that:
//   - a change that happens twice (a ticket moved, then claimed again elsewhere) is
//     told twice: each change has its own version, hence its own push id;
//   - the same change handled twice (a retry) is told once.
//
// A person is never named in an id by their openid: ids are logged and listed by
// the admin command line, so a recipient is part of an id only as a short hash.

// TicketPushID is the id of the push telling to about event of ticket no, as it
// stands at version (the ticket's version after the change being told).
func TicketPushID(no string, version int, event EventKind, to string) string {
	return "t:" + no + ":v" + strconv.Itoa(version) + ":" + string(event) + ":" + Recipient(to)
}

// TicketReminderID is the id of one of ticket no's reminders: slot names what it
// is for ("resolve:red", "assign"). Scheduling the same slot again moves it, so a
// reminder id carries no version: the payload says which deadline it was made for.
func TicketReminderID(no, slot string) string { return "t:" + no + ":" + slot }

// DigestPushID is the id of the daily digest of community pushed to on day
// ("2026-11-24"): one a day, however often the job runs.
func DigestPushID(day, community, to string) string {
	return "digest:" + day + ":" + community + ":" + Recipient(to)
}

// Recipient is how a person appears inside an id: a short hash of the openid.
func Recipient(openid string) string {
	sum := sha256.Sum256([]byte(openid))
	return hex.EncodeToString(sum[:6])
}

// Visits.

// VisitPushID is the id of the push telling to about event of visit task no; stamp
// pins it to the change told (the task's version, or the deadline a reminder was
// made for), so a retry tells once and a new change tells again.
func VisitPushID(no, stamp, event, to string) string {
	return "visit:" + no + ":" + stamp + ":" + event + ":" + Recipient(to)
}

// VisitReminderID is the id of one of visit task no's reminders: slot is a deadline
// level ("before", "on_day", "secretary", "district") or "assign".
func VisitReminderID(no, slot string) string { return "visit:" + no + ":" + slot }

// PairingReminderID is the id of a 五包 pairing's next monthly task.
func PairingReminderID(pairing string) string { return "pairing:" + pairing }

// FourOneReminderID is the id of the yearly November 四个一 reminder.
const FourOneReminderID = "fourone:november"

// FourOnePushID is the id of the November reminder of year pushed to.
func FourOnePushID(year int, to string) string {
	return "fourone:" + strconv.Itoa(year) + ":" + Recipient(to)
}

// Volunteers.

// ActivityPushID is the id of the push telling to about event of activity no at
// version (its version after the change told; reminders carry the version they were
// made for, so a moved activity reminds again).
func ActivityPushID(no string, version int, event, to string) string {
	return "a:" + no + ":v" + strconv.Itoa(version) + ":" + event + ":" + Recipient(to)
}

// ActivityReminderID is the id of one of activity no's reminders: slot is "eve",
// "soon" or "missing". Scheduling the same slot again moves it.
func ActivityReminderID(no, slot string) string { return "a:" + no + ":" + slot }

// CheckCodePushID is the id of the QR image pushed to the organiser who asked for
// activity no's code.
func CheckCodePushID(no, code, to string) string {
	return "a:" + no + ":qr:" + code + ":" + Recipient(to)
}

// MonthlyReportPushID is the id of the push of month's figures ("2026-11") to a
// district admin: one a month, however often the row fires.
func MonthlyReportPushID(month, to string) string { return "report:" + month + ":" + Recipient(to) }
