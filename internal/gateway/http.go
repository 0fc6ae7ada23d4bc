package gateway

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// HTTPOptions configure HTTPHandler.
type HTTPOptions struct {
	// Token is the bearer token every request must carry (Authorization: Bearer TOKEN).
	// Required: an empty token refuses every request.
	Token string
	// Origins are the browser origins allowed to call the gateway ("http://localhost:5173").
	// A request with an Origin header that is not listed is refused: a web page the user
	// visits must not reach the gateway. Requests without Origin (non-browser clients) pass.
	Origins []string
}

// HTTPHandler serves MCP's streamable HTTP transport (at any path the caller mounts it on)
// behind the bearer token and the Origin check.
func (g *Gateway) HTTPHandler(o HTTPOptions) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return g.srv }, &mcp.StreamableHTTPOptions{
		Logger: g.log,
	})
	origins := make([]string, len(o.Origins))
	for i, s := range o.Origins {
		origins[i] = strings.TrimRight(strings.ToLower(s), "/")
	}
	want := []byte("Bearer " + o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !slices.Contains(origins, strings.ToLower(origin)) {
			http.Error(w, "airlock gateway: Origin "+origin+" is not allowed (start the gateway with --allow-origin "+origin+" to allow it)", http.StatusForbidden)
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if o.Token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="airlock gateway"`)
			http.Error(w, "airlock gateway: missing or wrong bearer token (Authorization: Bearer TOKEN; the token is printed when the gateway starts, or set with AIRLOCK_GATEWAY_TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ValidOrigin checks an --allow-origin value: scheme://host[:port], nothing else.
func ValidOrigin(s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil && strings.Contains(u.Host, ":") && !strings.HasPrefix(u.Host, "[") {
		return false
	}
	return true
}
