// Package secrets is airlock's host-side credential store: named sets of KEY=VALUE pairs
// (a TV's address, a Hue bridge's API key, a Home Assistant token) kept in one file encrypted
// with AES-256-GCM, handed to binding clients on the host and never to sandboxed code.
//
// The package takes every location and key as an argument; only the command line reads the
// environment (AIRLOCK_SECRET_KEY, AIRLOCK_SECRETS_FILE) and decides where the files live.
//
// Names of credentials are letters, digits, '-', '_' and '.', starting with a letter or digit;
// keys are letters, digits and '_', not starting with a digit (they are used as
// {{credential.KEY}}). A value is text, or a reference to an environment variable resolved
// when the credential is used (Store.Resolve):
//
//	${NAME}      a reference to the variable NAME ([A-Za-z_][A-Za-z0-9_]*)
//	$${...}      the literal text ${...}: two or more '$', then '{', anything, '}' lose one
//	             leading '$' ($$${X} is the text $${X}); EscapeLiteral applies this
//	anything     else is literal, '$' included: p$ss, $HOME and a${X}b are used as written
//
// A value of the form ${...} whose inside is not a variable name is refused, so a typo never
// becomes a literal secret.
//
// Nothing here logs. Every type that holds a secret value (Key, Values, *Store) formats as a
// redacted summary under every fmt verb, as a slog value and as JSON, so a stray %v cannot
// leak one.
package secrets
