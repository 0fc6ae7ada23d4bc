// Package escape is airlock's escape suite: tests that run `airlock run` — supervisor included —
// inside a sealed test world (internal/testworld) and have a probe program inside the sandbox
// try every way out that airlock promises to stop: direct TCP and UDP to loopback, LAN, cloud
// metadata and public test hosts; the proxy with wrong ports, private names and odd IPv4
// spellings; DNS exfiltration; raw, packet and unix sockets; signals and /proc of host
// processes; new user namespaces and setns; and a supervisor killed mid-run. Each attempt must
// fail and no test host may see a connection, while the allowed destination works through the
// proxy.
//
// The package has no code of its own; the tests build cmd/airlock and testdata/probe. They need
// root and namespaces: without them they skip, and under AIRLOCK_REQUIRE_PRIVILEGED=1 (CI) they
// fail.
package escape
