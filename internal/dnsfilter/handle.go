package dnsfilter

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
)

// maxUDPSize is the EDNS payload size the server advertises and the most it sends over UDP
// (the DNS Flag Day 2020 value, which avoids IP fragmentation).
const maxUDPSize = 1232

var (
	loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	loopback6 = netip.IPv6Loopback()
)

// handle answers one DNS message: req is the packet (UDP) or the message without its length
// prefix (TCP). The reply is packed into out's storage (its capacity) when it fits. It returns nil when no
// reply should be sent: the packet is not a query, or too short to carry a message ID.
func (s *Server) handle(req []byte, stream bool, out []byte) []byte {
	var q dns.Msg
	if err := q.Unpack(req); err != nil {
		return formErr(req, out)
	}
	if q.Response {
		return nil // never answer an answer: no loops, no reflection
	}
	r := new(dns.Msg)
	r.SetReply(&q)
	r.RecursionAvailable = true

	opt, opts := edns(&q)
	switch {
	case q.Opcode != dns.OpcodeQuery:
		r.Rcode = dns.RcodeNotImplemented
	case len(q.Question) != 1 || opts > 1:
		r.Rcode = dns.RcodeFormatError
		r.Question = nil
	case opt != nil && opt.Version() != 0:
		r.Rcode = dns.RcodeBadVers
	default:
		s.answer(r, q.Question[0])
	}

	size := dns.MinMsgSize
	switch {
	case stream:
		size = dns.MaxMsgSize
	case opt != nil:
		size = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
	}
	if opt != nil {
		r.SetEdns0(maxUDPSize, false)
	}
	r.Truncate(size)
	// PackBuffer packs into the buffer's length, not its capacity.
	b, err := r.PackBuffer(out[:cap(out)])
	if err != nil { // cannot happen for the replies built here; answer something
		return formErr(req, out)
	}
	return b
}

// edns returns the query's OPT record and how many it has (more than one is a format error).
func edns(q *dns.Msg) (*dns.OPT, int) {
	var opt *dns.OPT
	n := 0
	for _, rr := range q.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			opt = o
			n++
		}
	}
	return opt, n
}

// formErr is the reply to a packet that does not parse: FORMERR with the packet's ID, opcode
// and RD bit and nothing else, or nil (no reply) when the packet is shorter than a header or is
// itself a reply.
func formErr(req, out []byte) []byte {
	if len(req) < 12 || req[2]&0x80 != 0 {
		return nil
	}
	opcode := req[2] >> 3 & 0xf
	b := append(out[:0], req[0], req[1], 0x80|opcode<<3|req[2]&0x01, 0x80|dns.RcodeFormatError)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0) // no question, answer, authority or additional
}

// answer fills r, a reply carrying q, for a QUERY with one question, and audits it.
func (s *Server) answer(r *dns.Msg, q dns.Question) {
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	ev := audit.Event{Event: EventBlocked, Decision: "deny", Server: s.opts.Server, Host: name, Rule: "dns"}
	defer func() {
		ev.Time = time.Now()
		s.opts.Audit.Audit(ev)
	}()
	r.Rcode = dns.RcodeNameError

	h, err := host.Parse(name)
	switch {
	case q.Qclass != dns.ClassINET:
		r.Rcode = dns.RcodeRefused
		ev.Reason = ReasonUnsupportedClass
		if err == nil {
			ev.Host = h.String()
		}
		return
	case err != nil:
		ev.Reason = ReasonInvalidHost
		return
	case h.IsIP():
		ev.Reason = ReasonIPLiteral // Host stays as spelled: "0x7f.1", not 127.0.0.1
		return
	case isReverseName(h.Name):
		s.reverse(r, q, h.Name, &ev)
		return
	}
	ev.Host = h.Name

	d, port := s.decide(h)
	ev.Port, ev.Rule, ev.Reason = port, d.Rule, string(d.Reason)
	if !d.Allow {
		return
	}
	ev.Event, ev.Decision = EventAnswered, "allow"
	r.Rcode = dns.RcodeSuccess

	var a netip.Addr
	loopbackName := netguard.ClassifyName(h.Name).Reason == netguard.Loopback
	switch {
	case q.Qtype == dns.TypeA && loopbackName:
		a = loopback4
	case q.Qtype == dns.TypeAAAA && loopbackName:
		a = loopback6
	case q.Qtype == dns.TypeA:
		a, _ = s.pool.addr(h.Name, false)
	case q.Qtype == dns.TypeAAAA:
		a, _ = s.pool.addr(h.Name, true) // no IPv6 pool: NODATA
	}
	if !a.IsValid() {
		return // NODATA: every other type, never forwarded
	}
	ev.Addr = a.String()
	hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: s.ttl}
	if a.Is4() {
		r.Answer = []dns.RR{&dns.A{Hdr: hdr, A: net.IP(a.AsSlice())}}
	} else {
		r.Answer = []dns.RR{&dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())}}
	}
}

// reverse answers a query for a name under in-addr.arpa or ip6.arpa: the PTR of a fake address
// is the name it was handed out for; every other reverse name does not exist here.
func (s *Server) reverse(r *dns.Msg, q dns.Question, rname string, ev *audit.Event) {
	ev.Host = rname
	a, ok := reverseAddr(rname)
	var name string
	if ok {
		name, ok = s.pool.name(a, false)
	}
	if !ok {
		ev.Reason = ReasonNotFakeAddress
		return
	}
	ev.Event, ev.Decision, ev.Reason = EventAnswered, "allow", ReasonFakeAddress
	ev.Host, ev.Addr = name, a.Unmap().String()
	r.Rcode = dns.RcodeSuccess
	if q.Qtype == dns.TypePTR {
		r.Answer = []dns.RR{&dns.PTR{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: s.ttl},
			Ptr: name + ".",
		}}
	}
}

// decide asks the policy about h on each probe port in turn and returns the first allow, or the
// decision on the first probe port (443) when none allows it.
func (s *Server) decide(h host.Host) (policy.Decision, uint16) {
	p := s.policy()
	ports := s.probePorts(p)
	var first policy.Decision
	for i, port := range ports {
		d := p.Decide(h, port)
		if d.Allow {
			return d, port
		}
		if i == 0 {
			first = d
		}
	}
	return first, ports[0]
}
