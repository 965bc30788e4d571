package broker

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id, stored in the PHC string form
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<threads>$<salt>$<hash> (raw std
// base64), so the parameters travel with the hash.
var (
	argonTime    uint32 = 2
	argonMemory  uint32 = 19 * 1024 // KiB (OWASP minimum for argon2id)
	argonThreads uint8  = 1
)

const (
	argonKeyLen  = 32
	argonSaltLen = 16
)

// passwordChecks counts checkPassword calls (tests).
var passwordChecks atomic.Int64

var (
	dummyOnce sync.Once
	dummy     string
)

// dummyHash is a hash of a random password with the current parameters,
// checked for unknown users so their answer takes as long as a wrong
// password's.
func dummyHash() string {
	dummyOnce.Do(func() {
		pw := make([]byte, 16)
		_, _ = rand.Read(pw)
		h, err := hashPassword(base64.RawStdEncoding.EncodeToString(pw))
		if err != nil { // no randomness: a fixed salt costs the same
			h = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
				"AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		}
		dummy = h
	})
	return dummy
}

func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// checkPassword reports whether password matches hash, comparing in
// constant time. A malformed hash never matches.
func checkPassword(hash, password string) bool {
	passwordChecks.Add(1)
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || t == 0 || p == 0 || m > 1<<22 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 1024 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
