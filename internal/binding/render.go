package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// rendered is a request ready to send.
type rendered struct {
	method string
	url    string
	header http.Header
	body   []byte
}

// renderer renders one call's templates.
type renderer struct {
	m    *compiledMethod
	vals map[string]any
	cred map[string]string
}

// text returns a placeholder's value as text, and whether it has one (an optional parameter
// that was not given has none).
func (r *renderer) text(p part) (string, bool) {
	if p.kind == credRef {
		return r.cred[p.text], true
	}
	v, ok := r.vals[p.text]
	if !ok {
		return "", false
	}
	return textOf(v), true
}

func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	case json.RawMessage:
		return string(t)
	}
	return fmt.Sprint(v)
}

// name describes a placeholder for a message: the parameter's name, or "the credential's KEY".
func name(p part) string {
	if p.kind == credRef {
		return "the credential's " + p.text
	}
	return p.text
}

// render builds the request. auth is the trusted scheme://host[:port] prefix.
func (r *renderer) render(req *compiledRequest, auth authority) (*rendered, error) {
	u, err := r.renderURL(req.url, auth)
	if err != nil {
		return nil, err
	}
	out := &rendered{method: req.method, url: u, header: http.Header{}}
	for _, h := range req.headers {
		if p, whole := h.value.whole(); whole {
			if _, ok := r.text(p); !ok {
				continue // an optional parameter that was not given: no header
			}
		}
		var b strings.Builder
		for _, p := range h.value {
			if p.kind == literal {
				b.WriteString(p.text)
				continue
			}
			v, _ := r.text(p)
			if strings.ContainsFunc(v, isControl) {
				return nil, r.m.errorf("%s goes into the %s header and must not hold line breaks or other control characters", name(p), h.name)
			}
			b.WriteString(v)
		}
		out.header.Set(h.name, b.String())
	}
	switch {
	case req.json != nil:
		var buf bytes.Buffer
		if !r.renderJSON(&buf, req.json) {
			buf.WriteString("null")
		}
		out.body = buf.Bytes()
		if !req.contentType {
			out.header.Set("Content-Type", "application/json")
		}
	case req.hasBody:
		out.body = []byte(r.renderText(req.body))
		if !req.contentType {
			out.header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	return out, nil
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

func (r *renderer) renderText(t tmpl) string {
	var b strings.Builder
	for _, p := range t {
		if p.kind == literal {
			b.WriteString(p.text)
			continue
		}
		v, _ := r.text(p)
		b.WriteString(v)
	}
	return b.String()
}

// authority is the trusted destination of a method: its scheme, host and port, rendered from
// the template and the credential only.
type authority struct {
	scheme string
	host   string // as in the URL: IPv6 in brackets
	port   string // "" when the URL has none
	// portNum is the port, defaulted from the scheme.
	portNum uint16
}

func (a authority) hostport() string {
	if a.port == "" {
		return a.host
	}
	return a.host + ":" + a.port
}

// auditHost is the host for audit events: IPv6 without brackets.
func (a authority) auditHost() string {
	return strings.TrimSuffix(strings.TrimPrefix(a.host, "["), "]")
}

// trustedAuthority renders u's scheme, host and port; errors never include a credential value.
func (u *urlTemplate) trustedAuthority(cred map[string]string, credName string) (authority, error) {
	a := authority{scheme: u.scheme, host: u.host.text, port: u.port.text}
	if u.host.kind == credRef {
		h, err := credentialHost(cred[u.host.text])
		if err != nil {
			return a, fmt.Errorf("the value of %s in credential %s, used as the URL's host, %v; set it with `airlock secret set %s %s=192.168.1.100`", u.host.text, credName, err, credName, u.host.text)
		}
		a.host = h
	}
	if u.port.kind == credRef {
		a.port = cred[u.port.text]
		if _, err := parsePort(a.port); err != nil {
			return a, fmt.Errorf("the value of %s in credential %s, used as the URL's port, is not a number from 1 to 65535; set it with `airlock secret set %s %s=8080`", u.port.text, credName, credName, u.port.text)
		}
	}
	a.portNum = 80
	if u.scheme == "https" {
		a.portNum = 443
	}
	if a.port != "" {
		a.portNum, _ = parsePort(a.port)
	}
	return a, nil
}

// renderURL renders the URL and checks that its scheme, host and port are auth's.
func (r *renderer) renderURL(u *urlTemplate, auth authority) (string, error) {
	var b strings.Builder
	b.WriteString(auth.scheme)
	b.WriteString("://")
	b.WriteString(auth.hostport())
	if u.path != nil {
		for _, seg := range u.path {
			b.WriteByte('/')
			start := b.Len()
			for _, p := range seg {
				if p.kind == literal {
					b.WriteString(p.text)
					continue
				}
				v, _ := r.text(p)
				if p.kind == paramRef && r.m.byName[p.text].Type == TypePath {
					parts := strings.Split(v, "/")
					for i, s := range parts {
						parts[i] = url.PathEscape(s)
					}
					b.WriteString(strings.Join(parts, "/"))
					continue
				}
				b.WriteString(url.PathEscape(v))
			}
			if !seg.literalOnly() {
				switch b.String()[start:] {
				case "", ".", "..":
					var names []string
					for _, p := range seg {
						if p.kind != literal {
							names = append(names, name(p))
						}
					}
					return "", r.m.errorf("%s fills a whole URL path segment and cannot make it %q; pass another value",
						describeList(names, "and"), b.String()[start:])
				}
			}
		}
	}
	first := true
	for _, q := range u.query {
		if p, whole := q.value.whole(); whole {
			if _, ok := r.text(p); !ok {
				continue // an optional parameter that was not given: no key=value
			}
		}
		if first {
			b.WriteByte('?')
			first = false
		} else {
			b.WriteByte('&')
		}
		b.WriteString(q.key)
		if q.eq {
			b.WriteByte('=')
		}
		for _, p := range q.value {
			if p.kind == literal {
				b.WriteString(p.text)
				continue
			}
			v, _ := r.text(p)
			b.WriteString(url.QueryEscape(v))
		}
	}
	s := b.String()
	if err := checkRendered(s, auth); err != nil {
		return "", &CallError{Binding: r.m.binding, Method: r.m.name, Reason: ReasonInvalidArguments,
			Msg: "refusing to send a request whose URL does not go where its template says (" + err.Error() + "); this is a bug in airlock: please report it"}
	}
	return s, nil
}

// checkRendered parses a rendered URL and checks it against the trusted authority: the same
// scheme, host and port, no user info, no fragment, no "." or ".." path segment. It is the
// defence in depth behind the escaping.
func checkRendered(s string, auth authority) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("it does not parse")
	case u.Scheme != auth.scheme:
		return fmt.Errorf("scheme %q", u.Scheme)
	case u.Host != auth.hostport():
		return fmt.Errorf("another host")
	case u.User != nil, u.Opaque != "", u.Fragment != "", u.RawFragment != "":
		return fmt.Errorf("user info, opaque part or fragment")
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if d, err := url.PathUnescape(seg); err != nil || d == "." || d == ".." {
			return fmt.Errorf("a dot segment in the path")
		}
	}
	return nil
}
