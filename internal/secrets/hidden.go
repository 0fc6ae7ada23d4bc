package secrets

// hidden keeps a value out of fmt's reach. fmt prints a func as an address under every verb
// and at every depth, so a struct that holds a secret only inside a hidden cannot print it —
// not even when it is an unexported field of someone else's struct, where fmt walks the
// fields by reflection and cannot call our Format methods (and where a bad verb such as %s on
// a pointer field makes fmt expand the pointed-to struct).
type hidden[T any] func() T

func hide[T any](v T) hidden[T] { return func() T { return v } }
