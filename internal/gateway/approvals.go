package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
)

// Scopes of grants: a server's, or code mode's fetch.
const scopeCodemode = "codemode"

func scopeServer(name string) string { return "server/" + name }

// Answers to an approval question.
const (
	answerOnce   = "once"
	answerAlways = "always"
	answerDeny   = "deny"
)

// inputKey names the gateway's question in a multi-round-trip input request.
const inputKey = "airlock_approval"

// protocolMRTR is the first MCP version in which a server asks through input requests in a
// tool result instead of sending elicitation/create itself.
const protocolMRTR = "2026-07-28"

// asker is one tool call in flight, through which the user can be asked. With a client of
// protocol 2026-07-28 or later the question leaves as an input request in the call's result
// (the call's work goes on in a job, waiting for the retry that carries the answer); with an
// older client the gateway sends elicitation/create itself.
type asker struct {
	g       *Gateway
	session *mcp.ServerSession
	mrtr    bool
	// questions carries a job's questions to the handler that returns them (mrtr only).
	questions chan *question

	mu      sync.Mutex
	answers map[string]string // host:port -> once/always/deny, within this call
	asked   int               // questions put to the user in this call
}

// maxQuestions bounds the questions one tool call may put to the user: code or a server that
// tries destination after destination must not bury the user in prompts. Later refusals in the
// same call are final.
const maxQuestions = 3

// question is one elicitation put to the user: an approval, or a server's own question.
type question struct {
	params *mcp.ElicitParams
	answer chan *mcp.ElicitResult // buffered
}

// canAsk reports whether the client can be asked: it declared elicitation.
func (a *asker) canAsk() bool {
	if a == nil || a.session == nil {
		return false
	}
	ip := a.session.InitializeParams()
	return ip != nil && ip.Capabilities != nil && ip.Capabilities.Elicitation != nil
}

type askerKey struct{}

func withAsker(ctx context.Context, a *asker) context.Context {
	return context.WithValue(ctx, askerKey{}, a)
}

func askerFrom(ctx context.Context) *asker {
	a, _ := ctx.Value(askerKey{}).(*asker)
	return a
}

// approvals holds the jobs waiting for answers.
type approvals struct {
	g    *Gateway
	mu   sync.Mutex
	jobs map[string]*job
}

func newApprovals(g *Gateway) *approvals { return &approvals{g: g, jobs: map[string]*job{}} }

func (ap *approvals) close() {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	for k, j := range ap.jobs {
		j.cancel()
		delete(ap.jobs, k)
	}
}

// job is a tool call's work running apart from the request that started it, so that it can
// outlive a round trip to the user.
type job struct {
	asker  *asker
	cancel context.CancelFunc
	done   chan jobResult // buffered; read only by the handler waiting for the job
	ended  chan struct{}  // closed when the job has ended
	// pending is the question the client is answering, when it was sent as an input request.
	pending *question
}

type jobResult struct {
	res *mcp.CallToolResult
	err error
}

// withApproval runs work for the tool call req so that egress refusals it causes can be put
// to the user. d is the server the call goes to, or nil (run_code).
func (g *Gateway) withApproval(ctx context.Context, req *mcp.CallToolRequest, d *downstream, work func(context.Context) (*mcp.CallToolResult, error)) (*mcp.CallToolResult, error) {
	ap := g.approvals
	if state := req.Params.RequestState; state != "" {
		ap.mu.Lock()
		j := ap.jobs[state]
		delete(ap.jobs, state)
		ap.mu.Unlock()
		if j == nil {
			return toolError("airlock: the approval this call answers has expired or was already answered; call the tool again"), nil
		}
		if j.pending != nil {
			er, _ := req.Params.InputResponses[inputKey].(*mcp.ElicitResult)
			if er == nil {
				er = &mcp.ElicitResult{Action: "cancel"}
			}
			j.pending.answer <- er
			j.pending = nil
		}
		return ap.wait(ctx, j)
	}

	a := &asker{g: g, session: req.Session, answers: map[string]string{}}
	if a.session != nil {
		if ip := a.session.InitializeParams(); ip != nil && ip.ProtocolVersion >= protocolMRTR {
			a.mrtr = true
			a.questions = make(chan *question)
		}
	}
	if d != nil {
		d.addAsker(a)
	}
	if !a.mrtr {
		defer func() {
			if d != nil {
				d.removeAsker(a)
			}
		}()
		return work(withAsker(ctx, a))
	}
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j := &job{asker: a, cancel: cancel, done: make(chan jobResult, 1), ended: make(chan struct{})}
	go func() {
		defer cancel()
		res, err := work(withAsker(jctx, a))
		if d != nil {
			d.removeAsker(a)
		}
		j.done <- jobResult{res, err}
		close(j.ended)
	}()
	return ap.wait(ctx, j)
}

// wait waits for the job's result, or for a question to send to the client as an input
// request (the client's retry resumes the wait).
func (ap *approvals) wait(ctx context.Context, j *job) (*mcp.CallToolResult, error) {
	select {
	case r := <-j.done:
		return r.res, r.err
	case q := <-j.asker.questions:
		token, err := randomToken()
		if err != nil {
			q.answer <- &mcp.ElicitResult{Action: "cancel"}
			return ap.wait(ctx, j)
		}
		j.pending = q
		ap.mu.Lock()
		ap.jobs[token] = j
		ap.mu.Unlock()
		// A client that never comes back: the question times out (deny) and the job ends;
		// forget it then.
		go func() {
			select {
			case <-j.ended:
			case <-time.After(ap.g.opts.AskTimeout + time.Minute):
			}
			ap.mu.Lock()
			if ap.jobs[token] == j {
				delete(ap.jobs, token)
			}
			ap.mu.Unlock()
		}()
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{inputKey: q.params},
			RequestState:  token,
		}, nil
	case <-ctx.Done():
		j.cancel()
		return nil, ctx.Err()
	}
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// answerFrom reads the user's choice from an elicitation result; anything but an accepted
// "once" or "always" is a denial.
func answerFrom(r mcp.InputResponse) string {
	er, ok := r.(*mcp.ElicitResult)
	if !ok || er == nil || er.Action != "accept" {
		return answerDeny
	}
	switch v, _ := er.Content["decision"].(string); v {
	case answerOnce, answerAlways:
		return v
	}
	return answerDeny
}

// consultFor returns the egress.Guard.Consult of scope. d is the server whose calls in
// flight may be asked when the refused connection's context carries no asker (connections
// from a server's sandbox come through the proxy, not through a call's context).
func (ap *approvals) consultFor(scope string, d *downstream) func(context.Context, egress.ApprovalRequest) bool {
	g := ap.g
	return func(ctx context.Context, req egress.ApprovalRequest) bool {
		if g.opts.Grants != nil && g.opts.Grants.Granted(scope, req.Host, req.Port) {
			g.auditApproval(scope, req, "granted_before")
			return true
		}
		if !g.opts.Ask {
			return false
		}
		a := askerFrom(ctx)
		if a == nil && d != nil {
			a = d.currentAsker()
		}
		if !a.canAsk() {
			return false
		}
		answer := a.ask(ctx, scope, req)
		g.auditApproval(scope, req, "user_"+answer)
		if answer == answerAlways && g.opts.Grants != nil {
			if err := g.opts.Grants.Grant(scope, req.Host, req.Port); err != nil {
				g.log.Error("could not record an 'Allow always'; it holds until the gateway stops", "scope", scope, "error", err.Error())
			}
		}
		return answer != answerDeny
	}
}

func (g *Gateway) auditApproval(scope string, req egress.ApprovalRequest, how string) {
	ev := audit.Event{Time: time.Now(), Event: "runtime_approval", Decision: "deny", Host: req.Host, Port: req.Port,
		Rule: req.Denied.Rule, Reason: how}
	if strings.HasPrefix(how, "user_once") || strings.HasPrefix(how, "user_always") || how == "granted_before" {
		ev.Decision = "allow"
	}
	if scope == scopeCodemode {
		ev.Server = "codemode"
	} else {
		ev.Server = strings.TrimPrefix(scope, "server/")
	}
	if len(req.Addrs) > 0 {
		ev.Addr = req.Addrs[0].String()
	}
	g.opts.Audit.Audit(ev)
}

// ask puts req to the user through this call, once per destination and call: a later
// connection to the same host and port in the same call gets the same answer.
func (a *asker) ask(ctx context.Context, scope string, req egress.ApprovalRequest) string {
	key := net2(req.Host, req.Port)
	a.mu.Lock()
	if ans, ok := a.answers[key]; ok {
		a.mu.Unlock()
		return ans
	}
	if a.asked >= maxQuestions {
		a.mu.Unlock()
		a.g.log.Warn("not asking the user again in this call; the destination stays refused", "host", req.Host, "port", req.Port, "asked", maxQuestions)
		return answerDeny
	}
	a.asked++
	a.mu.Unlock()

	res, err := a.elicit(ctx, approvalQuestion(scope, req))
	if err != nil {
		a.g.log.Warn("asking the user failed; the destination stays refused", "error", err.Error())
		return answerDeny
	}
	ans := answerFrom(res)
	a.mu.Lock()
	a.answers[key] = ans
	a.mu.Unlock()
	return ans
}

// elicit puts params to the user through this call and returns the answer: as an input
// request of the call's result (protocol 2026-07-28 and later), or as an elicitation/create
// request. It gives up after AskTimeout.
func (a *asker) elicit(ctx context.Context, params *mcp.ElicitParams) (*mcp.ElicitResult, error) {
	ctx, cancel := context.WithTimeout(ctx, a.g.opts.AskTimeout)
	defer cancel()
	if !a.mrtr {
		return a.session.Elicit(ctx, params)
	}
	q := &question{params: params, answer: make(chan *mcp.ElicitResult, 1)}
	select {
	case a.questions <- q:
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer: %w", ctx.Err())
	}
	select {
	case res := <-q.answer:
		return res, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer: %w", ctx.Err())
	}
}

func net2(host string, port uint16) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]:" + strconv.Itoa(int(port))
	}
	return host + ":" + strconv.Itoa(int(port))
}

// approvalQuestion is the elicitation shown to the user.
func approvalQuestion(scope string, req egress.ApprovalRequest) *mcp.ElicitParams {
	who := "Code run by run_code"
	if scope != scopeCodemode {
		who = "The MCP server " + strings.TrimPrefix(scope, "server/")
	}
	addrs := make([]string, len(req.Addrs))
	for i, a := range req.Addrs {
		addrs[i] = a.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s wants to connect to %s", who, net2(req.Host, req.Port))
	if len(addrs) > 0 && (len(addrs) > 1 || addrs[0] != req.Host) {
		fmt.Fprintf(&b, " (%s)", strings.Join(addrs, ", "))
	}
	b.WriteString(". airlock refused it: ")
	b.WriteString(refusalText(req))
	b.WriteString(". Allow it?")
	if req.Private {
		b.WriteString(" (It is on your private network: allow only a device you trust this with.)")
	}
	return &mcp.ElicitParams{
		Mode:    "form",
		Message: b.String(),
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"decision": map[string]any{
					"type":  "string",
					"title": "Decision",
					"oneOf": []any{
						map[string]any{"const": answerOnce, "title": "Allow once (for this call)"},
						map[string]any{"const": answerAlways, "title": "Allow always (recorded in the approvals file)"},
						map[string]any{"const": answerDeny, "title": "Deny"},
					},
				},
			},
			"required": []any{"decision"},
		},
	}
}

// refusalText says why the policy refused the destination, in words: the policy's own
// explanation without its advice (the question is the advice).
func refusalText(req egress.ApprovalRequest) string {
	if d, _, _ := strings.Cut(req.Denied.Detail, "; "); d != "" {
		return d
	}
	if req.Private {
		return "it is on a private network"
	}
	return "no allow entry matches it"
}
