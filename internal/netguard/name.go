package netguard

import "strings"

// ClassifyName judges a canonical DNS name (see package host) by name alone: localhost and
// *.localhost are Loopback, cloud metadata names are Metadata, local-network names are Private,
// special-use names are SpecialName; everything else is Global.
//
// A name matches a domain when it is that domain or under it. The rules look at the name only;
// a Global name is still judged by the addresses it resolves to. name must already be
// canonical: lower case, no trailing dot, IDNs in punycode.
func ClassifyName(name string) Verdict {
	switch {
	case loopbackName(name):
		return Verdict{Reason: Loopback, BlockName: "localhost name (RFC 6761)"}
	case metadataName(name):
		return Verdict{Reason: Metadata, BlockName: "cloud metadata name"}
	}
	switch name[strings.LastIndexByte(name, '.')+1:] { // the top-level label
	case "local":
		return Verdict{Reason: Private, BlockName: "multicast DNS .local (RFC 6762)"}
	case "internal":
		return Verdict{Reason: Private, BlockName: "private-use TLD .internal"}
	case "lan", "home", "intranet", "corp", "private", "localdomain", "svc":
		// Never delegated, widely used on local networks: router defaults (.lan, .home),
		// enterprise names (.corp, .intranet, .private), /etc/hosts (.localdomain) and
		// Kubernetes short service names (name.namespace.svc).
		return Verdict{Reason: Private, BlockName: "local-network TLD"}
	case "invalid", "test", "example", "onion", "alt":
		return Verdict{Reason: SpecialName, BlockName: "special-use TLD (RFC 6761, RFC 7686, RFC 9476)"}
	case "arpa":
		if underDomain(name, "home.arpa") || underDomain(name, "service.arpa") {
			// Home networks (RFC 8375) and DNS-SD service registration (RFC 9665).
			return Verdict{Reason: Private, BlockName: "locally served .arpa domain"}
		}
		// Reverse mapping (in-addr.arpa, ip6.arpa) and other infrastructure, never a destination.
		return Verdict{Reason: SpecialName, BlockName: "infrastructure domain .arpa"}
	}
	return Verdict{}
}

// loopbackName reports whether name is localhost, under it, or one of the loopback aliases
// of the usual /etc/hosts files.
func loopbackName(name string) bool {
	switch name {
	case "localhost.localdomain", "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback":
		return true
	}
	return underDomain(name, "localhost")
}

// metadataName reports whether name is a cloud metadata endpoint's name.
func metadataName(name string) bool {
	switch name {
	case "metadata", // GCP, through the instance's search domain
		"metadata.google.internal",   // GCP
		"metadata.goog",              // GCP
		"instance-data",              // AWS, through the VPC's search domain
		"metadata.tencentyun.com",    // Tencent Cloud
		"api.metadata.cloud.ibm.com": // IBM Cloud VPC
		return true
	}
	// AWS: instance-data.ec2.internal, instance-data.<region>.compute.internal.
	return strings.HasPrefix(name, "instance-data.") && strings.HasSuffix(name, ".internal")
}

// underDomain reports whether name is domain or a subdomain of it.
func underDomain(name, domain string) bool {
	return strings.HasSuffix(name, domain) &&
		(len(name) == len(domain) || name[len(name)-len(domain)-1] == '.')
}
