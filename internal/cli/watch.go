package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
)

// exitRevisionGone is wbem watch's exit status when the revision it
// should resume from is no longer held (WBEM_E_QUEUE_OVERFLOW).
const exitRevisionGone = 4

func (a *app) watchCommand() *cobra.Command {
	var from string
	var heartbeat time.Duration
	var count int
	c := &cobra.Command{
		Use:   "watch 'EVENT QUERY'",
		Short: "Stream the events of an event query (WQL), each with its revision",
		Long: `Stream the events an event query selects in the namespace of -n, for example
  wbem watch "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Disk'"
Each event is printed with its id, REVISION.INDEX (table), or as one JSON object per
line (-o json): {"id", "revision", "event", "object"}. While no event comes, a heartbeat
says up to which revision everything was delivered (table: a "#" line on stderr; json:
{"event":"progress","revision":N}). --from REV (or an id, REV.INDEX) resumes after it:
exactly the events that followed are replayed, then the stream goes on live. When the
server no longer holds that revision wbem watch fails with WBEM_E_QUEUE_OVERFLOW, names
the oldest revision held, and exits with status 4. --count N stops after N events.`,
		Args: args(1, 1, "one event query (quote it)"),
		RunE: func(cmd *cobra.Command, as []string) error {
			switch a.output {
			case "table", "json":
			default:
				return usagef("watch: unknown output format %q (want table or json)", a.output)
			}
			if from != "" {
				if _, err := strconv.ParseFloat(from, 64); err != nil || strings.HasPrefix(from, "-") {
					return usagef("watch --from %s: want a revision (120) or an event id (120.3)", from)
				}
			}
			ctx := cmd.Context()
			svc, err := a.connect(ctx, a.namespace, localPrincipal())
			if err != nil {
				return err
			}
			msgs, err := a.watchStream(ctx, svc, as[0], from, heartbeat)
			if err != nil {
				return err
			}
			return a.printWatch(ctx, msgs, count)
		},
	}
	c.Flags().StringVar(&from, "from", "", "resume after this revision (or event id REV.INDEX)")
	c.Flags().DurationVar(&heartbeat, "heartbeat", 15*time.Second, "heartbeat interval while no event comes")
	c.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until interrupted)")
	return c
}

// watchStream opens the event stream: the server's (through the socket or
// --url), or, on a repository opened in process, ExecNotificationQuery's
// events encoded as the server encodes them.
func (a *app) watchStream(ctx context.Context, svc cimom.Services, query, from string, heartbeat time.Duration) (iter.Seq2[client.StreamEvent, error], error) {
	if cl, ok := svc.(*client.Client); ok {
		return cl.Events(ctx, query, client.StreamOptions{From: from, Heartbeat: heartbeat})
	}
	rev, seen := int64(0), func(*cimom.Event) bool { return false }
	if from != "" {
		var err error
		if rev, seen, err = cimom.ResumeAfter(from); err != nil {
			return nil, err
		}
	}
	seq, err := svc.ExecNotificationQuery(ctx, "WQL", query, cimom.NotificationOptions{From: rev, Progress: heartbeat})
	if err != nil {
		return nil, err
	}
	return func(yield func(client.StreamEvent, error) bool) {
		for ev, err := range seq {
			var m client.StreamEvent
			switch {
			case err != nil:
			case ev.Progress:
				m = client.StreamEvent{ID: ev.ID(), Event: "progress", Data: fmt.Appendf(nil, `{"revision":%d}`, ev.Rev)}
			case seen(&ev):
				continue
			default:
				m = client.StreamEvent{ID: ev.ID(), Event: ev.Class, Data: cimjson.Encode(ev.Object(), false)}
			}
			if !yield(m, err) {
				return
			}
		}
	}, nil
}

// printWatch prints the stream until it ends, ctx ends, or count events.
func (a *app) printWatch(ctx context.Context, msgs iter.Seq2[client.StreamEvent, error], count int) error {
	n := 0
	var line bytes.Buffer
	for m, err := range msgs {
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted
			}
			var gone *cimom.CompactedError
			if cim.StatusOf(err) == cim.EQueueOverflow {
				msg := errorText(cim.AsError(err))
				if errors.As(err, &gone) {
					msg += fmt.Sprintf(" (oldest revision held: %d; resume with --from %d after reading the current state)", gone.Oldest, gone.Oldest-1)
				}
				return &exitError{code: exitRevisionGone, msg: msg}
			}
			return err
		}
		line.Reset()
		if m.Event == "progress" {
			if a.output == "json" {
				fmt.Fprintf(&line, `{"event":"progress","revision":%d}`+"\n", m.Rev())
				a.stdout.Write(line.Bytes())
			} else {
				fmt.Fprintf(a.stderr, "# %s idle: every event up to revision %d delivered\n", time.Now().Format("15:04:05"), m.Rev())
			}
			continue
		}
		if a.output == "json" {
			line.WriteString(`{"id":"`)
			line.WriteString(m.ID)
			line.WriteString(`","revision":`)
			line.WriteString(strconv.FormatInt(m.Rev(), 10))
			line.WriteString(`,"event":`)
			ev, _ := json.Marshal(m.Event)
			line.Write(ev)
			line.WriteString(`,"object":`)
			line.Write(m.Data)
			line.WriteString("}\n")
		} else {
			fmt.Fprintf(&line, "%-10s %-28s %s\n", m.ID, m.Event, eventSubject(m.Data))
		}
		if _, err := a.stdout.Write(line.Bytes()); err != nil {
			return &runError{err}
		}
		n++
		if count > 0 && n >= count {
			return nil
		}
	}
	return nil
}

// eventSubject names what an event (as JSON) is about: the relative path
// of its target (instance, class or namespace); for an aggregate, the
// count; for a timer event, its timer; for a dropped event, the consumer
// and the revisions lost.
func eventSubject(data []byte) string {
	var ev map[string]json.RawMessage
	if json.Unmarshal(data, &ev) != nil {
		return ""
	}
	if n, ok := ev["NumberOfEvents"]; ok {
		var rep map[string]json.RawMessage
		json.Unmarshal(ev["Representative"], &rep)
		return fmt.Sprintf("%s events, first: %s", n, subjectOf(rep))
	}
	if id, ok := ev["TimerId"]; ok {
		return fmt.Sprintf("TimerId %s NumFirings %s", id, ev["NumFirings"])
	}
	if c, ok := ev["IntendedConsumer"]; ok {
		return fmt.Sprintf("consumer %s: events after revision %s up to %s lost", c, ev["LostAfterRevision"], ev["ResumedAfterRevision"])
	}
	return subjectOf(ev)
}

func subjectOf(ev map[string]json.RawMessage) string {
	for _, name := range []string{"TargetInstance", "SourceInstance", "TargetClass", "TargetNamespace"} {
		raw := ev[name]
		var target map[string]json.RawMessage
		if json.Unmarshal(raw, &target) != nil || target == nil {
			continue
		}
		var class string
		json.Unmarshal(target["__CLASS"], &class)
		delete(target, "__CLASS")
		rest, _ := json.Marshal(target) // sorted by name
		text := class + " " + string(rest)
		if len(text) > 120 {
			text = text[:117] + "..."
		}
		return text
	}
	return ""
}
