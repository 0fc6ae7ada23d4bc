package binding

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// compiledRequest is a checked Request, ready to render.
type compiledRequest struct {
	method      string
	url         *urlTemplate
	headers     []headerTmpl // sorted by name
	json        *jnode       // nil: no JSON body
	body        tmpl
	hasBody     bool
	contentType bool // a header sets Content-Type
}

type headerTmpl struct {
	name  string // canonical
	value tmpl
}

// forbiddenHeaders are headers a binding may not set: the transport owns them.
var forbiddenHeaders = []string{
	"Connection", "Content-Length", "Host", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// site is where a placeholder is, which decides which parameter types it may hold.
type site uint8

const (
	siteHost site = iota
	sitePort
	sitePath
	siteQuery
	siteHeader
	siteJSONWhole
	siteJSONText
	siteBodyWhole
	siteBodyText
)

var siteNames = [...]string{"the host", "the port", "the URL path", "a query value", "a header", "the JSON body", "a JSON string", "the body", "the body's text"}

// checker checks the placeholders of one method's templates.
type checker struct {
	ps      *problems
	method  string
	params  map[string]*cparam
	order   []string // parameter names in declaration order, for messages
	hasCred bool
	used    map[string]bool // parameters used
	broken  map[string]bool // parameters declared with problems (reported already)
	cred    map[string]bool // credential keys used
	addr    map[string]bool // credential keys used as a host or port
}

// ref checks one placeholder at path.
func (c *checker) ref(p part, s site, path string, whole bool) {
	if p.kind == credRef {
		if !c.hasCred {
			c.ps.add(path, "%s needs a credential, and the binding has none; add credential: NAME to the binding (the credential store's name; set the value with `airlock secret set NAME %s=VALUE`)", p, p.text)
			return
		}
		c.cred[p.text] = true
		if s == siteHost || s == sitePort {
			c.addr[p.text] = true
		}
		return
	}
	prm, ok := c.params[p.text]
	if !ok && c.broken[p.text] {
		return
	}
	if !ok {
		known := "the method has no parameters; declare it under params"
		if len(c.order) > 0 {
			known = "the parameters are " + strings.Join(c.order, ", ") + "; declare it under params or fix the name"
		}
		c.ps.add(path, "%s is not a parameter of %s; %s", p, c.method, known)
		return
	}
	c.used[p.text] = true
	allowed := func(types ...string) bool { return slices.Contains(types, prm.Type) }
	scalar := []string{TypeString, TypeNumber, TypeInteger, TypeBoolean}
	ok = true
	switch s {
	case siteHost, sitePort:
		ok = false // parseURLTemplate refuses these first
	case sitePath:
		ok = allowed(append(scalar, TypePath)...)
		if ok && prm.Type == TypePath && !whole {
			c.ps.add(path, "%s is a path and must fill whole segments: write /%s/ with nothing else between the slashes", p.text, p)
			return
		}
		if ok && !prm.require && prm.def == nil {
			c.ps.add(path, "%s is optional without a default, and the URL path cannot leave it out; make it required, or give it a default", p.text)
			return
		}
	case siteQuery, siteHeader, siteJSONText:
		ok = allowed(scalar...)
	case siteJSONWhole:
		ok = prm.Type != TypePath
	case siteBodyWhole:
		ok = allowed(scalar...)
	case siteBodyText:
		ok = allowed(TypeNumber, TypeInteger, TypeBoolean) ||
			prm.Type == TypeString && (len(prm.enum) > 0 || prm.re != nil)
		if !ok && prm.Type == TypeString {
			c.ps.add(path, "%s is a free-form string inside a raw body, where nothing escapes it; add an enum or a pattern to %s, make it the whole body, or use json: instead of body:", p, p.text)
			return
		}
	}
	if !ok {
		c.ps.add(path, "%s is %s %s parameter, which cannot go in %s; %s", p.text, article(prm.Type), prm.Type, siteNames[s], fixFor(prm.Type))
	}
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func fixFor(typ string) string {
	switch typ {
	case TypeObject, TypeArray:
		return `an object or list goes only in the JSON body, as a whole value (json: {state: "{{state}}"})`
	case TypePath:
		return "a path fills whole segments of the URL path (/files/{{path}}); use type string elsewhere"
	}
	return "use it in the URL path, a query value, a header or the body"
}

// compileRequest checks r (at path) and returns it compiled.
func (c *checker) compileRequest(r *Request, path string) *compiledRequest {
	bad := len(c.ps.list)
	cr := &compiledRequest{method: r.Method}
	if !slices.Contains(HTTPMethods, r.Method) {
		what := "missing"
		if r.Method != "" {
			what = fmt.Sprintf("%q is not supported", r.Method)
		}
		if up := strings.ToUpper(r.Method); up != r.Method && slices.Contains(HTTPMethods, up) {
			what = fmt.Sprintf("%q must be written in capitals: %s", r.Method, up)
		}
		c.ps.add(join(path, "method"), "%s; write one of %s", what, describeList(HTTPMethods, "or"))
	}
	upath := join(path, "url")
	if r.URL == "" {
		c.ps.add(upath, "missing; write the URL the method calls (http://{{credential.tvIP}}:3000/command)")
	} else if u, err := parseURLTemplate(r.URL); err != nil {
		c.ps.add(upath, "%q: %v", r.URL, err)
	} else {
		cr.url = u
		u.refs(func(p part, where string, seg tmpl) {
			switch where {
			case "host":
				c.ref(p, siteHost, upath, true)
			case "port":
				c.ref(p, sitePort, upath, true)
			case "path":
				c.ref(p, sitePath, upath, len(seg) == 1)
			case "query":
				c.ref(p, siteQuery, upath, len(seg) == 1)
			}
		})
	}
	names := slices.Sorted(maps.Keys(r.Headers))
	seen := map[string]string{}
	for _, name := range names {
		hpath := join(join(path, "headers"), name)
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			c.ps.add(hpath, "%q is not a valid header name; use letters, digits and '-'", name)
			continue
		case slices.Contains(forbiddenHeaders, canon):
			c.ps.add(hpath, "%s is set by airlock's HTTP client, never by a binding; remove it", canon)
			continue
		case seen[canon] != "":
			c.ps.add(hpath, "the header %s is set twice (also as %q); keep one", canon, seen[canon])
			continue
		}
		seen[canon] = name
		t, err := parseTemplate(r.Headers[name])
		if err != nil {
			c.ps.add(hpath, "%v", err)
			continue
		}
		if !httpguts.ValidHeaderFieldValue(t.literalText()) {
			c.ps.add(hpath, "the value holds characters a header cannot (line breaks, control characters); remove them")
			continue
		}
		for _, p := range t {
			if p.kind != literal {
				c.ref(p, siteHeader, hpath, len(t) == 1)
			}
		}
		cr.headers = append(cr.headers, headerTmpl{name: canon, value: t})
		if canon == "Content-Type" {
			cr.contentType = true
		}
	}
	slices.SortFunc(cr.headers, func(a, b headerTmpl) int { return strings.Compare(a.name, b.name) })
	if r.JSON != nil && r.Body != "" {
		c.ps.add(join(path, "body"), "a request has json or body, not both; keep one")
	}
	if r.Method == "GET" && (r.JSON != nil || r.Body != "") {
		what := "json"
		if r.JSON == nil {
			what = "body"
		}
		c.ps.add(join(path, what), "a GET request has no body; use POST (or PUT, PATCH), or move the values into the URL")
	}
	if r.JSON != nil {
		cr.json = c.compileJSON(r.JSON, join(path, "json"), 0)
	}
	if r.Body != "" {
		bpath := join(path, "body")
		t, err := parseTemplate(r.Body)
		if err != nil {
			c.ps.add(bpath, "%v", err)
		} else {
			_, whole := t.whole()
			for _, p := range t {
				if p.kind == literal {
					continue
				}
				s := siteBodyText
				if whole {
					s = siteBodyWhole
				}
				c.ref(p, s, bpath, whole)
			}
			cr.body, cr.hasBody = t, true
		}
	}
	if len(c.ps.list) > bad {
		return nil
	}
	return cr
}
