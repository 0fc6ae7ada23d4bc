package netguard

import "net/netip"

//go:generate go run gen.go

// reach is the "Globally Reachable" column of an IANA special-purpose registry row.
type reach uint8

const (
	reachFalse reach = iota // "False"
	reachTrue               // "True"
	reachNA                 // "N/A": decided by the IPv4 address the block embeds (Teredo, 6to4)
	reachNone               // empty: the registration is terminated (a deprecated block)
)

// ianaBlock is one row of an IANA special-purpose address registry, with the reason for the
// addresses whose most specific block it is (Global for "True" and "N/A" rows).
type ianaBlock struct {
	prefix netip.Prefix
	name   string
	reach  reach
	reason Reason
}
