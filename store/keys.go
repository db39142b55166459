package store

import "strconv"

// keys builds every Redis key Minyuan uses, so that the whole key space can be read in
// one place and moved under another prefix (two deployments, or tests, sharing one
// Redis). Single node or Sentinel only: no hash tags, but multi-key scripts still
// receive all their keys in KEYS so that they stay correct if that ever changes.
type keys struct{ prefix string }

// inbox holds the outcome of one Update of one sender: the owner's pending claim while
// it works, then the reply JSON so that platform retries get the same answer. The
// sender is part of the key: another sender reusing a MsgId is another Update.
func (k keys) inbox(user, updateID string) string {
	return k.prefix + "inbox:" + user + ":" + updateID
}

// nonce remembers one signed webhook query (timestamp:nonce:signature) and the
// SHA-256 of the body it came with, for the replay window.
func (k keys) nonce(query string) string { return k.prefix + "nonce:" + query }

// replicated is written just before a WAIT, so that the WAIT covers every write
// made before it (Store.Replicated).
func (k keys) replicated() string { return k.prefix + "replicated" }

// lock serialises one user's Updates across processes.
func (k keys) lock(user string) string { return k.prefix + "lock:" + user }

// lockQueue orders a user's waiting Updates by the time the platform says they were
// sent (ties by update ID); lockArrivals scores the same members by arrival, so a
// waiter that died can be purged.
func (k keys) lockQueue(user string) string    { return k.prefix + "lockq:" + user }
func (k keys) lockArrivals(user string) string { return k.prefix + "lockqa:" + user }

// session is the user's conversation state (JSON bot.Session).
func (k keys) session(user string) string { return k.prefix + "session:" + user }

// invite is a hash describing one invite code (upper case).
func (k keys) invite(code string) string { return k.prefix + "invite:" + code }

// grants is a hash "role|community" -> JSON bot.Grant for one user.
func (k keys) grants(openid string) string { return k.prefix + "grants:" + openid }

// grantIndex is the set of openids that hold at least one grant, so grants can be
// listed without SCAN.
func (k keys) grantIndex() string { return k.prefix + "grantees" }

// Role holders (roles.go): an index of grants by role and community, kept in step
// with the grants hashes by the scripts that grant and revoke, so that alerts read
// the few people they tell rather than every grant.

// holders is one hash per role, "community|openid" -> JSON bot.Grant: every holder
// of the role, whatever the community.
func (k keys) holders(role string) string { return k.prefix + "holders:" + role }

// holdersIn is one hash per role and community, openid -> JSON bot.Grant.
func (k keys) holdersIn(role, community string) string {
	return k.prefix + "holders:" + role + "@" + community
}

// holdersBuilt marks that the holders index was built from the grants that existed
// before it (its value is the index version).
func (k keys) holdersBuilt() string { return k.prefix + "holders:built" }

// bindFails counts one user's failed invite redemptions within the window.
func (k keys) bindFails(openid string) string { return k.prefix + "bindfails:" + openid }

// profile is a resident's profile (JSON bot.Profile).
func (k keys) profile(openid string) string { return k.prefix + "profile:" + openid }

// phone maps a phone number to the openid of the resident who gave it, so hotline
// calls reach them in WeChat.
func (k keys) phone(number string) string { return k.prefix + "phone:" + number }

// onDuty is the set of staff openids on duty (值班) in a community.
func (k keys) onDuty(community string) string { return k.prefix + "onduty:" + community }

// Tickets (tickets.go).

// ticketSeq numbers tickets.
func (k keys) ticketSeq() string { return k.prefix + "ticket:seq" }

// ticket is one ticket (JSON bot.Ticket).
func (k keys) ticket(no string) string { return k.prefix + "ticket:" + no }

// ticketEvents is a ticket's timeline, a list of JSON bot.Event, oldest first.
func (k keys) ticketEvents(no string) string { return k.prefix + "ticket:" + no + ":events" }

// ticketKey maps the key that created a ticket (the confirming Update) to its number,
// so a retried confirm finds the ticket instead of making another.
func (k keys) ticketKey(key string) string { return k.prefix + "ticket:key:" + key }

// queue is a community's open tickets, scored by urgency then age.
func (k keys) queue(community string) string { return k.prefix + "queue:" + community }

// residentTickets is one resident's tickets, scored by creation time.
func (k keys) residentTickets(openid string) string {
	return k.prefix + "resident:" + openid + ":tickets"
}

// stats are one community's report counters for one month ("2026-11") or one day
// ("2026-11-30"): every counter moves in both in the same write.
func (k keys) stats(community, period string) string {
	return k.prefix + "stats:" + community + ":" + period
}

// relay is one side of a live relay (对话) between a staff member and a resident:
// JSON with the peer and the ticket, expiring after the relay time-out.
func (k keys) relay(openid string) string { return k.prefix + "relay:" + openid }

// roundRobin counts auto-assignments in a community, to take staff in turn.
func (k keys) roundRobin(community string) string { return k.prefix + "rr:" + community }

// wechat holds whatever the WeChat SDK caches (access token, JS ticket).
func (k keys) wechat(key string) string { return k.prefix + "wechat:" + key }

// Reminder engine (due.go, leader.go). A reminder lives in due while it waits and in
// dueInflight while a claimer runs it, never in both; dueData holds its payload
// throughout, so one hash entry per pending reminder whichever set it is in.

// due is a sorted set of reminder IDs scored by due time (unix ms).
func (k keys) due() string { return k.prefix + "due" }

// dueInflight is a sorted set of claimed reminder IDs scored by the end of the
// claimer's lease (unix ms); a row whose lease ends goes back to due.
func (k keys) dueInflight() string { return k.prefix + "due:inflight" }

// dueData is one hash for all reminders, ID -> "<due unix ms> <JSON bot.Reminder>".
func (k keys) dueData() string { return k.prefix + "due:data" }

// leader is the lease of the replica that runs recurring jobs; it holds that
// replica's random token.
func (k keys) leader(name string) string { return k.prefix + "leader:" + name }

// Outbox (outbox.go). A push waits in its recipient's queue until a worker, holding
// the recipient's turn (an entry of the outbox stream read in the consumer group),
// sends it, gives it up or dead-letters it. While the turn waits in the due set (a
// retry's backoff, quiet hours) the pushes stay queued, in order.

// outbox is the stream of recipients' turns: field "to", one entry per recipient
// whose queue has pushes and is not already waiting for a worker (obFlag).
func (k keys) outbox() string { return k.prefix + "outbox" }

// obQueue is one recipient's pushes in order: JSON {push, attempt, at, hold} items.
func (k keys) obQueue(to string) string { return k.prefix + "outbox:q:" + to }

// obFlag says where a recipient's turn is while they have one, so that a push to
// them adds no second turn: "ready" (in the outbox stream), "parked:<reminder id>"
// or "held:<reminder id>" (in the due set; see the turn states in outbox.go).
func (k keys) obFlag(to string) string { return k.prefix + "outbox:turn:" + to }

// contact is one recipient's customer-service allowance: a hash of last (unix ms of
// their last action), kind (message or event), msg (unix ms of their last message),
// sends (customer-service messages since last).
func (k keys) contact(openid string) string { return k.prefix + "contact:" + openid }

// outboxDead is the dead-letter stream: the same fields plus "reason" and "at".
func (k keys) outboxDead() string { return k.prefix + "outbox:dead" }

// pushState is a push's idempotency key, by push ID: "queued", "sent",
// "undeliverable" or "dead". While it exists, pushing the same ID again does nothing.
func (k keys) pushState(id string) string { return k.prefix + "push:" + id }

// Access token (token.go), one per app ID, shared by every replica.

// accessToken is the current token; its TTL ends before the platform's does.
func (k keys) accessToken(appID string) string { return k.prefix + "token:" + appID }

// accessTokenLock is held (random value, PX) by the one replica fetching a token.
func (k keys) accessTokenLock(appID string) string { return k.prefix + "token:" + appID + ":lock" }

// accessTokenRejected remembers, briefly, the last token the platform refused, so
// that a refresh can tell when the platform hands the same one back.
func (k keys) accessTokenRejected(appID string) string {
	return k.prefix + "token:" + appID + ":rejected"
}

// accessTokenForced rate-limits force_refresh, which the platform allows 20 times a
// day and which cuts off every other holder of the token.
func (k keys) accessTokenForced(appID string) string {
	return k.prefix + "token:" + appID + ":forced"
}

// Volunteers (activities.go). An activity is a hash: "json" (JSON bot.Activity) plus
// the fields the sign-up scripts read without decoding JSON: status, cap, start,
// end (unix ms) and arrivals (the arrival counter that orders both lists).

// activitySeq numbers activities.
func (k keys) activitySeq() string { return k.prefix + "act:seq" }

// activity is one activity (hash, see above).
func (k keys) activity(no string) string { return k.prefix + "act:" + no }

// activityKey maps the key that created activities to the first number, so a retried
// publication finds them instead of making more.
func (k keys) activityKey(key string) string { return k.prefix + "act:key:" + key }

// activityConfirmed and activityWaitlist are an activity's lists: openids scored by
// arrival (the activity's arrivals counter).
func (k keys) activityConfirmed(no string) string { return k.prefix + "act:" + no + ":in" }
func (k keys) activityWaitlist(no string) string  { return k.prefix + "act:" + no + ":wait" }

// activityLate is the people who cancelled late, scored by when (unix ms).
func (k keys) activityLate(no string) string { return k.prefix + "act:" + no + ":late" }

// activityAttendance is openid -> "<in ms> <out ms> <minutes> <by>" (0 when not yet).
func (k keys) activityAttendance(no string) string { return k.prefix + "act:" + no + ":att" }

// activityCode maps a check-in code to its activity, expiring at the activity's end.
func (k keys) activityCode(code string) string { return k.prefix + "act:code:" + code }

// activitiesByStart is every activity number scored by start (unix ms).
func (k keys) activitiesByStart() string { return k.prefix + "acts" }

// activitySpans is one hash for all activities, no -> "<start ms> <end ms>", what the
// sign-up script reads to refuse overlapping sign-ups.
func (k keys) activitySpans() string { return k.prefix + "act:spans" }

// volunteer is a hash: "json" (JSON bot.Volunteer), "min" (minutes in total),
// "y<year>" (minutes in that year), "points" (balance), "earned" (points ever).
func (k keys) volunteer(openid string) string { return k.prefix + "vol:" + openid }

// volunteerSignups is the activities a person is on (either list), scored by start.
func (k keys) volunteerSignups(openid string) string { return k.prefix + "vol:" + openid + ":acts" }

// volunteerLedger is a person's points timeline, JSON bot.LedgerEntry, oldest first.
func (k keys) volunteerLedger(openid string) string { return k.prefix + "vol:" + openid + ":ledger" }

// volunteerSeq numbers volunteers; volunteerNo maps a number to the openid.
func (k keys) volunteerSeq() string         { return k.prefix + "vol:seq" }
func (k keys) volunteerNo(no string) string { return k.prefix + "vol:no:" + no }

// volunteers is the set of every registered volunteer's openid (exports).
func (k keys) volunteers() string { return k.prefix + "vols" }

// Hotline bridge (calls.go, callbacks.go, hotline_api.go). Phone numbers never appear
// in a key: an index is keyed by the number's keyed hash (bot.PhoneHasher).

// call is one call of the caller log (JSON bot.Call), by the phone system's callId.
func (k keys) call(id string) string { return k.prefix + "hl:call:" + id }

// callerCalls is the caller log of one number (by hash): call IDs scored by start.
func (k keys) callerCalls(hash string) string { return k.prefix + "hl:caller:" + hash }

// proved maps a number (by hash) to the openid of the resident who proved it.
func (k keys) proved(hash string) string { return k.prefix + "hl:proved:" + hash }

// proof is a resident's pending claim to a number (JSON bot.Proof), expiring.
func (k keys) proof(openid string) string { return k.prefix + "hl:proof:" + openid }

// proofCodes holds the codes waiting to be read to one number (by hash): openid ->
// code, expiring with the last of them.
func (k keys) proofCodes(hash string) string { return k.prefix + "hl:codes:" + hash }

// callbackSeq numbers call-back tasks.
func (k keys) callbackSeq() string { return k.prefix + "cb:seq" }

// callback is one call-back task (JSON bot.Callback), by number.
func (k keys) callback(no string) string { return k.prefix + "cb:" + no }

// callbackID maps a task's idempotency ID to its number.
func (k keys) callbackID(id string) string { return k.prefix + "cb:id:" + id }

// callbacksOpen is a community's open tasks, numbers scored by creation.
func (k keys) callbacksOpen(community string) string { return k.prefix + "cb:open:" + community }

// callbacksRef is the tasks about one ticket (numbers), for 详情.
func (k keys) callbacksRef(ticket string) string { return k.prefix + "cb:ref:" + ticket }

// apiRevoked is the set of revoked API token hashes.
func (k keys) apiRevoked() string { return k.prefix + "api:revoked" }

// apiRate counts one token's requests in one window (expiring).
func (k keys) apiRate(name string, window int64) string {
	return k.prefix + "api:rate:" + name + ":" + strconv.FormatInt(window, 10)
}

// apiNonce remembers a request nonce for the replay window.
func (k keys) apiNonce(name, nonce string) string {
	return k.prefix + "api:nonce:" + name + ":" + nonce
}

// phoneKey is the random key of the phone hash when the config sets none.
func (k keys) phoneKey() string { return k.prefix + "hl:phonekey" }

// Visits (visits.go): party members' visit tasks (三必访, 五包), pairings, 四个一.

// visitSeq numbers visit tasks.
func (k keys) visitSeq() string { return k.prefix + "visit:seq" }

// visit is one visit task (JSON bot.Visit).
func (k keys) visit(no string) string { return k.prefix + "visit:" + no }

// visitEvents is a task's timeline, a list of JSON bot.VisitEvent, oldest first.
func (k keys) visitEvents(no string) string { return k.prefix + "visit:" + no + ":events" }

// visitByEvent maps the event that made a task to its number: one event, one task.
func (k keys) visitByEvent(event string) string { return k.prefix + "visit:event:" + event }

// branchVisits is a community's tasks, scored by deadline (unix ms).
func (k keys) branchVisits(community string) string { return k.prefix + "visits:branch:" + community }

// memberVisits is the tasks assigned to a party member, scored by deadline.
func (k keys) memberVisits(openid string) string { return k.prefix + "visits:member:" + openid }

// pairingSeq numbers 五包 pairings.
func (k keys) pairingSeq() string { return k.prefix + "pairing:seq" }

// pairing is one 五包 pairing (JSON bot.Pairing).
func (k keys) pairing(id string) string { return k.prefix + "pairing:" + id }

// pairings is the set of a community's pairing IDs.
func (k keys) pairings(community string) string { return k.prefix + "pairings:" + community }

// fourOne is one member's 四个一 entries of a year, entry ID -> JSON bot.FourOneEntry.
func (k keys) fourOne(openid, year string) string {
	return k.prefix + "fourone:" + openid + ":" + year
}

// handoff is a resident's request to talk to a person (转人工), JSON bot.Handoff.
func (k keys) handoff(resident string) string { return k.prefix + "hl:handoff:" + resident }

// handoffOffer is the resident whose 转人工 a staff member was asked to accept.
func (k keys) handoffOffer(staff string) string { return k.prefix + "hl:offer:" + staff }

// Data protection (privacy.go).

// audit is the audit log: a stream of JSON bot.AuditEntry lines (field "e"),
// capped at about auditMax entries.
func (k keys) audit() string { return k.prefix + "audit" }

// secret is a random key Minyuan made for itself when the config gives none
// ("logkey": the log names' key; "linkkey": the attachment links').
func (k keys) secret(name string) string { return k.prefix + "secret:" + name }

// Attachments (attachments.go): what the attachment store keeps, by name (a hash
// of the photo's URL or the voice's media id; never an openid).

// attachment is one kept attachment (JSON attach.Meta).
func (k keys) attachment(name string) string { return k.prefix + "att:" + name }

// attachmentsOf is the set of the attachments one person sent, by bot.Recipient.
func (k keys) attachmentsOf(owner string) string { return k.prefix + "att:owner:" + owner }

// attachmentsKept is every kept attachment scored by when it was kept (unix ms).
func (k keys) attachmentsKept() string { return k.prefix + "att:kept" }

// retired are keys earlier versions wrote that nothing reads any more.
func (k keys) retired() []string {
	return []string{
		k.prefix + "seen", // openid -> last message: each user's contact record says it, and expires
	}
}
