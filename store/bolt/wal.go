package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/wbemd/wbemd/store"
)

// The write-ahead log holds the transactions committed since the last
// checkpoint, so that a group commit costs one write and one data sync of
// the log instead of a bbolt commit (two syncs and a page write per touched
// B+tree page). A checkpoint applies them to the B+tree in one bbolt
// commit, then empties the log.
//
// The file is a sequence of records, one per group commit:
//
//	length   uint32, big-endian: bytes of the body
//	checksum uint32, big-endian: CRC-32C of the body
//	body     first revision (uint64), revision count (uvarint), then per
//	         revision its event count (uvarint) and events (encodeEvent,
//	         without PrevValue)
//
// A group commit is acknowledged only after its record and every record
// before it are on disk, so only the last record can be incomplete after a
// crash; replay stops at the first record that is short, fails its
// checksum or does not continue the revisions.
//
// Records are written over space already written (zeros the first time,
// old records after a checkpoint; the file grows by logGrowth of zeros
// when a record needs room), so
// that a record's data sync need not also commit a new file size or a
// block allocation to the file system's journal (on ext4 here, 164 µs
// against 240 µs, median of 300). Old records left after the new ones
// are recognised at replay: their revisions are not newer than the
// B+tree's, or do not continue the new ones.
type wal struct {
	f         *os.File
	size      int64 // bytes of the current records
	alloc     int64 // bytes written to the file: records, then old records or zeros
	sync      bool
	buf       []byte
	failPoint func(point string) error // see Options.FailPoint
}

// logGrowth is how much the log file grows by when a record needs room.
const logGrowth = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func openWAL(path string, sync bool, failPoint func(string) error) (*wal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bolt: open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("bolt: open log: %w", err)
	}
	if failPoint == nil {
		failPoint = func(string) error { return nil }
	}
	return &wal{f: f, sync: sync, alloc: fi.Size(), failPoint: failPoint}, nil
}

// logRev is one revision's events as the log holds them.
type logRev struct {
	rev    int64
	events []store.Event
}

// append writes one record holding the events of revisions first,
// first+1, ... (one slice each, possibly empty) and, unless the store runs
// without syncs, waits until it is on disk. After an error the record may
// be on disk whole, in part or not at all: the caller stops writing (see
// DB.stop).
func (w *wal) append(first int64, revs [][]store.Event) error {
	b := append(w.buf[:0], make([]byte, 8)...)
	b = binary.BigEndian.AppendUint64(b, uint64(first))
	b = binary.AppendUvarint(b, uint64(len(revs)))
	for _, evs := range revs {
		b = binary.AppendUvarint(b, uint64(len(evs)))
		for _, ev := range evs {
			ev.PrevValue = nil
			b = appendEvent(b, ev)
		}
	}
	body := b[8:]
	binary.BigEndian.PutUint32(b[0:4], uint32(len(body)))
	binary.BigEndian.PutUint32(b[4:8], crc32.Checksum(body, castagnoli))
	if cap(b) <= 1<<20 {
		w.buf = b
	}
	if end := w.size + int64(len(b)); end > w.alloc {
		if err := w.grow(end); err != nil {
			return err
		}
	}
	if err := w.failPoint(FailLogWrite); err != nil {
		if isNoSpace(err) {
			return noSpace("write log", err)
		}
		return fmt.Errorf("bolt: write log: %w", err)
	}
	if _, err := w.f.WriteAt(b, w.size); err != nil {
		if isNoSpace(err) { // a partial record at w.size: never acknowledged, overwritten by the next
			return noSpace("write log", err)
		}
		return fmt.Errorf("bolt: write log: %w", err)
	}
	if w.sync {
		err := w.failPoint(FailLogSync)
		if err == nil {
			err = datasync(w.f)
		}
		if err != nil {
			return fmt.Errorf("bolt: sync log: %w", err)
		}
	}
	w.size += int64(len(b))
	return nil
}

// grow writes zeros past the log's allocation so that it reaches end: to
// the next multiple of logGrowth, or, when the disk has no room for that,
// to the next 4 KiB only. A step that fails gives its space back (the file
// is cut to its allocation), so that failed attempts do not eat the space
// freed for the next one; lack of space is an error wrapping
// store.ErrNoSpace.
func (w *wal) grow(end int64) error {
	var err error
	for _, step := range []int64{logGrowth, 4096} {
		grown := (end + step - 1) / step * step
		err = w.failPoint(FailLogGrow)
		if err == nil {
			_, err = w.f.WriteAt(make([]byte, grown-w.alloc), w.alloc)
		}
		if err == nil {
			w.alloc = grown
			return nil
		}
		if !isNoSpace(err) {
			return fmt.Errorf("bolt: grow log: %w", err)
		}
		w.f.Truncate(w.alloc)
	}
	return noSpace("grow log", err)
}

// reset empties the log once a checkpoint has made its records redundant:
// the next record is written at the start. Nothing need reach the disk:
// replay skips the records the B+tree already holds.
func (w *wal) reset() { w.size = 0 }

// close closes the file; after a final checkpoint (clean) it first
// truncates it, so that the next open has nothing to read.
func (w *wal) close(clean bool) error {
	if clean {
		if err := w.f.Truncate(0); err != nil {
			w.f.Close()
			return fmt.Errorf("bolt: empty log: %w", err)
		}
	}
	return w.f.Close()
}

// errLogEnd marks the end of the usable records.
var errLogEnd = errors.New("end of log")

// readAll returns the log's revisions after rev (the B+tree's), in order,
// and the offset just past the last record it returns (0 if none).
// Records at or below rev are skipped; the first record that is
// incomplete, corrupt or not the next revisions ends the log.
func (w *wal) readAll(after int64) ([]logRev, int64, error) {
	data, err := io.ReadAll(io.NewSectionReader(w.f, 0, 1<<62))
	if err != nil {
		return nil, 0, fmt.Errorf("bolt: read log: %w", err)
	}
	var end int64
	var out []logRev
	next := after + 1
	off := 0
	for off < len(data) {
		revs, n, err := decodeLogRecord(data[off:])
		if err != nil {
			break
		}
		if revs[len(revs)-1].rev > after {
			if revs[0].rev != next {
				break // does not continue the revisions: not this store's
			}
			out = append(out, revs...)
			next = revs[len(revs)-1].rev + 1
			end = int64(off + n)
		}
		off += n
	}
	return out, end, nil
}

// decodeLogRecord decodes the record at the start of b and returns its
// revisions and its size.
func decodeLogRecord(b []byte) ([]logRev, int, error) {
	if len(b) < 8 {
		return nil, 0, errLogEnd
	}
	n := binary.BigEndian.Uint32(b[0:4])
	if int64(n) > int64(len(b)-8) {
		return nil, 0, errLogEnd
	}
	body := b[8 : 8+n]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[4:8]) {
		return nil, 0, errLogEnd
	}
	bad := fmt.Errorf("bolt: malformed log record: %w", errLogEnd)
	if len(body) < 8 {
		return nil, 0, bad
	}
	first := int64(binary.BigEndian.Uint64(body))
	count, k := binary.Uvarint(body[8:])
	if k <= 0 || count == 0 || count > uint64(len(body)) || first <= 0 {
		return nil, 0, bad
	}
	revs := make([]logRev, 0, count)
	rest := body[8+k:]
	for i := uint64(0); i < count; i++ {
		ne, k := binary.Uvarint(rest)
		if k <= 0 || ne > uint64(len(rest)) {
			return nil, 0, bad
		}
		rest = rest[k:]
		lr := logRev{rev: first + int64(i), events: make([]store.Event, 0, ne)}
		for j := uint64(0); j < ne; j++ {
			size, k := binary.Uvarint(rest)
			if k <= 0 || size > uint64(len(rest)-k) {
				return nil, 0, bad
			}
			ev, err := decodeEvent(lr.rev, rest[k:k+int(size)])
			if err != nil {
				return nil, 0, bad
			}
			lr.events = append(lr.events, ev)
			rest = rest[k+int(size):]
		}
		revs = append(revs, lr)
	}
	if len(rest) != 0 {
		return nil, 0, bad
	}
	return revs, 8 + int(n), nil
}
