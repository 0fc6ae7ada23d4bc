// Package approval records which declarations (bindings, servers) the user approved, by the
// SHA-256 of their canonical JSON, in a file next to the config: airlock.yaml's approvals are
// in airlock.approvals.json. A declaration that was never approved, or that changed since, is
// refused with a message that says how to review it.
package approval
