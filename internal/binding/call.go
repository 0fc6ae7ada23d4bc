package binding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
)

// maxAuditName bounds the binding and method names an audit event repeats from a call (the
// sandbox chooses them).
const maxAuditName = 64

// Call calls a binding's method with args (one JSON value per argument) and returns the
// result as JSON. Every error is a *CallError, safe to show to sandboxed code; it begins with
// "binding.method: ". Each call emits one binding_call audit event.
func (m *Manager) Call(ctx context.Context, binding, method string, args []json.RawMessage) (json.RawMessage, error) {
	start := time.Now()
	// Decision is deny until the request goes out (or the Go method runs): a call airlock
	// refuses — unknown name, bad arguments, a binding that cannot be set up, the policy — is a
	// deny; one that reached the device is an allow, whatever the device answered.
	ev := audit.Event{Time: start, Event: "binding_call", Decision: "deny", Binding: clip(binding), Call: clip(method)}
	defer func() {
		if m.opts.Audit != nil {
			ev.DurationMS = time.Since(start).Milliseconds()
			m.opts.Audit.Audit(ev)
		}
	}()
	e, cm, factory, err := m.lookup(binding, method)
	if err != nil {
		ev.Reason = reasonOf(err)
		return nil, err
	}
	inst, err := m.instance(e, factory)
	if err != nil {
		ev.Reason = ReasonUnavailable
		return nil, &CallError{Binding: binding, Method: method, Reason: ReasonUnavailable, Err: err,
			Msg: "the binding cannot be used: " + err.Error()}
	}
	var out json.RawMessage
	if cm.req != nil {
		out, err = m.callHTTP(ctx, inst, cm, args, &ev)
	} else {
		out, err = callGo(ctx, inst, cm, args, &ev)
	}
	if err != nil {
		if ev.Reason == "" {
			ev.Reason = reasonOf(err)
		}
		return nil, err
	}
	return inst.redact.json(out), nil
}

func reasonOf(err error) string {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ReasonRequestFailed
}

func clip(s string) string {
	if len(s) <= maxAuditName {
		return s
	}
	for i := maxAuditName; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// callHTTP makes a declarative method's request.
func (m *Manager) callHTTP(ctx context.Context, inst *instance, cm *compiledMethod, args []json.RawMessage, ev *audit.Event) (json.RawMessage, error) {
	auth := inst.auth[cm.name]
	ev.Method, ev.Host, ev.Port = cm.req.method, auth.auditHost(), auth.portNum
	vals, err := cm.bindArgs(args)
	if err != nil {
		return nil, err
	}
	r := &renderer{m: cm, vals: vals, cred: inst.cred.Data}
	rq, err := r.render(cm.req, auth)
	if err != nil {
		return nil, redactErr(inst, err)
	}
	ev.Decision = "allow" // from here on the request goes out; only the guard may still refuse it
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	fail := func(reason, msg string, cause error) error {
		ev.Reason = reason
		return &CallError{Binding: cm.binding, Method: cm.name, Reason: reason, Msg: inst.redact.text(msg), Err: cause}
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, rq.url, body)
	if err != nil {
		return nil, fail(ReasonRequestFailed, "cannot build the request: "+stripURL(err).Error(), err)
	}
	req.Header = rq.header
	ev.BytesUp = int64(len(rq.body))
	resp, err := inst.client.Do(req)
	if err != nil {
		var blocked *egress.BlockedError
		if errors.As(err, &blocked) {
			ev.Rule, ev.Decision = blocked.Decision.Rule, "deny"
			return nil, fail(ReasonBlocked, blocked.Error(), err)
		}
		what := fmt.Sprintf("%s %s failed: %v", rq.method, auth.hostport(), stripURL(err))
		if errors.Is(err, egress.ErrRequestTooLarge) {
			what += "; raise network.max_request_size"
		}
		return nil, fail(ReasonRequestFailed, what, err)
	}
	defer resp.Body.Close()
	ev.Status = resp.StatusCode
	data, err := io.ReadAll(resp.Body)
	ev.BytesDown = int64(len(data))
	if err != nil {
		if errors.Is(err, egress.ErrResponseTooLarge) {
			limit := inst.guard.Policy().Limits().MaxResponseSize
			return nil, fail(ReasonResponseTooLarge, fmt.Sprintf("the %s's answer is larger than the binding's max_response_size (%d bytes); raise network.max_response_size if that is expected", cm.peer, limit), err)
		}
		return nil, fail(ReasonRequestFailed, fmt.Sprintf("reading the answer of %s: %v", auth.hostport(), stripURL(err)), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		status := resp.Status
		if status == "" {
			status = strconv.Itoa(resp.StatusCode)
		}
		msg := fmt.Sprintf("the %s answered %s", cm.peer, status)
		if s := snippet(data, 200); s != "" {
			msg += ": " + s
		}
		return nil, fail(ReasonHTTPStatus, msg, nil)
	}
	return responseJSON(data), nil
}

// stripURL drops the *url.Error wrapper of an http.Client error: its URL may hold a
// credential (a Hue API key in the path).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func redactErr(inst *instance, err error) error {
	var ce *CallError
	if errors.As(err, &ce) {
		c := *ce
		c.Msg = inst.redact.text(c.Msg)
		return &c
	}
	return err
}

// responseJSON is the result of a call: the body when it is JSON, else the body as a JSON
// string; null for an empty body.
func responseJSON(data []byte) json.RawMessage {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(trimmed) {
		var buf bytes.Buffer
		if json.Compact(&buf, trimmed) == nil {
			return buf.Bytes()
		}
	}
	raw, _ := json.Marshal(strings.ToValidUTF8(string(data), "\uFFFD"))
	return raw
}

// snippet is the start of a body for an error message: at most n bytes, cut at a character
// boundary, control characters as spaces.
func snippet(data []byte, n int) string {
	if len(data) > n {
		data = data[:n]
		for len(data) > 0 && !utf8.Valid(data) {
			data = data[:len(data)-1]
		}
	}
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, string(data))
	return strings.TrimSpace(s)
}

// callGo calls a Go method.
func callGo(ctx context.Context, inst *instance, cm *compiledMethod, args []json.RawMessage, ev *audit.Event) (json.RawMessage, error) {
	if len(cm.params) > 0 {
		if _, err := cm.bindArgs(args); err != nil {
			return nil, err
		}
	}
	ev.Decision = "allow"
	res, err := callFunc(ctx, inst.methods[cm.name], args)
	if err != nil {
		reason := ReasonGoError
		var blocked *egress.BlockedError
		if errors.As(err, &blocked) {
			reason = ReasonBlocked
			ev.Rule, ev.Decision = blocked.Decision.Rule, "deny"
		}
		ev.Reason = reason
		return nil, &CallError{Binding: cm.binding, Method: cm.name, Reason: reason, Msg: inst.redact.text(err.Error()), Err: err}
	}
	raw, err := json.Marshal(res)
	if err != nil {
		ev.Reason = ReasonGoError
		return nil, &CallError{Binding: cm.binding, Method: cm.name, Reason: ReasonGoError,
			Msg: inst.redact.text("the method returned a value that cannot be encoded as JSON: " + err.Error()), Err: err}
	}
	return raw, nil
}

func callFunc(ctx context.Context, f Func, args []json.RawMessage) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the method panicked: %v", r)
		}
	}()
	return f(ctx, args)
}
