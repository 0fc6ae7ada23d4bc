package codemode

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// URL parsing for the runtime's URL class: Go's net/url, normalised towards the WHATWG URL
// standard where it matters to scripts (lower-case scheme and host, default ports dropped, "/"
// as the path of an http URL without one). It is not a full WHATWG parser: IDN hosts are kept
// as written, and odd inputs that browsers repair are refused.

// urlParts are the components a URL object exposes.
type urlParts struct {
	href, origin, protocol, username, password, host, hostname, port, pathname, search, hash string
}

func (p urlParts) fields() map[string]string {
	return map[string]string{
		"href": p.href, "origin": p.origin, "protocol": p.protocol, "username": p.username,
		"password": p.password, "host": p.host, "hostname": p.hostname, "port": p.port,
		"pathname": p.pathname, "search": p.search, "hash": p.hash,
	}
}

// defaultPorts are the special schemes' default ports.
var defaultPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

// parseURL parses raw, relative to base when base is not nil, as new URL(raw, base) does.
func parseURL(raw string, base *string) (urlParts, error) {
	invalid := func() (urlParts, error) { return urlParts{}, errors.New("Invalid URL: " + raw) }
	u, err := url.Parse(cleanURL(raw))
	if err != nil {
		return invalid()
	}
	if base != nil {
		b, err := url.Parse(cleanURL(*base))
		if err != nil || b.Scheme == "" {
			return urlParts{}, errors.New("Invalid base URL: " + *base)
		}
		u = b.ResolveReference(u)
	}
	if u.Scheme == "" {
		return invalid()
	}
	if err := normaliseURL(u); err != nil {
		return invalid()
	}
	return partsOf(u), nil
}

// cleanURL removes what the WHATWG parser ignores: leading and trailing C0 controls and
// spaces, and tabs and newlines anywhere.
func cleanURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	return strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
}

// normaliseURL lower-cases scheme and host, drops a default port, and gives a special URL
// with an authority the path "/" when it has none.
func normaliseURL(u *url.URL) error {
	u.Scheme = strings.ToLower(u.Scheme)
	_, special := defaultPorts[u.Scheme]
	if u.Host != "" || special {
		host, port := u.Hostname(), u.Port()
		if special && host == "" {
			return errors.New("no host")
		}
		host = strings.ToLower(host)
		if port == defaultPorts[u.Scheme] {
			port = ""
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		u.Host = host
		if port != "" {
			u.Host += ":" + port
		}
		if u.Path == "" && u.Opaque == "" {
			u.Path = "/"
		}
		if strings.Contains(u.Path, "/.") {
			*u = *u.JoinPath() // resolves "." and ".." segments
		}
	}
	return nil
}

func partsOf(u *url.URL) urlParts {
	p := urlParts{protocol: u.Scheme + ":", port: u.Port(), host: u.Host}
	p.hostname = u.Host
	if p.port != "" {
		p.hostname = strings.TrimSuffix(u.Host, ":"+p.port)
	}
	if u.User != nil {
		p.username = u.User.Username()
		p.password, _ = u.User.Password()
	}
	if u.Opaque != "" {
		p.pathname = u.Opaque
	} else {
		p.pathname = u.EscapedPath()
	}
	if u.RawQuery != "" {
		p.search = "?" + u.RawQuery
	}
	if u.Fragment != "" {
		p.hash = "#" + u.EscapedFragment()
	}
	p.origin = "null"
	if _, special := defaultPorts[u.Scheme]; special && u.Scheme != "file" {
		p.origin = p.protocol + "//" + p.host
	}
	u.ForceQuery = false
	p.href = u.String()
	return p
}

// setURLField is a URL setter: href with one component replaced. An invalid value leaves the
// URL as it was, as the standard's setters do.
func setURLField(href, field, value string) (urlParts, error) {
	u, err := url.Parse(href)
	if err != nil {
		return urlParts{}, errors.New("Invalid URL: " + href)
	}
	orig := *u
	switch field {
	case "protocol":
		u.Scheme = strings.TrimSuffix(value, ":")
	case "username", "password":
		user, pass := "", ""
		hasPass := false
		if u.User != nil {
			user = u.User.Username()
			pass, hasPass = u.User.Password()
		}
		if field == "username" {
			user = value
		} else {
			pass, hasPass = value, value != ""
		}
		switch {
		case user == "" && !hasPass:
			u.User = nil
		case hasPass:
			u.User = url.UserPassword(user, pass)
		default:
			u.User = url.User(user)
		}
	case "host":
		u.Host = value
	case "hostname":
		if port := u.Port(); port != "" {
			u.Host = net.JoinHostPort(strings.Trim(value, "[]"), port)
		} else {
			u.Host = value
		}
	case "port":
		h := u.Hostname()
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		if value == "" {
			u.Host = h
		} else {
			u.Host = h + ":" + value
		}
	case "pathname":
		if !strings.HasPrefix(value, "/") && u.Host != "" {
			value = "/" + value
		}
		if dec, err := url.PathUnescape(value); err == nil {
			u.Path, u.RawPath = dec, value
		}
	case "search":
		u.RawQuery = strings.ReplaceAll(strings.TrimPrefix(value, "?"), " ", "%20")
	case "hash":
		v := strings.TrimPrefix(value, "#")
		if dec, err := url.PathUnescape(v); err == nil {
			u.Fragment, u.RawFragment = dec, v
		}
	default:
		return urlParts{}, errors.New("URL has no component " + field)
	}
	check, err := url.Parse(u.String())
	if err != nil || check.Scheme == "" || normaliseURL(check) != nil {
		check = &orig
	}
	return partsOf(check), nil
}
