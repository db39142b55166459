// Command minyuan-load drives a Minyuan webhook as WeChat would, with many residents
// at once, and measures it; it can run a bare echo on the same WeChat library and
// drive it, and any other webhook (node-echo.js: node-webot's), in the same sitting,
// to print how far the real work is from doing nothing.
//
//	minyuan-load echo -addr 127.0.0.1:8091 -token T -appid A -aes-key K
//	minyuan-load run -url http://127.0.0.1:8080/wechat -vs echo=http://127.0.0.1:8091/ \
//	    -vs node=http://127.0.0.1:8092/ -token T -appid A -aes-key K -mode safe -c 64 -d 10s
//
// Before it measures, every target must refuse a forged signature, and every target
// but Minyuan must echo a good message. The tool-cpu column is the tool's own CPU
// per message, taken from the machine the server under test runs on.
//
// Each resident's messages go one at a time, as from one phone; residents run in
// parallel up to -c. The flows: chat (帮助), status (我的诉求) and whole request forms
// (诉求 → category → description → community → phone → 确认, answering what is asked).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"minyuan/bot/sim"
	mywechat "minyuan/bot/wechat"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: minyuan-load run|echo [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = run(ctx, os.Args[2:])
	case "echo":
		err = echo(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want run or echo", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "minyuan-load:", err)
		os.Exit(1)
	}
}

// echo serves a bare echo on silenceper/wechat's own server: signature check,
// decryption, XML, the reply sealed again. It does no work at all.
func echo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	token := fs.String("token", "", "webhook token")
	appID := fs.String("appid", "wxload", "AppID")
	aesKey := fs.String("aes-key", "", "EncodingAESKey (safe mode)")
	delay := fs.Duration("delay", 0, "wait this long before answering, to drive the echo at a slower server's pace")
	repeat := fs.Int("repeat", 1, "answer with the text repeated this many times, for a reply as long as a real one")
	_ = fs.Parse(args)
	mywechat.Silence()
	oa := officialaccount.NewOfficialAccount(&offConfig.Config{
		AppID: *appID, AppSecret: "unused", Token: *token, EncodingAESKey: *aesKey, Cache: cache.NewMemory(),
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := oa.GetServer(r, w)
		srv.SkipValidate(false)
		srv.SetMessageHandler(func(m *message.MixMessage) *message.Reply {
			time.Sleep(*delay)
			return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(strings.Repeat(m.Content, max(*repeat, 1)))}
		})
		if err := srv.Serve(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = srv.Send()
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "echo listening on %s\n", l.Addr())
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); s.Close() }()
	if err := s.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type options struct {
	url                        string
	vs                         targets
	token, appID, aesKey, mode string
	residents, conc, rounds    int
	dur                        time.Duration
	mix                        map[string]int
	prefix                     string
	cpuProfile                 string
}

// target is one webhook a run drives.
type target struct{ name, url string }

// targets is the repeatable -vs flag: name=url, or a bare URL, named echo.
type targets []target

func (t *targets) String() string {
	var parts []string
	for _, x := range *t {
		parts = append(parts, x.name+"="+x.url)
	}
	return strings.Join(parts, ",")
}

func (t *targets) Set(s string) error {
	name, webhook, ok := strings.Cut(s, "=")
	if !ok || strings.Contains(name, "/") {
		name, webhook = "echo", s
	}
	if name == "" || webhook == "" {
		return fmt.Errorf("want name=url, got %q", s)
	}
	for _, x := range *t {
		if x.name == name {
			return fmt.Errorf("target %q given twice", name)
		}
	}
	if name == "minyuan" {
		return errors.New(`"minyuan" is the -url target`)
	}
	*t = append(*t, target{name, webhook})
	return nil
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o options
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/wechat", "the webhook under test")
	fs.Var(&o.vs, "vs", "another webhook to drive alternately in the same run, as name=url (a bare URL is named echo); repeatable; prints Minyuan's ratio to each")
	fs.StringVar(&o.token, "token", "", "webhook token")
	fs.StringVar(&o.appID, "appid", "wxload", "AppID")
	fs.StringVar(&o.aesKey, "aes-key", "", "EncodingAESKey (safe mode)")
	fs.StringVar(&o.mode, "mode", "plain", "plain or safe")
	fs.IntVar(&o.residents, "residents", 500, "residents (openids)")
	fs.IntVar(&o.conc, "c", 64, "messages in flight at once (connections)")
	fs.DurationVar(&o.dur, "d", 10*time.Second, "duration of each run")
	fs.IntVar(&o.rounds, "rounds", 1, "runs of each target, alternating with -vs")
	mix := fs.String("mix", "chat=60,status=20,form=20", "flows by weight: chat, status, form")
	fs.StringVar(&o.prefix, "openid-prefix", "oLoad"+strconv.FormatInt(time.Now().Unix()%100000, 10)+"_", "openid prefix (fresh per run)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file")
	_ = fs.Parse(args)
	if os.Getenv("GOGC") == "" {
		// The tool keeps little alive; collecting less often leaves more of the
		// shared CPU to the server under test.
		debug.SetGCPercent(400)
	}
	var err error
	if o.mix, err = parseMix(*mix); err != nil {
		return err
	}
	if o.mode != "plain" && o.mode != "safe" {
		return fmt.Errorf("-mode %q: want plain or safe", o.mode)
	}
	all := append(targets{{"minyuan", o.url}}, o.vs...)
	for _, t := range all {
		if err := checkTarget(ctx, o, t); err != nil {
			return err
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("mode %s, %d residents, %d connections, %s per run, mix %s\n", o.mode, o.residents, o.conc, o.dur, *mix)
	fmt.Printf("%-8s %9s %8s %8s %8s %8s %7s %7s %6s %9s\n", "target", "msgs/s", "p50", "p90", "p99", "max", "errors", ">5s", "forms", "tool-cpu")
	sums := make([]float64, len(all))
	for round := range o.rounds {
		for i, t := range all {
			st, err := drive(ctx, o, t.url, fmt.Sprintf("%sr%dt%d_", o.prefix, round, i))
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			sums[i] += st.rate
			fmt.Printf("%-8s %9.0f %8s %8s %8s %8s %7d %7d %6d %7.0fµs\n", t.name, st.rate, ms(st.p50), ms(st.p90), ms(st.p99), ms(st.max),
				st.errors, st.over5s, st.forms, float64(st.toolCPU.Microseconds())/float64(st.sent))
		}
	}
	for i, t := range all[1:] {
		if sums[i+1] > 0 {
			fmt.Printf("ratio minyuan/%s: %.2f×\n", t.name, sums[0]/sums[i+1])
		}
	}
	fmt.Println("tool-cpu: the load tool's own CPU per message (user+system), which it takes from the machine the target runs on")
	return nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}

func parseMix(s string) (map[string]int, error) {
	m := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 || (k != "chat" && k != "status" && k != "form") {
			return nil, fmt.Errorf("-mix: bad part %q", part)
		}
		m[k] = n
	}
	return m, nil
}

type stats struct {
	rate                 float64
	p50, p90, p99, max   time.Duration
	errors, over5s, sent int
	forms                int
	toolCPU              time.Duration // the load tool's own CPU over the run
}

func (o options) client(webhook string, hc *http.Client) *sim.Client {
	mode := sim.ModePlain
	if o.mode == "safe" {
		mode = sim.ModeSafe
	}
	return &sim.Client{WebhookURL: webhook, Token: o.token, AppID: o.appID, EncodingAESKey: o.aesKey, Mode: mode,
		HTTP: hc, ReplyTimeout: 30 * time.Second, Attempts: 1}
}

// drive runs the load for o.dur against one webhook.
func drive(ctx context.Context, o options, target, prefix string) (stats, error) {
	u, err := url.Parse(target)
	if err != nil {
		return stats{}, err
	}
	if u.Scheme != "http" {
		return stats{}, fmt.Errorf("%s: want http://…", target)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	transport := newConnTransport(addr, o.conc)
	defer transport.Close()
	client := o.client(target, &http.Client{Transport: transport})
	ctx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()
	// The run is over at its deadline, which a connection's deadline can meet a
	// moment before ctx's timer fires.
	end, _ := ctx.Deadline()
	over := func() bool { return ctx.Err() != nil || !time.Now().Before(end) }
	var errs, over5s, forms atomic.Int64
	var firstErr sync.Once
	lat := make([][]time.Duration, o.conc)
	flows := weighted(o.mix)
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			// Worker w owns residents w, w+c, w+2c, …: one message at a time each.
			var mine []string
			for r := w; r < o.residents; r += o.conc {
				mine = append(mine, fmt.Sprintf("%s%05d", prefix, r))
			}
			if len(mine) == 0 {
				mine = []string{fmt.Sprintf("%sw%05d", prefix, w)}
			}
			say := func(from, text string) (string, bool) {
				t0 := time.Now()
				reply, err := client.Text(ctx, from, text)
				d := time.Since(t0)
				if over() {
					return "", false // the run ended mid-message: not counted
				}
				lat[w] = append(lat[w], d)
				if d > 5*time.Second {
					over5s.Add(1)
				}
				if err != nil || strings.Contains(reply, "系统繁忙") || strings.Contains(reply, "出了点问题") || strings.Contains(reply, "正在处理") {
					errs.Add(1)
					firstErr.Do(func() { fmt.Fprintf(os.Stderr, "first error: %q %v\n", reply, err) })
					return reply, false
				}
				return reply, true
			}
			for i := 0; !over(); i++ {
				from := mine[i%len(mine)]
				switch flows[rng.IntN(len(flows))] {
				case "chat":
					say(from, "帮助")
				case "status":
					say(from, "我的诉求")
				case "form":
					if form(say, from, i) {
						forms.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	toolCPU := processCPU() - cpu0
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return stats{}, fmt.Errorf("%s: no message answered", target)
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	return stats{rate: float64(len(all)) / elapsed.Seconds(), p50: q(0.50), p90: q(0.90), p99: q(0.99), max: all[len(all)-1],
		errors: int(errs.Load()), over5s: int(over5s.Load()), sent: len(all), forms: int(forms.Load()), toolCPU: toolCPU}, nil
}

// form files a request, answering what the bot asks; false when it went elsewhere
// (an echo, or an unexpected question).
func form(say func(from, text string) (string, bool), from string, n int) bool {
	reply, ok := say(from, "诉求")
	for range 8 {
		if !ok {
			return false
		}
		var answer string
		switch {
		case strings.Contains(reply, "编号"):
			return true
		case strings.Contains(reply, "请核对"):
			answer = "确认"
		case strings.Contains(reply, "类别"):
			answer = "4"
		case strings.Contains(reply, "请描述"), strings.Contains(reply, "描述"):
			answer = fmt.Sprintf("楼道灯坏了，第%d次反映", n)
		case strings.Contains(reply, "手机"), strings.Contains(reply, "电话"):
			answer = "13800138000"
		case strings.Contains(reply, "社区"):
			answer = "1"
		default:
			say(from, "取消")
			return false
		}
		reply, ok = say(from, answer)
	}
	return false
}

func weighted(mix map[string]int) []string {
	var out []string
	for _, k := range []string{"chat", "status", "form"} {
		for range mix[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		out = []string{"chat"}
	}
	return out
}
