package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Catalogue keys the form engine itself uses.
var (
	msgFormChoice     = Msg("form.choice")      // one numbered choice line
	msgFormBadChoice  = Msg("form.bad_choice")  // the answer is not one of the choices
	msgFormSkipHint   = Msg("form.skip_hint")   // appended to optional prompts
	msgFormFirstField = Msg("form.first_field") // 返回 on the first question
	msgFormConfirmAsk = Msg("form.confirm_ask") // appended to the summary
	msgFormEmpty      = Msg("form.empty")       // an empty or non-text answer
	msgFormPhoto      = Msg("form.photo")       // a photo was added to a Photos field
	msgFormPhotoLimit = Msg("form.photo_limit") // a photo past MaxPhotos was refused
	msgFormWhich      = Msg("form.which")       // the answer fits more than one choice
)

// Words that answer a form's fixed questions.
var (
	wordsSkip    = FlowWords("words.skip")
	wordsConfirm = FlowWords("words.confirm")
	wordsDone    = FlowWords("words.done")
)

// MaxPhotos bounds the photos one Photos field collects: WeChat lets a user send
// nine at a time, and each is kept in the session until the form is submitted.
const MaxPhotos = 9

// Answers are a form's answers so far, by field key.
type Answers map[string]string

// Photos lists the picture URLs a Photos field collected, in the order sent.
func (a Answers) Photos(field string) []string {
	if v := a[photosKey(field)]; v != "" {
		return strings.Split(v, "\n")
	}
	return nil
}

// Choice is one option of a Field: Label is shown (and accepted), Value is stored.
// Aliases are other names people use for it (a community's short name, 物业 for
// the repairs category); they are accepted, not shown.
type Choice struct {
	Value   string   `json:"v"`
	Label   string   `json:"l"`
	Aliases []string `json:"a,omitempty"`
	// Hint follows the label in the list, to help choose; it is not an answer.
	Hint string `json:"h,omitempty"`
}

// Field is one question of a Form.
type Field struct {
	Key    string
	Prompt MsgKey // rendered with the Answers so far, or with PromptData
	// PromptData, when set, is what Prompt is rendered with (a list from the
	// config, say), instead of the answers so far.
	PromptData func(r *Request, a Answers) any
	// Choices, when set, are listed under the prompt, numbered; the answer is a number
	// or a label. The list is made when the question is asked and kept in the
	// session: the answer is matched against what the person saw, even if the list
	// would come out differently by then (a ticket closed, an activity added).
	Choices func(ctx context.Context, r *Request, a Answers) ([]Choice, error)
	// Validate checks and normalises a typed answer. Return a *Error with a Msg to
	// tell the user what is wrong; the question is asked again.
	Validate func(r *Request, in string) (string, error)
	// Optional fields accept 跳过 and store "".
	Optional bool
	// Skip, when it reports true, passes the field by (an answer already known, e.g.
	// a remembered community, is filled in by Skip itself).
	Skip func(ctx context.Context, r *Request, a Answers) (bool, error)
	// Photos fields also take images: each one sent while the field is asked is
	// kept (see Answers.Photos) and the user is asked to go on in words, or to say
	// 完成 when the photos say it all (the typed answer is then "").
	Photos bool
	// FromArgs fields take the text after the word that started the form
	// (「我要反映 楼道灯坏了」): it is checked like a typed answer, and the
	// question is passed by while it holds an answer. A Photos field that is
	// FromArgs also keeps the photo that started the form.
	FromArgs bool
}

// Form is a declared conversation: fields asked in order, then an optional summary
// to confirm, then Submit. 取消, 返回 and time-outs are handled by the engine.
type Form struct {
	ID      string
	Heading MsgKey // what the form is called, for "cancelled" and "dropped" notices
	Fields  []Field
	Confirm MsgKey // the summary; empty: no confirm step
	// View, when set, makes what the summary template sees from the Answers (e.g. a
	// phone masked, a community code as its name); otherwise it sees the Answers.
	View   func(r *Request, a Answers) any
	Submit func(ctx context.Context, r *Request, a Answers) (Reply, error)
}

// Name is the flow name stored in the session.
func (f *Form) Name() string { return f.ID }

// Title names the form to the user.
func (f *Form) Title() MsgKey { return f.Heading }

// Serve starts the form.
func (f *Form) Serve(ctx context.Context, r *Request) (Reply, error) {
	s := r.Start(f.ID)
	s.Step = -1
	note := ""
	if args := strings.TrimSpace(r.Args); args != "" {
		for _, fd := range f.Fields {
			if !fd.FromArgs {
				continue
			}
			v, err := f.check(r, fd, args)
			if err != nil {
				var ue *Error
				if !errors.As(err, &ue) || ue.Msg == "" {
					return Reply{}, err
				}
				note = r.T(ue.Msg, ue.Data)
			} else {
				s.Data[fd.Key] = v
			}
			break
		}
	}
	if r.Update.Kind == KindImage && r.Update.PicURL != "" {
		// A form started by a photo (offered for it) keeps it, like the text.
		for _, fd := range f.Fields {
			if fd.FromArgs && fd.Photos {
				s.Data[photosKey(fd.Key)] = r.Update.PicURL
				break
			}
		}
	}
	return f.advance(ctx, r, note)
}

// check runs a field's Validate, if any, on a typed answer.
func (f *Form) check(r *Request, fd Field, in string) (string, error) {
	if fd.Validate == nil {
		return in, nil
	}
	return fd.Validate(r, in)
}

// Continue takes the answer to the current question.
func (f *Form) Continue(ctx context.Context, r *Request) (Reply, error) {
	s := r.Session
	if s.Step >= len(f.Fields) {
		return f.confirm(ctx, r)
	}
	if s.Step < 0 {
		return f.advance(ctx, r, "")
	}
	fd := f.Fields[s.Step]
	if fd.Photos && r.Update.Kind == KindImage && r.Update.PicURL != "" {
		return f.addPhoto(r, fd)
	}
	in := strings.TrimSpace(r.Update.Text)
	said := Spoken(in) // for matching words and choices; free text is kept as typed
	if fd.Photos && oneOf(said, r.Catalog.Words(wordsDone)) {
		if len(Answers(s.Data).Photos(fd.Key)) > 0 {
			s.Data[fd.Key] = ""
			return f.advance(ctx, r, "")
		}
		in = "" // 完成 with nothing sent is no answer
	}
	if in == "" {
		return f.ask(ctx, r, r.T(msgFormEmpty, nil))
	}
	if fd.Optional && oneOf(said, r.Catalog.Words(wordsSkip)) {
		s.Data[fd.Key] = ""
		return f.advance(ctx, r, "")
	}
	if fd.Choices != nil {
		cs, err := f.shown(ctx, r, fd)
		if err != nil {
			return Reply{}, err
		}
		v, ok := pick(cs, in)
		if !ok {
			v, ok = pick(cs, said)
		}
		if !ok {
			switch some := matching(cs, said); len(some) {
			case 0:
				return f.ask(ctx, r, r.T(msgFormBadChoice, nil))
			case 1:
				v = some[0].Value
			default:
				// Two or more fit: ask which one, among those only.
				return f.askAmong(r, fd, some, r.T(msgFormWhich, map[string]string{"In": said}))
			}
		}
		in = v
	}
	if fd.Validate != nil {
		v, err := fd.Validate(r, in)
		if err != nil {
			var ue *Error
			if errors.As(err, &ue) && ue.Msg != "" {
				return f.ask(ctx, r, r.T(ue.Msg, ue.Data))
			}
			return Reply{}, err
		}
		in = v
	}
	s.Data[fd.Key] = in
	delete(s.Data, choicesKey(fd.Key))
	return f.advance(ctx, r, "")
}

// shown is the list of choices the person was shown with the current question. A
// session saved before lists were kept has none: the list is made afresh.
func (f *Form) shown(ctx context.Context, r *Request, fd Field) ([]Choice, error) {
	if raw, ok := r.Session.Data[choicesKey(fd.Key)]; ok {
		var cs []Choice
		if err := json.Unmarshal([]byte(raw), &cs); err != nil {
			return nil, fmt.Errorf("form %s: choices of %s: %w", f.ID, fd.Key, err)
		}
		return cs, nil
	}
	return fd.Choices(ctx, r, r.Session.Data)
}

// addPhoto keeps the picture of an image Update for a Photos field. The reply is
// short on purpose: people send several photos in a row, and each gets an answer.
func (f *Form) addPhoto(r *Request, fd Field) (Reply, error) {
	s := r.Session
	photos := Answers(s.Data).Photos(fd.Key)
	if len(photos) >= MaxPhotos {
		return r.Say(msgFormPhotoLimit, map[string]any{"Max": MaxPhotos}), nil
	}
	photos = append(photos, r.Update.PicURL)
	s.Data[photosKey(fd.Key)] = strings.Join(photos, "\n")
	return r.Say(msgFormPhoto, map[string]any{"N": len(photos)}), nil
}

// Back returns to the previous question that was asked (not skipped). Its answer
// is asked afresh, photos included.
func (f *Form) Back(ctx context.Context, r *Request) (Reply, error) {
	s := r.Session
	for i := min(s.Step, len(f.Fields)) - 1; i >= 0; i-- {
		if s.Data[skippedKey(f.Fields[i].Key)] == "" {
			s.Step = i
			delete(s.Data, f.Fields[i].Key)
			delete(s.Data, photosKey(f.Fields[i].Key))
			return f.ask(ctx, r, "")
		}
	}
	return f.ask(ctx, r, r.T(msgFormFirstField, nil))
}

// advance moves to the next question that is not skipped, or to the confirm step.
func (f *Form) advance(ctx context.Context, r *Request, note string) (Reply, error) {
	s := r.Session
	for s.Step++; s.Step < len(f.Fields); s.Step++ {
		fd := f.Fields[s.Step]
		delete(s.Data, skippedKey(fd.Key))
		if fd.FromArgs && s.Data[fd.Key] != "" {
			continue // filled in from the words that started the form
		}
		if fd.Skip == nil {
			return f.ask(ctx, r, note)
		}
		skip, err := fd.Skip(ctx, r, s.Data)
		if err != nil {
			return Reply{}, err
		}
		if !skip {
			return f.ask(ctx, r, note)
		}
		s.Data[skippedKey(fd.Key)] = "1"
	}
	if f.Confirm == "" {
		return f.submit(ctx, r)
	}
	return f.ask(ctx, r, note)
}

// ask renders the current question (or the summary), after an optional note.
func (f *Form) ask(ctx context.Context, r *Request, note string) (Reply, error) {
	s := r.Session
	var b strings.Builder
	if note != "" {
		b.WriteString(note)
		b.WriteString("\n")
	}
	if s.Step >= len(f.Fields) {
		var view any = f.answers(s.Data)
		if f.View != nil {
			view = f.View(r, f.answers(s.Data))
		}
		b.WriteString(r.T(f.Confirm, view))
		b.WriteString("\n")
		b.WriteString(r.T(msgFormConfirmAsk, nil))
		return Text(b.String()), nil
	}
	fd := f.Fields[s.Step]
	var data any = f.answers(s.Data)
	if fd.PromptData != nil {
		data = fd.PromptData(r, f.answers(s.Data))
	}
	b.WriteString(r.T(fd.Prompt, data))
	if fd.Choices != nil {
		cs, err := fd.Choices(ctx, r, s.Data)
		if err != nil {
			return Reply{}, err
		}
		if err := f.listChoices(r, fd, cs, &b); err != nil {
			return Reply{}, err
		}
	}
	if fd.Optional {
		b.WriteString("\n")
		b.WriteString(r.T(msgFormSkipHint, nil))
	}
	return Text(b.String()), nil
}

// listChoices numbers cs under a question and keeps them as what the person was
// shown: the answer is read against them.
func (f *Form) listChoices(r *Request, fd Field, cs []Choice, b *strings.Builder) error {
	raw, err := json.Marshal(cs)
	if err != nil {
		return fmt.Errorf("form %s: choices of %s: %w", f.ID, fd.Key, err)
	}
	r.Session.Data[choicesKey(fd.Key)] = string(raw)
	for i, c := range cs {
		b.WriteString("\n")
		b.WriteString(r.T(msgFormChoice, map[string]any{"N": i + 1, "Label": c.Label, "Hint": c.Hint}))
	}
	return nil
}

// askAmong asks the current question again with only some of its choices: those
// an answer fitted. They are numbered afresh, and the answer is read against them.
func (f *Form) askAmong(r *Request, fd Field, some []Choice, question string) (Reply, error) {
	var b strings.Builder
	b.WriteString(question)
	if err := f.listChoices(r, fd, some, &b); err != nil {
		return Reply{}, err
	}
	return Text(b.String()), nil
}

func (f *Form) confirm(ctx context.Context, r *Request) (Reply, error) {
	if !oneOf(Spoken(r.Update.Text), r.Catalog.Words(wordsConfirm)) {
		return f.ask(ctx, r, "")
	}
	return f.submit(ctx, r)
}

func (f *Form) submit(ctx context.Context, r *Request) (Reply, error) {
	rep, err := f.Submit(ctx, r, f.answers(r.Session.Data))
	if err != nil {
		var ue *Error
		if errors.As(err, &ue) && ue.Msg != "" && ue.Code != EInternal && ue.Code != EUnavailable {
			if f.Confirm == "" {
				// No summary to stay on: the form ends with the reason.
				r.End()
				return r.Say(ue.Msg, ue.Data), nil
			}
			// Stay on the confirm step: the user can fix an answer with 返回.
			return f.ask(ctx, r, r.T(ue.Msg, ue.Data))
		}
		return Reply{}, err
	}
	if r.Session != nil && r.Session.Flow == f.ID {
		r.End()
		r.finished = &Finished{Flow: f.ID, Said: Spoken(strings.TrimSpace(r.Update.Text)), Confirm: f.Confirm != ""}
	}
	return rep, nil
}

// answers are the answers so far as templates and Submit see them: every field of
// the form is there (empty when skipped or not yet asked: catalogue templates fail
// on a missing key), the engine's bookkeeping keys are not.
func (f *Form) answers(d map[string]string) Answers {
	out := make(Answers, len(d)+len(f.Fields))
	for _, fd := range f.Fields {
		out[fd.Key] = ""
		if fd.Photos {
			out[photosKey(fd.Key)] = ""
		}
	}
	for k, v := range d {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}

func skippedKey(field string) string { return "_skipped_" + field }

// choicesKey holds the choices shown with a field's question (JSON []Choice), until
// it is answered.
func choicesKey(field string) string { return "_choices_" + field }

// photosKey holds a Photos field's picture URLs, one a line. It is an answer (no
// "_"), so Submit gets it.
func photosKey(field string) string { return field + ".photos" }

func pick(cs []Choice, in string) (string, bool) {
	if n, err := strconv.Atoi(in); err == nil && n >= 1 && n <= len(cs) {
		return cs[n-1].Value, true
	}
	for _, c := range cs {
		if in == c.Label || in == c.Value || slices.Contains(c.Aliases, in) {
			return c.Value, true
		}
	}
	if n, ok := ChoiceNumber(in); ok && n <= len(cs) {
		return cs[n-1].Value, true
	}
	return "", false
}

// matching are the choices an answer that is not one of them exactly still
// names: those whose label or an alias starts with it (「七一路」 for 七一路社区,
// 「困难」 for 困难求助), or, failing that, those named inside it (「我住七一路社区」).
// A number is never read this way: 「10」 is not the start of 「1001 …」.
func matching(cs []Choice, in string) []Choice {
	in = strings.ToLower(strings.TrimSpace(in))
	if in == "" || strings.TrimFunc(in, unicode.IsDigit) == "" {
		return nil
	}
	names := func(c Choice) []string { return append([]string{c.Label}, c.Aliases...) }
	var out []Choice
	for _, c := range cs {
		if slices.ContainsFunc(names(c), func(n string) bool { return strings.HasPrefix(strings.ToLower(n), in) }) {
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, c := range cs {
		if slices.ContainsFunc(names(c), func(n string) bool {
			return utf8.RuneCountInString(n) >= 2 && strings.Contains(in, strings.ToLower(n))
		}) {
			out = append(out, c)
		}
	}
	return out
}

func oneOf(s string, words []string) bool {
	for _, w := range words {
		if s == w {
			return true
		}
	}
	return false
}
