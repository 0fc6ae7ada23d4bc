// Package mcptest drives a real MCP server from npm under `airlock run` with the official Go MCP
// SDK client, inside a sealed test world; it holds tests only.
//
// The test installs @modelcontextprotocol/server-everything (a pinned version) with npm into a
// cache outside the world — $AIRLOCK_TEST_NPM_CACHE, else $XDG_CACHE_HOME/airlock-test/npm or
// ~/.cache/airlock-test/npm — and reuses an earlier install of the same version. That install is
// the only traffic that leaves the machine; everything after it, airlock included, runs inside
// a test world (internal/testworld) with two test hosts: "lan" at 10.77.0.2 (never granted) and
// "public" at 198.51.100.7 (granted with --allow 198.51.100.7:80).
//
// Without root, namespaces, node or npm the test skips with the reason; with
// AIRLOCK_REQUIRE_PRIVILEGED=1 (as in CI) it fails instead.
package mcptest
