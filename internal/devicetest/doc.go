// Package devicetest holds the end-to-end tests of code mode and bindings: airlock exec, built
// from cmd/airlock, runs the seeds' binding examples from examples/ inside a test world whose
// fake devices (an LG TV, a Hue bridge, Home Assistant, a dev server) are real HTTP servers
// at private addresses on veth pairs, with no route off the machine. It holds only tests.
package devicetest
