package spec

import (
	"math/rand"
	"regexp"
	"testing"
)

// TestValidatorsMatchPatterns: each hand-written check accepts exactly what
// its pattern (the one the JSON Schema carries) accepts.
func TestValidatorsMatchPatterns(t *testing.T) {
	checks := []struct {
		pattern string
		fn      func(string) bool
	}{
		{namePattern, validName},
		{domainPattern, validDomain},
		{pathPartPattern, validPathPart},
		{envNamePattern, validEnvName},
		{channelPattern, validChannel},
	}
	corpus := []string{"", "a", "-", "a-", "-a", "a-b", "A", "a.b", "a..b", ".a", "a.", "a_b", "1a", "a b", "a/b", "a?b",
		"a#b", "tx-1", "push.example.com", "x-.y", "é", "a\tb", "a\nb", "[x]", "a,b", "~|{}^@", "a\"b", "a'b", "a*b"}
	rng := rand.New(rand.NewSource(1))
	alphabet := "aZ09-._ /?#!~[]{}\t\"*é,"
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.Intn(6))
		for j := range b {
			b[j] = alphabet[rng.Intn(len(alphabet))]
		}
		corpus = append(corpus, string(b))
	}
	for _, c := range checks {
		re := regexp.MustCompile(c.pattern)
		for _, s := range corpus {
			if got, want := c.fn(s), re.MatchString(s); got != want {
				t.Errorf("pattern %s on %q: validator says %v, regexp says %v", c.pattern, s, got, want)
			}
		}
	}
}
