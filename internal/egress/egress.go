// Package egress is airlock's one way to the network: a guarded dialer that decides, resolves
// once, checks every address and connects only to a checked one, and SafeFetch, an
// *http.Client built on it.
package egress
