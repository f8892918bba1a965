package indication

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
)

// Manager runs a worker for every enabled subscription, and follows the
// changes of the subscriptions, filters, destinations and the indication
// service through the change feed.
type Manager struct {
	OM     *cimom.CIMOM
	Store  store.Store // the CIMOM's store, which holds the cursors
	Log    *slog.Logger
	Client *http.Client // default: one without a timeout of its own
	// ExportTimeout bounds one export request (default 30 s).
	ExportTimeout time.Duration
	// Consumers say how CommandLineEventConsumer commands run.
	Consumers ConsumerOptions

	service atomic.Pointer[cimom.IndicationService]
	mu      sync.Mutex
	workers map[string]*running // by subscription key
	wg      sync.WaitGroup
}

// running is a started worker.
type running struct {
	sig    string
	cancel context.CancelFunc
	done   chan struct{}
	// ended is the store's revision once the worker returned by itself
	// (its policy disabled or removed the subscription, or its creator
	// lost the right): a reading of the subscriptions older than that may
	// not show the state the worker wrote, and must not restart it.
	ended int64
}

// settings are the indication service's retry settings of the moment.
func (m *Manager) settings() cimom.IndicationService { return *m.service.Load() }

// Run delivers until ctx ends, then stops every worker (an export in
// flight is abandoned: its event is delivered again after a restart).
func (m *Manager) Run(ctx context.Context) {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	if m.Client == nil {
		m.Client = client
	}
	if m.ExportTimeout <= 0 {
		m.ExportTimeout = 30 * time.Second
	}
	m.service.Store(&cimom.IndicationService{DeliveryRetryAttempts: cimom.DefaultDeliveryRetryAttempts, DeliveryRetryInterval: cimom.DefaultDeliveryRetryInterval})
	m.workers = map[string]*running{}
	defer m.stopAll()
	for ctx.Err() == nil {
		if err := m.follow(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error("indication subscriptions: following their changes failed; reading them again", "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
		}
	}
}

// follow reads the subscriptions, starts and stops workers to match, and
// does it again at every change of the model, until an error.
func (m *Manager) follow(ctx context.Context) error {
	rev, err := m.OM.Rev(ctx)
	if err != nil {
		return err
	}
	if err := m.reconcile(ctx); err != nil {
		return err
	}
	changes, err := m.OM.WatchIndicationModel(ctx, rev)
	if err != nil {
		return err
	}
	for e, err := range changes {
		if err != nil {
			return err
		}
		if e.Progress {
			continue
		}
		if err := m.reconcile(ctx); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// reconcile makes the running workers those of the enabled subscriptions,
// restarting one whose filter, destination, policy or creator changed, and
// deletes the cursors of subscriptions that are gone.
func (m *Manager) reconcile(ctx context.Context) error {
	read, err := m.OM.Rev(ctx) // what follows reads at this revision or later
	if err != nil {
		return err
	}
	subs, svc, err := m.OM.IndicationSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("indication: reading subscriptions: %w", err)
	}
	m.service.Store(&svc)
	bindings, err := m.OM.ConsumerBindings(ctx)
	if err != nil {
		return fmt.Errorf("indication: reading event consumer bindings: %w", err)
	}
	subs = append(subs, bindings...)
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]bool{}
	for i := range subs {
		sub := subs[i]
		if sub.State == cimom.StateDisabled {
			continue
		}
		want[sub.Key] = true
		sig := signature(&sub)
		if r := m.workers[sub.Key]; r != nil {
			select {
			case <-r.done:
				if r.sig == sig && r.ended > read {
					continue // read before the worker's own ending: the next change says
				}
			default:
				if r.sig == sig {
					continue
				}
			}
			m.stop(sub.Key)
		}
		m.start(ctx, sub, sig)
	}
	for key := range m.workers {
		if !want[key] {
			m.stop(key)
		}
	}
	// Cursors of subscriptions that are gone.
	known := map[string]bool{}
	for _, s := range subs {
		known[s.Key] = true
	}
	prefix := cursorKey("")
	var gone []string
	for kv, err := range m.Store.Range(ctx, prefix, store.PrefixEnd(prefix)) {
		if err != nil {
			return fmt.Errorf("indication: reading cursors: %w", err)
		}
		if k := string(kv.Key[len(prefix):]); !known[k] {
			gone = append(gone, k)
		}
	}
	for _, k := range gone {
		if err := deleteCursor(ctx, m.Store, k); err != nil {
			return err
		}
	}
	return nil
}

// signature says what a worker depends on.
func signature(s *cimom.IndicationSubscription) string {
	groups := slices.Clone(s.Creator.Groups)
	slices.Sort(groups)
	var consumer []byte
	if s.Consumer != nil {
		consumer = cim.EncodeInstance(nil, s.Consumer)
	}
	return fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%v\x00%v\x00%x", s.Created, s.Filter.Query, s.Filter.QueryLanguage,
		s.Filter.SourceNamespace, s.Destination, s.Policy, s.Creator.Name, groups, s.Creator.Remote, consumer)
}

// start runs a worker for sub (m.mu held).
func (m *Manager) start(ctx context.Context, sub cimom.IndicationSubscription, sig string) {
	wctx, cancel := context.WithCancel(ctx)
	r := &running{sig: sig, cancel: cancel, done: make(chan struct{})}
	m.workers[sub.Key] = r
	w := &worker{m: m, sub: sub, out: m.consumerFor(&sub), log: m.Log.With("subscription", sub.Path, "destination", sub.Destination), degraded: sub.State == cimom.StateEnabledDegraded}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(r.done)
		w.log.Info("indication delivery started")
		w.run(wctx)
		if wctx.Err() == nil { // it ended by itself: after its own writes
			if rev, err := m.OM.Rev(wctx); err == nil {
				r.ended = rev // (unknown: 0, and the next reading may restart it)
			}
		}
	}()
}

// stop ends a worker and waits for it (m.mu held).
func (m *Manager) stop(key string) {
	r := m.workers[key]
	delete(m.workers, key)
	r.cancel()
	<-r.done
}

func (m *Manager) stopAll() {
	m.mu.Lock()
	for key := range m.workers {
		m.stop(key)
	}
	m.mu.Unlock()
	m.wg.Wait()
}
