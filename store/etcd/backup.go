package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/wbemd/wbemd/store"
)

// Backup writes a dump of every key of the store as of one revision (see
// ReadDump) to w while the store keeps serving. Restore loads it into an
// etcd prefix; ReadDump reads it for any engine.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	rev, err := s.Rev(ctx)
	if err != nil {
		return fmt.Errorf("etcd backup: %w", err)
	}
	d := newDumpWriter(w, rev)
	var serr error
	s.scan(ctx, nil, nil, rev, func(kv store.KV) bool {
		d.record(kv)
		return d.err == nil
	}, func(err error) { serr = err })
	if serr != nil {
		return fmt.Errorf("etcd backup: %w", serr)
	}
	if err := d.finish(); err != nil {
		return fmt.Errorf("etcd backup: write: %w", err)
	}
	return nil
}

// restoreMark is the value of the root key while a restore runs.
type restoreMark struct {
	Restoring   string `json:"restoring"` // when the restore began (RFC 3339)
	DumpOfRev   int64  `json:"dumpOfRevision"`
	FromVersion int    `json:"format"`
}

// ErrRestoreUnfinished is wrapped by Open's error for a prefix a restore
// began to fill and did not finish.
var ErrRestoreUnfinished = errors.New("a restore into this prefix did not finish")

// Restored says what Restore loaded.
type Restored struct {
	DumpRev int64 // the revision the dump is a snapshot of
	Keys    int   // the keys loaded
	Rev     int64 // the cluster's revision when the restore finished
}

// Restore loads a dump (see ReadDump) into the prefix a store URL names,
// which must hold no key, or a restore that did not finish (which it
// replaces). It writes in transactions within the engine's Limits, with
// the root key marking the restore until the last record is loaded and the
// dump's checksum verified: Open refuses a prefix so marked, so no wbemd
// serves a partial repository. Keys get new ModRevs: the change feed of the
// restored repository starts at the restore.
func Restore(ctx context.Context, url string, opts Options, r io.Reader) (Restored, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return Restored{}, err
	}
	s, err := dial(ctx, cfg, opts)
	if err != nil {
		return Restored{}, err
	}
	defer s.Close()
	res, err := s.restore(ctx, r)
	if err != nil {
		return res, fmt.Errorf("restore into etcd prefix %s: %w", cfg.Prefix, err)
	}
	return res, nil
}

func (s *Store) restore(ctx context.Context, r io.Reader) (Restored, error) {
	var res Restored
	dumpRev, records, err := ReadDump(r)
	if err != nil {
		return res, err
	}
	res.DumpRev = dumpRev
	markRev, err := s.beginRestore(ctx, dumpRev)
	if err != nil {
		return res, err
	}
	marked := []*pb.Compare{{Key: s.root, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_ModRevision{ModRevision: markRev}}}
	unfinished := func(err error) (Restored, error) {
		return res, fmt.Errorf("%w; the prefix holds a partial restore that wbemd will not open: restore again from an intact dump", err)
	}
	var ops []*pb.RequestOp
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		_, err := s.rawTxn(ctx, "restore", marked, ops)
		ops, size = ops[:0], 0
		return err
	}
	for kv, err := range records {
		if err != nil {
			return unfinished(err)
		}
		n := len(kv.Key) + len(kv.Value)
		if n > s.limits.MaxBytes {
			return unfinished(fmt.Errorf("key %q: %w: %d bytes, limit %d", kv.Key, store.ErrTxnTooLarge, n, s.limits.MaxBytes))
		}
		if len(ops) == s.limits.MaxOps || size+n > s.limits.MaxBytes {
			if err := flush(); err != nil {
				return unfinished(err)
			}
		}
		ops = append(ops, s.putOp(string(kv.Key), kv.Value))
		size += n
		res.Keys++
	}
	if err := flush(); err != nil {
		return unfinished(err)
	}
	del := &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: s.root}}}
	if res.Rev, err = s.rawTxn(ctx, "restore", marked, []*pb.RequestOp{del}); err != nil {
		return unfinished(err)
	}
	return res, nil
}

// beginRestore marks the prefix as being restored and returns the mark's
// revision: into an empty prefix, or over an unfinished restore, whose
// keys it deletes.
func (s *Store) beginRestore(ctx context.Context, dumpRev int64) (int64, error) {
	mark, _ := json.Marshal(restoreMark{Restoring: time.Now().UTC().Format(time.RFC3339), DumpOfRev: dumpRev, FromVersion: 1})
	put := &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: s.root, Value: mark}}}
	resp, err := s.kv.Range(ctx, &pb.RangeRequest{Key: s.root})
	if err != nil {
		return 0, s.mapErr(ctx, "restore", err)
	}
	if len(resp.Kvs) == 1 { // an unfinished restore: start it over
		old := resp.Kvs[0].ModRevision
		wipe := &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: s.pfx, RangeEnd: store.PrefixEnd(s.pfx)}}}
		cmp := &pb.Compare{Key: s.root, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_ModRevision{ModRevision: old}}
		rev, err := s.rawTxn(ctx, "restore", []*pb.Compare{cmp}, []*pb.RequestOp{wipe, put})
		if errors.Is(err, store.ErrCompareFailed) {
			return 0, errors.New("another restore into this prefix is running")
		}
		return rev, err
	}
	empty := []*pb.Compare{
		{Key: s.root, Target: pb.Compare_CREATE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_CreateRevision{CreateRevision: 0}},
		{Key: s.pfx, RangeEnd: store.PrefixEnd(s.pfx), Target: pb.Compare_CREATE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_CreateRevision{CreateRevision: 0}},
	}
	rev, err := s.rawTxn(ctx, "restore", empty, []*pb.RequestOp{put})
	if errors.Is(err, store.ErrCompareFailed) {
		return 0, fmt.Errorf("the prefix holds a repository: restore goes into an empty prefix (remove the keys under %s first, e.g. etcdctl del --prefix %s)", s.pfx, s.pfx)
	}
	return rev, err
}

// checkNoRestore fails if a restore into the prefix is unfinished.
func (s *Store) checkNoRestore(ctx context.Context) error {
	resp, err := s.kv.Range(ctx, &pb.RangeRequest{Key: s.root})
	if err != nil {
		return s.mapErr(ctx, "open", err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	var m restoreMark
	json.Unmarshal(resp.Kvs[0].Value, &m)
	return fmt.Errorf("etcd prefix %s: %w (began %s, from a dump of revision %d): run the restore again; wbemd does not open a partial repository",
		s.cfg.Prefix, ErrRestoreUnfinished, m.Restoring, m.DumpOfRev)
}
