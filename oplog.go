package upfactory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// ComputeHash returns the hash that chains e to the entry before it: the
// SHA-256 of PrevHash and the canonical JSON of every other field but Hash.
// encoding/json sorts map keys, so the same entry always hashes the same.
func (e LogEntry) ComputeHash() string {
	body := struct {
		Seq     int64          `json:"seq"`
		Time    string         `json:"time"`
		Actor   string         `json:"actor"`
		Action  string         `json:"action"`
		Service string         `json:"service"`
		Subject string         `json:"subject"`
		Reason  string         `json:"reason"`
		Values  map[string]any `json:"values"`
	}{e.Seq, e.Time.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Service, e.Subject, e.Reason, e.Values}
	b, err := json.Marshal(body)
	if err != nil {
		// Values hold only JSON-safe scalars; anything else is a bug.
		panic(fmt.Sprintf("hashing log entry %d: %v", e.Seq, err))
	}
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Chain fills in Seq, PrevHash and Hash of entries so that they follow the
// entry with seq lastSeq and hash lastHash.
func Chain(entries []LogEntry, lastSeq int64, lastHash string) {
	for i := range entries {
		lastSeq++
		entries[i].Seq = lastSeq
		entries[i].Time = entries[i].Time.UTC()
		entries[i].PrevHash = lastHash
		entries[i].Hash = entries[i].ComputeHash()
		lastHash = entries[i].Hash
	}
}

// VerifyChain checks entries, read in Seq order, against each other and
// against the head the store recorded (headSeq, headHash). It names the
// first entry that was edited, removed or inserted.
func VerifyChain(entries []LogEntry, headSeq int64, headHash string) *LogVerification {
	v := &LogVerification{OK: true, Entries: int64(len(entries))}
	bad := func(seq int64, format string, args ...any) *LogVerification {
		v.OK, v.BadSeq, v.Problem = false, seq, fmt.Sprintf(format, args...)
		return v
	}
	prevSeq, prevHash := int64(0), ""
	for _, e := range entries {
		if e.Seq != prevSeq+1 {
			return bad(prevSeq+1, "entry %d is missing (next stored entry is %d)", prevSeq+1, e.Seq)
		}
		if e.PrevHash != prevHash {
			return bad(e.Seq, "entry %d does not chain to entry %d: prev_hash differs", e.Seq, prevSeq)
		}
		if got := e.ComputeHash(); got != e.Hash {
			return bad(e.Seq, "entry %d was edited: its content does not match its hash", e.Seq)
		}
		prevSeq, prevHash = e.Seq, e.Hash
	}
	if prevSeq != headSeq || prevHash != headHash {
		if prevSeq < headSeq {
			return bad(prevSeq+1, "entries %d to %d are missing: the log head says %d entries", prevSeq+1, headSeq, headSeq)
		}
		return bad(prevSeq, "entry %d does not match the recorded head of the log", prevSeq)
	}
	return v
}
