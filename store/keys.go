package store

// keys builds every Redis key Minyuan uses, so that the whole key space can be read in
// one place and moved under another prefix (two deployments, or tests, sharing one
// Redis). Single node or Sentinel only: no hash tags, but multi-key scripts still
// receive all their keys in KEYS so that they stay correct if that ever changes.
type keys struct{ prefix string }

// inbox holds the outcome of one Update: a pending marker while the owner works,
// then the reply JSON so that platform retries get the same answer.
func (k keys) inbox(updateID string) string { return k.prefix + "inbox:" + updateID }

// lock serialises one user's Updates across processes.
func (k keys) lock(user string) string { return k.prefix + "lock:" + user }

// session is the user's conversation state (JSON bot.Session).
func (k keys) session(user string) string { return k.prefix + "session:" + user }

// seen is one hash for all users, openid -> unix ms of their last inbound message,
// which decides whether the 48-hour customer-service window is open.
func (k keys) seen() string { return k.prefix + "seen" }

// invite is a hash describing one invite code (upper case).
func (k keys) invite(code string) string { return k.prefix + "invite:" + code }

// grants is a hash "role|community" -> JSON bot.Grant for one user.
func (k keys) grants(openid string) string { return k.prefix + "grants:" + openid }

// grantIndex is the set of openids that hold at least one grant, so grants can be
// listed without SCAN.
func (k keys) grantIndex() string { return k.prefix + "grantees" }

// bindFails counts one user's failed invite redemptions within the window.
func (k keys) bindFails(openid string) string { return k.prefix + "bindfails:" + openid }

// wechat holds whatever the WeChat SDK caches (access token, JS ticket).
func (k keys) wechat(key string) string { return k.prefix + "wechat:" + key }
