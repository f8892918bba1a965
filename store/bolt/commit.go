package bolt

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/wbemd/wbemd/store"
)

type txnReq struct {
	cmps       []store.Compare
	ops        []store.Op
	checkpoint bool  // not a transaction: a request for a checkpoint (Backup, Check, Compact)
	compact    int64 // with checkpoint: then drop the feed up to this revision (Compact)
	reply      chan txnResult
}

type txnResult struct {
	rev int64
	err error
}

// Txn applies ops atomically if every compare holds. It returns when the
// commit is durable. A transaction that store.CheckTxn refuses fails
// before it joins a commit, alone. If ctx ends while the request waits,
// Txn returns ctx.Err() and the transaction may or may not have been
// applied (not if it was still waiting for room in the queue).
func (d *DB) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	if err := store.CheckTxn(d.Limits(), cmps, ops); err != nil {
		return 0, err
	}
	if err := d.enter(ctx); err != nil {
		return 0, err
	}
	if err := d.readOnly.Load(); err != nil {
		d.leave()
		return 0, *err
	}
	req := &txnReq{cmps: cmps, ops: ops, reply: make(chan txnResult, 1)}
	err := d.enqueue(ctx, req)
	d.leave()
	if err != nil {
		return 0, err
	}
	select {
	case r := <-req.reply:
		return r.rev, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// enqueue hands req to the committer, unless ctx ends first. The caller
// is in flight (see enter), so the queue is open.
func (d *DB) enqueue(ctx context.Context, req *txnReq) error {
	select {
	case d.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// committer gathers requests into batches and commits each batch once.
//
// A batch holds every request already queued. When writers run
// concurrently, a batch waits a little for the writers the last commit
// just answered: without the wait, a writer's next request arrives while
// the following commit is already running and waits for it to end, and
// with C writers each commit carries about C/2 requests (seen with 8
// connections over HTTP: 3.75 requests a commit). The wait ends as soon as
// the batch is as large as the largest of the last batches, or after half
// the last commit's time (at most maxGatherWait); see batchWindow. That
// timed wait is for a crowd: when one of the last batches had crowdSize
// requests or more. For fewer, a wait shorter than a millisecond lasts a
// millisecond when the process has nothing else to run (Go's timers then
// sleep in the poller, whose resolution is 1 ms), and writers that come
// and go (each request from a caller of its own, as a server's clients
// send them) are not coming back: at 1,000 single writes a second, the
// writes waited for them, 1.28 ms at the median instead of 0.17
// (BenchmarkTxnPaced; BENCHMARKS.md).
// So a batch short of a few writers lets the goroutines ready to run go
// first, and takes what they send (a writer in this process that the last
// commit answered is one of them).
func (d *DB) committer() {
	defer d.wg.Done()
	batch := make([]*txnReq, 0, d.opts.MaxBatch)
	var recent batchWindow
	var lastCommit time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	for {
		var req *txnReq
		ok := true
		if d.ov.rev == d.ov.base || d.opts.IdleCheckpoint < 0 || d.readOnly.Load() != nil {
			req, ok = <-d.reqs
		} else {
			// After a checkpoint that found no space, the next waits for
			// its back-off (nospace.go).
			idle.Reset(max(d.opts.IdleCheckpoint, time.Until(d.cpRetry)))
			select {
			case req, ok = <-d.reqs:
				idle.Stop()
			case <-idle.C:
				if err := d.checkpoint(); err != nil && !errors.Is(err, store.ErrNoSpace) { // no space: logged with its back-off
					d.log.Error("store checkpoint failed", "err", err)
				}
				continue
			}
		}
		if !ok {
			return
		}
		batch = append(batch[:0], req)
		open := d.gather(&batch)
		if want := min(recent.max(), d.opts.MaxBatch); open && len(batch) < want && lastCommit > 0 {
			if want < crowdSize {
				// A few writers: those ready to run go first, and
				// the batch takes what they send.
				for open && len(batch) < want {
					n := len(batch)
					runtime.Gosched()
					if open = d.gather(&batch); len(batch) == n {
						break
					}
				}
			} else {
				timer.Reset(min(lastCommit/2, maxGatherWait))
				d.waits.Add(1)
				for open && len(batch) < want {
					select {
					case r, ok := <-d.reqs:
						if open = ok; ok {
							batch = append(batch, r)
							open = d.gather(&batch)
						}
					case <-timer.C:
						want = 0
					}
				}
				timer.Stop()
			}
		}
		start := time.Now()
		d.commit(batch)
		lastCommit = time.Since(start)
		recent.add(len(batch))
	}
}

// defaultIdleCheckpoint is how long the committer waits for a request
// before it checkpoints the overlay anyway: when writers pause, the logged
// writes move to the B+tree, which frees the overlay's memory (and the
// collector's work of scanning it, about 10% of the CPU of a server
// answering reads beside a 4,000-revision overlay) and shortens recovery.
const defaultIdleCheckpoint = 100 * time.Millisecond

// crowdSize is the smallest batch that shows a crowd of concurrent writers,
// worth a batch's timed wait (see committer).
const crowdSize = 4

// maxGatherWait bounds a batch's wait for concurrent writers, whatever the
// last commit took (a bulk load's commit can take seconds).
const maxGatherWait = 2 * time.Millisecond

// gather appends the requests already queued, up to MaxBatch, to batch. It
// reports false once the queue is closed.
func (d *DB) gather(batch *[]*txnReq) bool {
	for len(*batch) < d.opts.MaxBatch {
		select {
		case r, ok := <-d.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		default:
			return true
		}
	}
	return true
}

// batchWindow remembers the sizes of the last commits' batches: their
// maximum is how many writers were seen running at once.
type batchWindow struct {
	sizes [32]int
	next  int
}

func (w *batchWindow) add(n int) {
	w.sizes[w.next] = n
	w.next = (w.next + 1) % len(w.sizes)
}

func (w *batchWindow) max() int {
	m := 0
	for _, n := range w.sizes {
		m = max(m, n)
	}
	return m
}

// Thresholds of the write-ahead log: a checkpoint runs once the overlay
// holds this many revisions or about this many bytes, and a batch with at
// least directOps ops or directBytes bytes goes straight to the B+tree.
const (
	checkpointRevs  = 4096
	checkpointBytes = 8 << 20
	directOps       = 1024
	directBytes     = 1 << 20
)

// commit commits a batch, answers every request, then runs a checkpoint
// if the overlay has grown enough or a request asked for one. A read-only
// engine answers every request with its error.
func (d *DB) commit(batch []*txnReq) {
	if err := d.readOnly.Load(); err != nil {
		answer(batch, *err)
		return
	}
	txns := batch[:0:0]
	var want []*txnReq // checkpoint requests
	ops, size := 0, 0
	for _, req := range batch {
		if req.checkpoint {
			want = append(want, req)
			continue
		}
		txns = append(txns, req)
		ops += len(req.ops)
		for _, op := range req.ops {
			size += len(op.Key) + len(op.Value)
		}
	}
	if len(txns) > 0 && (ops >= directOps || size >= directBytes) {
		d.commitDirect(txns)
	} else if len(txns) > 0 {
		d.commitLogged(txns)
	}
	if ro := d.readOnly.Load(); ro != nil {
		answer(want, *ro)
	} else if len(want) > 0 || (d.ov.rev-d.ov.base >= checkpointRevs || d.ov.bytes >= checkpointBytes) && d.checkpointDue() {
		err := d.checkpoint()
		for _, req := range want {
			if err == nil && req.compact > 0 {
				req.reply <- txnResult{err: d.compactTo(req.compact)}
				continue
			}
			req.reply <- txnResult{err: err}
		}
	}
}

// fail logs err and answers every request of a batch with it.
func (d *DB) fail(batch []*txnReq, err error) {
	if errors.Is(err, store.ErrNoSpace) {
		d.logNoSpace(err, len(batch))
	} else {
		d.log.Error("store commit failed", "err", err, "batch", len(batch))
	}
	answer(batch, err)
}

// answer answers every request of a batch with err.
func answer(batch []*txnReq, err error) {
	for _, req := range batch {
		req.reply <- txnResult{err: err}
	}
}

// count adds a group commit of n requests that began at start to Stats;
// it is called before any answer, so that a caller's Stats include its own
// request.
func (d *DB) count(n int, start time.Time) {
	d.commits.Add(1)
	d.txns.Add(uint64(n))
	d.commitNanos.Add(uint64(time.Since(start)))
}
