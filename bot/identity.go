package bot

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// The identity bridge: a caller's number is linked to a resident only when the
// resident proves they answer that phone. Typing a number in chat proves nothing, so
// Minyuan has a 6-digit code read to the caller by voice (the desk phones them, or
// the call-centre software reads it when they next call) and the resident types it
// in chat. Tries are bounded, the code expires, and the index is a keyed hash.

// Proof is a resident's pending claim to a number.
type Proof struct {
	OpenID   string    `json:"openid"`
	Hash     string    `json:"hash"`  // the number's keyed hash
	Phone    string    `json:"phone"` // the number, for the call-back task
	Code     string    `json:"code"`
	Tries    int       `json:"tries"` // wrong codes typed so far
	Expires  time.Time `json:"expires"`
	Callback string    `json:"callback,omitempty"` // the 回电 task that reads the code
}

// ProofStore keeps pending proofs and the proved index.
type ProofStore interface {
	// SaveProof stores p until it expires, with the code findable by number.
	SaveProof(ctx context.Context, p Proof) error
	Proof(ctx context.Context, openid string) (Proof, bool, error)
	// FailProof counts a wrong code and returns the tries so far.
	FailProof(ctx context.Context, openid string) (int, error)
	// PendingProofs lists the claims waiting for their code to be read to a number
	// (by its hash).
	PendingProofs(ctx context.Context, hash string) ([]Proof, error)
	// Prove links the number to openid (moving it from anyone who had it), links
	// the tickets filed from its calls to the resident, and drops the proof, in one
	// step. It returns the tickets newly linked.
	Prove(ctx context.Context, p Proof, at time.Time) ([]string, error)
}

// Proof limits.
const (
	ProofTries = 5
	ProofTTL   = 24 * time.Hour
)

// The refusals of the identity rules are told apart by code (the chat flow words
// them): EInvalid with field "phone" (not a number), EConflict (already linked),
// ENotFound (no claim pending), EExpired, EInvalid with ProofLeft (a wrong code),
// ERateLimited (too many wrong codes).

// ProofLeft is how many tries a wrong code leaves, from its error.
func ProofLeft(err error) (int, bool) {
	if e, ok := err.(*Error); ok {
		if m, ok := e.Data.(map[string]int); ok {
			n, ok := m["Left"]
			return n, ok
		}
	}
	return 0, false
}

// LinkState is what Minyuan knows of a number a resident gave.
type LinkState struct {
	Calls   int  // calls from it in the log
	Linked  bool // this resident proved it already
	Pending bool // this resident waits for its code
}

// PhoneState says whether a number a resident typed has calls to link.
func (s *HotlineService) PhoneState(ctx context.Context, openid, phone string) (LinkState, error) {
	n, ok := NormalizePhone(phone)
	if !ok || n == "" {
		return LinkState{}, nil
	}
	hash := s.Hasher.Hash(n)
	calls, err := s.Calls.CallsOf(ctx, hash, callerLogSize)
	if err != nil {
		return LinkState{}, err
	}
	st := LinkState{Calls: len(calls)}
	by, ok, err := s.Calls.ProvedBy(ctx, hash)
	if err != nil {
		return st, err
	}
	st.Linked = ok && by == openid
	if p, ok, err := s.Proofs.Proof(ctx, openid); err != nil {
		return st, err
	} else if ok && p.Hash == hash {
		st.Pending = true
	}
	return st, nil
}

func sixDigits() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// StartProof makes a code for the resident's claim to phone and a call-back task
// that reads it to that phone. A claim already pending for the same number keeps
// its code (asking twice does not make the desk call twice).
func (s *HotlineService) StartProof(ctx context.Context, actor Actor, at time.Time, phone string) (Proof, error) {
	n, ok := NormalizePhone(phone)
	if !ok || n == "" {
		return Proof{}, invalid("phone", "not a phone number")
	}
	hash := s.Hasher.Hash(n)
	if by, ok, err := s.Calls.ProvedBy(ctx, hash); err != nil {
		return Proof{}, err
	} else if ok && by == actor.ID {
		return Proof{}, Errorf(EConflict, "identity: number already linked to this resident")
	}
	if p, ok, err := s.Proofs.Proof(ctx, actor.ID); err != nil {
		return Proof{}, err
	} else if ok && p.Hash == hash && at.Before(p.Expires) && p.Tries < ProofTries {
		return p, nil
	}
	code, err := sixDigits()
	if err != nil {
		return Proof{}, err
	}
	p := Proof{OpenID: actor.ID, Hash: hash, Phone: n, Code: code, Expires: at.Add(ProofTTL)}
	community := s.defaultCommunity()
	if s.Profiles != nil {
		if pr, err := s.Profiles.Profile(ctx, actor.ID); err == nil && pr.Community != "" {
			community = pr.Community
		}
	}
	if s.Callbacks != nil {
		cb, _, err := s.Callbacks.Create(ctx, at, Callback{
			ID: "code:" + actor.ID + ":" + hash + ":" + at.UTC().Format("20060102150405"), Phone: n, Community: community,
			Reason: CallbackVoiceCode, Code: code,
		})
		if err != nil {
			return Proof{}, err
		}
		p.Callback = cb.No
	}
	if err := s.Proofs.SaveProof(ctx, p); err != nil {
		return Proof{}, err
	}
	return p, nil
}

// ConfirmProof checks a code the resident typed. Right: the number is theirs, and
// the tickets of its calls are linked to them (returned). Wrong: the try is counted;
// past ProofTries, or after the code expired, they must ask for a new one.
func (s *HotlineService) ConfirmProof(ctx context.Context, actor Actor, at time.Time, code string) ([]string, error) {
	p, ok, err := s.Proofs.Proof(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		return nil, Errorf(ENotFound, "identity: no claim pending")
	case !at.Before(p.Expires):
		return nil, Errorf(EExpired, "identity: code expired")
	case p.Tries >= ProofTries:
		return nil, Errorf(ERateLimited, "identity: too many wrong codes")
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(p.Code)) != 1 {
		tries, err := s.Proofs.FailProof(ctx, actor.ID)
		if err != nil {
			return nil, err
		}
		if tries >= ProofTries {
			return nil, Errorf(ERateLimited, "identity: too many wrong codes")
		}
		return nil, &Error{Code: EInvalid, Data: map[string]int{"Left": ProofTries - tries}, Err: errors.New("identity: wrong code")}
	}
	linked, err := s.Proofs.Prove(ctx, p, at)
	if err != nil {
		return nil, err
	}
	if p.Callback != "" && s.Callbacks != nil {
		// The code reached them: the desk need not call any more.
		if err := s.Callbacks.Close(ctx, at, p.Callback, CallbackReached); err != nil && ErrorCode(err) != ENotFound {
			return linked, err
		}
	}
	return linked, nil
}

// pendingCode is the code to read to a number now: that of the latest claim still
// usable (a caller who asked twice hears the newer code).
func (s *HotlineService) pendingCode(ctx context.Context, hash string, at time.Time) (string, error) {
	ps, err := s.Proofs.PendingProofs(ctx, hash)
	if err != nil {
		return "", err
	}
	var best Proof
	for _, p := range ps {
		if p.Tries < ProofTries && at.Before(p.Expires) && p.Expires.After(best.Expires) {
			best = p
		}
	}
	return best.Code, nil
}
