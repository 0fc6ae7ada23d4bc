package codemode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
)

// fetch executes a fetch() call for the worker through SafeFetch (egress.NewClient), under the
// run's context, and emits one audit event. It returns the reply's value, or the error that
// rejects the script's promise.
func (r *Runner) fetch(ctx context.Context, req *fetchRequest) (json.RawMessage, *errorMsg) {
	start := time.Now()
	ev := audit.Event{Event: "fetch", Decision: "deny", Method: req.Method, BytesUp: int64(len(req.Body))}
	if g := r.opts.Guard; g != nil {
		ev.Server, ev.Binding = g.Server, g.Binding
	}
	emit := func() {
		if r.opts.Audit != nil {
			ev.Time = time.Now()
			ev.DurationMS = time.Since(start).Milliseconds()
			r.opts.Audit.Audit(ev)
		}
	}
	defer emit()

	u, err := url.Parse(req.URL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		ev.Reason, ev.Method = string(policy.ReasonInvalidTarget), clip(req.Method, 16)
		return nil, &errorMsg{Name: "TypeError", Message: "fetch: invalid URL " + strconv.Quote(clip(req.URL, 200))}
	}
	ev.Host, ev.Port = u.Hostname(), urlPort(u)
	if !httpguts.ValidHeaderFieldName(req.Method) || len(req.Method) > 32 {
		ev.Reason, ev.Method = "invalid_method", clip(req.Method, 16)
		return nil, &errorMsg{Name: "TypeError", Message: "fetch: invalid method " + strconv.Quote(clip(req.Method, 40))}
	}
	if r.client == nil {
		ev.Reason = "no_policy"
		return nil, &errorMsg{Name: "Error", Message: "Network request blocked: fetch is disabled (" + u.Hostname() +
			") — code mode was started without a network policy; give it one to let fetch reach the network"}
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		ev.Reason = string(policy.ReasonInvalidTarget)
		return nil, &errorMsg{Name: "TypeError", Message: "fetch: " + err.Error()}
	}
	if len(req.Body) == 0 {
		hreq.Body, hreq.ContentLength = http.NoBody, 0
	}
	for _, h := range req.Headers {
		if !httpguts.ValidHeaderFieldName(h[0]) || !httpguts.ValidHeaderFieldValue(h[1]) {
			ev.Reason = "invalid_header"
			return nil, &errorMsg{Name: "TypeError", Message: "fetch: invalid header " + strconv.Quote(clip(h[0], 100))}
		}
		hreq.Header.Add(h[0], h[1])
	}
	resp, err := r.client.Do(hreq)
	if err != nil {
		var blocked *egress.BlockedError
		if errors.As(err, &blocked) {
			ev.Reason, ev.Rule = string(blocked.Decision.Reason), blocked.Decision.Rule
			if blocked.Decision.Addr.IsValid() {
				ev.Addr = blocked.Decision.Addr.String()
			}
			return nil, &errorMsg{Name: "Error", Message: blockedMessage(blocked)}
		}
		ev.Decision, ev.Reason = "allow", "request_failed"
		return nil, &errorMsg{Name: "TypeError", Message: "fetch failed: " + requestError(err)}
	}
	defer resp.Body.Close()
	ev.Decision, ev.Status = "allow", resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBody+1))
	ev.BytesDown = int64(len(body))
	switch {
	case errors.Is(err, egress.ErrResponseTooLarge):
		ev.Reason = "response_too_large"
		return nil, &errorMsg{Name: "TypeError", Message: "fetch failed: the response body is larger than the policy's max_response_size"}
	case err != nil:
		ev.Reason = "request_failed"
		return nil, &errorMsg{Name: "TypeError", Message: "fetch failed: reading the response body: " + requestError(err)}
	case len(body) > maxFetchBody:
		ev.Reason = "response_too_large"
		return nil, &errorMsg{Name: "TypeError", Message: fmt.Sprintf("fetch failed: the response body is larger than code mode's %d MiB", maxFetchBody>>20)}
	}
	out := fetchResponse{
		Status:     resp.StatusCode,
		StatusText: statusText(resp),
		URL:        resp.Request.URL.String(),
		Redirected: resp.Request.URL.String() != u.String(),
		Headers:    headerPairs(resp.Header),
		Body:       body,
	}
	v, err := json.Marshal(out)
	if err != nil {
		return nil, &errorMsg{Name: "TypeError", Message: "fetch failed: " + err.Error()}
	}
	return v, nil
}

// urlPort is the URL's port, defaulted from its scheme.
func urlPort(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// statusText is the response's reason phrase ("OK"); HTTP/2 has none, so the standard one.
func statusText(resp *http.Response) string {
	if _, text, ok := strings.Cut(resp.Status, " "); ok && text != "" {
		return text
	}
	return http.StatusText(resp.StatusCode)
}

// headerPairs lists the response headers as fetch shows them: lower-case names, sorted, one
// pair per value.
func headerPairs(h http.Header) [][2]string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var out [][2]string
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, [2]string{strings.ToLower(k), v})
		}
	}
	return out
}

// requestError is err without net/http's `Get "URL": ` wrapping.
func requestError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// blockedWords are the seed's words for why a request was blocked, by policy.Reason.
var blockedWords = map[policy.Reason]string{
	policy.Reason(netguard.Private.String()):        "Private IP access is not allowed",
	policy.Reason(netguard.Loopback.String()):       "Localhost access is not allowed",
	policy.Reason(netguard.Metadata.String()):       "Cloud metadata access is not allowed",
	policy.Reason(netguard.LinkLocal.String()):      "Link-local address access is not allowed",
	policy.Reason(netguard.SharedCGNAT.String()):    "Shared (CGNAT) address access is not allowed",
	policy.Reason(netguard.Unspecified.String()):    "Unspecified address access is not allowed",
	policy.Reason(netguard.Multicast.String()):      "Multicast address access is not allowed",
	policy.Reason(netguard.Broadcast.String()):      "Broadcast address access is not allowed",
	policy.Reason(netguard.Documentation.String()):  "Documentation address access is not allowed",
	policy.Reason(netguard.Benchmarking.String()):   "Benchmarking address access is not allowed",
	policy.Reason(netguard.Reserved.String()):       "Reserved address access is not allowed",
	policy.Reason(netguard.SpecialPurpose.String()): "Special-purpose address access is not allowed",
	policy.Reason(netguard.OwnAddress.String()):     "Access to this machine's own addresses is not allowed",
	policy.Reason(netguard.SpecialName.String()):    "Special-use domain names are not allowed",
	policy.ReasonNoMatchingAllow:                    "Domain not in allowed list",
	policy.ReasonDeniedByEntry:                      "Domain is on the deny list",
	policy.ReasonUnresolvable:                       "Domain could not be resolved",
	policy.ReasonUnsupportedScheme:                  "Only http and https URLs are allowed",
	policy.ReasonInvalidTarget:                      "Invalid destination",
	policy.ReasonInvalidPort:                        "Invalid port",
}

// blockedMessage is the message of the Error a refused fetch rejects with: the seed's words,
// the address (for an address rule) or host, then airlock's own explanation:
//
//	Network request blocked: Private IP access is not allowed (192.168.1.100) — blocked 192.168.1.100:3000 (private, rule: address:private): ...
func blockedMessage(b *egress.BlockedError) string {
	d := b.Decision
	words, ok := blockedWords[d.Reason]
	if !ok {
		words = "Request not allowed (" + string(d.Reason) + ")"
	}
	target := b.Host
	if _, addrRule := netguard.ParseReason(string(d.Reason)); addrRule && d.Addr.IsValid() {
		target = d.Addr.String()
	}
	if target == "" {
		target = "unknown host"
	}
	dest := b.Host
	if b.Port != 0 {
		dest = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	return "Network request blocked: " + words + " (" + target + ") — " + d.Message(dest)
}

// clip cuts s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return truncateUTF8(s, n) + "…"
}
