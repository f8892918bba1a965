package cimom

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wbemd/wbemd/store"
)

// decodeNamespaceRecord reads a namespace record as stored.
func decodeNamespaceRecord(kv store.KV) (*nsRecord, error) {
	var rec nsRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil || rec.SD == nil || rec.Name == "" {
		return nil, fmt.Errorf("corrupt namespace record %q", kv.Key)
	}
	return &rec, nil
}

// Namespaces returns the name of every namespace of the repository, as
// created, in the order of their folded names (a parent before its
// children): top-level ones such as interop included, which no
// __Namespace instance lists.
func (c *CIMOM) Namespaces(ctx context.Context) ([]string, error) {
	var out []string
	start := []byte{'n', sep}
	for kv, err := range c.st.Range(ctx, start, store.PrefixEnd(start)) {
		if err != nil {
			return nil, fmt.Errorf("cimom: namespaces: %w", err)
		}
		rec, err := decodeNamespaceRecord(kv)
		if err != nil {
			return nil, fmt.Errorf("cimom: namespaces: %w", err)
		}
		out = append(out, rec.Name)
	}
	return out, nil
}
