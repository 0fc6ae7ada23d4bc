package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/secrets"
)

const secretLong = `Keep the credentials of bindings (a TV's address, a Hue bridge's API key, a Home
Assistant token) in airlock's encrypted store on this machine. A binding names its
credential and uses its keys as {{credential.KEY}}; airlock fills them in on the host.
The values never reach sandboxed code, are never printed, and never logged.

The store is one file, encrypted with AES-256-GCM:
  $XDG_CONFIG_HOME/airlock/secrets.enc (~/.config/airlock/secrets.enc), or
  $AIRLOCK_SECRETS_FILE, or --file.
Its key is $AIRLOCK_SECRET_KEY (32 bytes as base64 or hex), or else the key file
~/.config/airlock/secret.key, created with a random key by the first 'set'. Back the key
file up: without it the store cannot be read. Both files must be yours and mode 0600.

A value written as ${NAME} is a reference to the environment variable NAME, stored as
written and read when a binding uses it; the listing shows it, since it is not secret.
Any other '$' is literal. To store a text that is itself of the form ${...}, put one
more '$' in front ($${X} stores ${X}).

Credential names are letters, digits, '-', '_' and '.', starting with a letter or digit;
keys are letters, digits and '_', not starting with a digit.

Exit status: 0 on success, 1 when the store cannot be read or written (wrong key, file
permissions, no such credential), 2 on bad arguments.`

const secretExample = `  # An LG TV on the LAN:
  airlock secret set lg-tv tvIP=192.168.1.100

  # A Hue bridge; the API key is read from standard input, so it stays out of shell history:
  airlock secret set hue bridgeIP=192.168.1.50 apiKey=-

  # Home Assistant, with the token taken from the environment whenever a binding uses it:
  airlock secret set home-assistant url=http://homeassistant.local:8123 'token=${HA_TOKEN}'

  # What is stored (names and keys, never values), and where:
  airlock secret list
  airlock secret path

  # Drop one key, then the whole credential:
  airlock secret rm hue apiKey
  airlock secret rm hue`

type secretFlags struct {
	file    string
	replace bool
}

func newSecretCmd() *cobra.Command {
	var f secretFlags
	cmd := &cobra.Command{
		Use:     "secret",
		Short:   "Store the credentials bindings use, encrypted, on the host only",
		Long:    secretLong,
		Example: secretExample,
		Args:    cobra.NoArgs, // an unknown subcommand is a usage error, not help
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&f.file, "file", "", "the store file (default: $AIRLOCK_SECRETS_FILE, else ~/.config/airlock/secrets.enc)")

	set := &cobra.Command{
		Use:   "set NAME KEY=VALUE...",
		Short: "Add or change a credential (KEY=- reads the value from standard input)",
		Long: `Add the credential NAME, or change its keys. Each KEY=VALUE sets one key; the other keys
of an existing credential are kept unless --replace is given.

A VALUE of '-' reads that value from one line of standard input (several '-' read one line
each, in order), so that it stays out of your shell history and process list. A VALUE of
${NAME} refers to the environment variable NAME, read when a binding uses the credential.

The first 'set' creates the key file (~/.config/airlock/secret.key) unless
AIRLOCK_SECRET_KEY is set.`,
		Example: `  airlock secret set lg-tv tvIP=192.168.1.100
  airlock secret set hue bridgeIP=192.168.1.50 apiKey=-
  printf '%s\n' "$TOKEN" | airlock secret set home-assistant url=http://homeassistant.local:8123 token=-
  airlock secret set home-assistant 'token=${HA_TOKEN}'
  airlock secret set --replace hue bridgeIP=192.168.1.51 apiKey=-`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSecretSet(&f, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	set.Flags().BoolVar(&f.replace, "replace", false, "make the given keys the whole credential (drop the keys not given)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the credentials and their keys (never their values)",
		Long: `List every credential with its keys, one credential a line. Values are never shown;
a key whose value is an environment reference shows it (token=${HA_TOKEN}), since a
reference is not secret.`,
		Example: `  $ airlock secret list
  home-assistant  token=${HA_TOKEN} url
  hue             apiKey bridgeIP
  lg-tv           tvIP`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSecretList(&f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}

	rm := &cobra.Command{
		Use:   "rm NAME [KEY...]",
		Short: "Remove a credential, or some of its keys",
		Long: `Remove the credential NAME, or only the keys given. A credential left without keys is
removed. Nothing is removed when a name or key does not exist.`,
		Example: `  airlock secret rm hue apiKey
  airlock secret rm lg-tv`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSecretRm(&f, args, cmd.OutOrStdout())
		},
	}

	path := &cobra.Command{
		Use:   "path",
		Short: "Print where the store and its key are",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSecretPath(&f, cmd.OutOrStdout())
		},
	}

	cmd.AddCommand(set, list, rm, path)
	return cmd
}

// secretLocation is where the store and its key are, and where that was decided.
type secretLocation struct {
	store, storeFrom string // storeFrom: "--file", secrets.FileEnv or "default"
	keyFile          string // "" when the user configuration directory is unknown
	keyEnv           string // the value of AIRLOCK_SECRET_KEY
	configDirErr     error
}

// locateSecrets reads --file, AIRLOCK_SECRETS_FILE, AIRLOCK_SECRET_KEY and the user
// configuration directory. Commands other than 'secret' that need credentials use it too.
func locateSecrets(file string) (secretLocation, error) {
	loc := secretLocation{keyEnv: os.Getenv(secrets.KeyEnv)}
	dir, err := os.UserConfigDir()
	if err != nil {
		loc.configDirErr = err
	} else {
		loc.keyFile = secrets.DefaultKeyPath(dir)
	}
	switch {
	case file != "":
		loc.store, loc.storeFrom = file, "--file"
	case os.Getenv(secrets.FileEnv) != "":
		loc.store, loc.storeFrom = os.Getenv(secrets.FileEnv), secrets.FileEnv
	case err != nil:
		return loc, usageErr("cannot tell where the secrets store is: %v; set %s or use --file", err, secrets.FileEnv)
	default:
		loc.store, loc.storeFrom = secrets.DefaultStorePath(dir), "default"
	}
	return loc, nil
}

// openSecrets opens the store. With create, a missing store whose key is missing too gets a
// new key file (created reports that). Without, a missing store opens empty with no key.
func openSecrets(loc secretLocation, create bool) (s *secrets.Store, created bool, err error) {
	_, statErr := os.Stat(loc.store)
	storeExists := !errors.Is(statErr, fs.ErrNotExist)
	if loc.keyFile == "" && strings.TrimSpace(loc.keyEnv) == "" && (create || storeExists) {
		return nil, false, secretFail(fmt.Errorf("no key: %s is not set, and the key file's directory is unknown (%v)", secrets.KeyEnv, loc.configDirErr))
	}
	var keyFileExisted bool
	if loc.keyFile != "" {
		_, err := os.Lstat(loc.keyFile)
		keyFileExisted = err == nil
	}
	key, err := secrets.LoadKey(loc.keyEnv, loc.keyFile, create && !storeExists)
	switch {
	case errors.Is(err, secrets.ErrNoKey) && !storeExists:
		key = secrets.Key{} // nothing to decrypt yet
	case errors.Is(err, secrets.ErrNoKey):
		return nil, false, secretFail(fmt.Errorf("cannot decrypt %s: %w; set %s to the key it was written with, or restore the key file %s", loc.store, err, secrets.KeyEnv, loc.keyFile))
	case err != nil:
		return nil, false, secretFail(err)
	}
	s, err = secrets.Open(loc.store, key)
	if err != nil {
		return nil, false, secretFail(err)
	}
	created = !key.IsZero() && key.Source() == loc.keyFile && !keyFileExisted
	return s, created, nil
}

// openCredentialSource opens the credential store for bindings ('airlock exec', the
// gateway): the same file and key as 'airlock secret', never creating a key. A missing store
// is empty, so every credential lookup names 'airlock secret set'.
func openCredentialSource() (binding.CredentialSource, error) {
	loc, err := locateSecrets("")
	if err != nil {
		return nil, err
	}
	s, _, err := openSecrets(loc, false)
	if err != nil {
		return nil, err
	}
	return storeCredentials{s}, nil
}

// storeCredentials hands a binding its credential with every ${VAR} resolved from airlock's
// environment.
type storeCredentials struct{ s *secrets.Store }

func (c storeCredentials) Credential(name string) (binding.Credential, error) {
	v, err := c.s.Resolve(name, os.LookupEnv)
	if err != nil {
		return binding.Credential{}, err
	}
	return binding.Credential{Name: name, Data: v.Map()}, nil
}

// secretFail is a failure of the store itself (exit 1): wrong key, permissions, I/O.
func secretFail(err error) error { return &exitError{code: 1, msg: err.Error()} }

func runSecretSet(f *secretFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return usageErr("secret set needs a NAME and at least one KEY=VALUE, e.g. airlock secret set lg-tv tvIP=192.168.1.100")
	}
	name, pairs := args[0], args[1:]
	kv := make(map[string]string, len(pairs))
	var order []string
	var fromStdin []string
	for i, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			// The argument is not quoted: it may be a value typed in the wrong place.
			return usageErr("argument %d after the name is not KEY=VALUE; write e.g. apiKey=- to read the value from standard input", i+1)
		}
		if _, dup := kv[k]; dup {
			return usageErr("key %s is given twice", k)
		}
		if v == "-" {
			fromStdin = append(fromStdin, k)
		}
		kv[k] = v
		order = append(order, k)
	}
	if len(fromStdin) > 0 {
		r := bufio.NewReader(stdin)
		prompt := isTerminal(stdin)
		for _, k := range fromStdin {
			if prompt {
				fmt.Fprintf(stderr, "value of %s.%s: ", name, k)
			}
			v, err := readValueLine(r)
			if err != nil {
				return usageErr("reading the value of %s from standard input: %v", k, err)
			}
			kv[k] = v
		}
	}
	for _, k := range order {
		if kv[k] == "" {
			return usageErr("%s has an empty value; to delete a key use `airlock secret rm %s %s`", k, name, k)
		}
	}

	if err := secrets.Check(name, kv); err != nil {
		return usageErr("%v", err) // before a key file is created for nothing
	}
	loc, err := locateSecrets(f.file)
	if err != nil {
		return err
	}
	s, created, err := openSecrets(loc, true)
	if err != nil {
		return err
	}
	if err := s.Set(name, kv, !f.replace); err != nil {
		return usageErr("%v", err)
	}
	if err := s.Save(); err != nil {
		return secretFail(err)
	}
	if created {
		fmt.Fprintf(stderr, "airlock: created the key file %s; back it up: without it %s cannot be read\n", loc.keyFile, loc.store)
	}
	fmt.Fprintf(stdout, "stored %s (%s) in %s\n", name, strings.Join(s.Keys(name), ", "), loc.store)
	return nil
}

// readValueLine reads one line; the line ending (\n or \r\n) is not part of the value.
func readValueLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("it ended before the value")
		}
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// isTerminal reports whether r is a terminal (a character device), where a prompt helps.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func runSecretList(f *secretFlags, stdout, stderr io.Writer) error {
	loc, err := locateSecrets(f.file)
	if err != nil {
		return err
	}
	s, _, err := openSecrets(loc, false)
	if err != nil {
		return err
	}
	names := s.Names()
	if len(names) == 0 {
		fmt.Fprintf(stderr, "airlock: no credentials in %s; add one with `airlock secret set NAME KEY=VALUE`\n", loc.store)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, n := range names {
		var keys []string
		for _, k := range s.Keys(n) {
			if v, ok := s.Reference(n, k); ok {
				k += "=${" + v + "}"
			}
			keys = append(keys, k)
		}
		fmt.Fprintf(tw, "%s\t%s\n", n, strings.Join(keys, " "))
	}
	return tw.Flush()
}

func runSecretRm(f *secretFlags, args []string, stdout io.Writer) error {
	if len(args) < 1 {
		return usageErr("secret rm needs a NAME (and optionally KEYs), e.g. airlock secret rm hue apiKey")
	}
	loc, err := locateSecrets(f.file)
	if err != nil {
		return err
	}
	s, _, err := openSecrets(loc, false)
	if err != nil {
		return err
	}
	name, keys := args[0], args[1:]
	if err := s.Remove(name, keys...); err != nil {
		return secretFail(err)
	}
	if err := s.Save(); err != nil {
		return secretFail(err)
	}
	switch {
	case len(keys) == 0:
		fmt.Fprintf(stdout, "removed %s from %s\n", name, loc.store)
	case !s.Has(name):
		fmt.Fprintf(stdout, "removed %s from %s (no keys were left, so %s is gone)\n", strings.Join(keys, ", "), name, name)
	default:
		fmt.Fprintf(stdout, "removed %s from %s\n", strings.Join(keys, ", "), name)
	}
	return nil
}

func runSecretPath(f *secretFlags, stdout io.Writer) error {
	loc, err := locateSecrets(f.file)
	if err != nil {
		return err
	}
	exists := func(p string) string {
		if _, err := os.Stat(p); err != nil {
			return "not created yet"
		}
		return "exists"
	}
	from := map[string]string{"--file": "from --file", secrets.FileEnv: "from " + secrets.FileEnv, "default": "default"}[loc.storeFrom]
	fmt.Fprintf(stdout, "store:     %s (%s, %s)\n", loc.store, from, exists(loc.store))
	switch {
	case strings.TrimSpace(loc.keyEnv) != "":
		fmt.Fprintf(stdout, "key:       %s (set; the key file is not used)\n", secrets.KeyEnv)
		if loc.keyFile != "" {
			fmt.Fprintf(stdout, "key file:  %s (%s)\n", loc.keyFile, exists(loc.keyFile))
		}
	case loc.keyFile != "":
		fmt.Fprintf(stdout, "key file:  %s (%s)\n", loc.keyFile, exists(loc.keyFile))
	default:
		fmt.Fprintf(stdout, "key file:  unknown (%v); set %s\n", loc.configDirErr, secrets.KeyEnv)
	}
	return nil
}
