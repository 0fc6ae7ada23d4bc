// Package conventions holds no code: its tests enforce the repository's rules — one way to the
// network, the dependency directions of DESIGN.md, a doc comment on every package.
package conventions
