package etcd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"

	"github.com/wbemd/wbemd/store"
)

// dumpMagic opens every dump.
const dumpMagic = "wbemd dump 1\n"

// maxDumpValue bounds one value of a dump (far above what wbemd writes),
// so that a corrupt length cannot make a reader wait for gigabytes.
const maxDumpValue = 256 << 20

// ErrBadDump is wrapped by ReadDump's errors for input that is not a whole,
// intact dump.
var ErrBadDump = errors.New("not an intact wbemd dump")

// dumpWriter writes a dump.
type dumpWriter struct {
	w   *bufio.Writer
	sum hash.Hash
	n   uint64
	buf [binary.MaxVarintLen64]byte
	err error
}

func newDumpWriter(w io.Writer, rev int64) *dumpWriter {
	d := &dumpWriter{w: bufio.NewWriterSize(w, 1<<16), sum: sha256.New()}
	d.write([]byte(dumpMagic))
	d.uvarint(uint64(rev))
	return d
}

func (d *dumpWriter) write(b []byte) {
	if d.err == nil {
		d.sum.Write(b)
		_, d.err = d.w.Write(b)
	}
}

func (d *dumpWriter) uvarint(v uint64) { d.write(d.buf[:binary.PutUvarint(d.buf[:], v)]) }

func (d *dumpWriter) record(kv store.KV) {
	d.uvarint(uint64(len(kv.Key)))
	d.write(kv.Key)
	d.uvarint(uint64(len(kv.Value)))
	d.write(kv.Value)
	d.uvarint(uint64(kv.ModRev))
	d.n++
}

// finish writes the end mark, the count and the checksum, and flushes.
func (d *dumpWriter) finish() error {
	d.uvarint(0)
	d.uvarint(d.n)
	if d.err == nil {
		_, d.err = d.w.Write(d.sum.Sum(nil))
	}
	if d.err == nil {
		d.err = d.w.Flush()
	}
	return d.err
}

// ReadDump reads a dump, the format Backup writes, which is the same for
// every engine:
//
//	"wbemd dump 1\n"
//	uvarint   the store revision the dump is a snapshot of
//	records, in ascending key order, each:
//	  uvarint key length (at least 1), the key,
//	  uvarint value length, the value,
//	  uvarint the key's ModRev when dumped
//	uvarint   0 (the end of the records)
//	uvarint   the number of records
//	32 bytes  SHA-256 of every byte before them
//
// It returns the revision and an iterator over the records; the iterator
// checks the end mark, the count and the checksum after the last record
// and yields an error wrapping ErrBadDump if one is wrong (so a consumer
// must not commit what it read before the iteration ends without error).
// The KV slices are the reader's own: they stay valid.
func ReadDump(r io.Reader) (int64, iter.Seq2[store.KV, error], error) {
	d := &dumpReader{r: bufio.NewReaderSize(r, 1<<16), sum: sha256.New()}
	magic := make([]byte, len(dumpMagic))
	if err := d.full(magic); err != nil || string(magic) != dumpMagic {
		return 0, nil, fmt.Errorf("%w: no dump header", ErrBadDump)
	}
	rev, err := d.uvarint("revision")
	if err != nil {
		return 0, nil, err
	}
	if rev > 1<<62 {
		return 0, nil, fmt.Errorf("%w: revision %d", ErrBadDump, rev)
	}
	return int64(rev), d.records, nil
}

type dumpReader struct {
	r   *bufio.Reader
	sum hash.Hash
	off int64
}

func (d *dumpReader) bad(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrBadDump, d.off, fmt.Sprintf(format, args...))
}

func (d *dumpReader) full(b []byte) error {
	n, err := io.ReadFull(d.r, b)
	d.sum.Write(b[:n])
	d.off += int64(n)
	return err
}

func (d *dumpReader) uvarint(what string) (uint64, error) {
	var buf []byte
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := d.r.ReadByte()
		if err != nil {
			return 0, d.bad("%s: %v", what, io.ErrUnexpectedEOF)
		}
		buf = append(buf, c)
		if c < 0x80 {
			d.sum.Write(buf)
			d.off += int64(len(buf))
			v, n := binary.Uvarint(buf)
			if n <= 0 {
				return 0, d.bad("%s: bad number", what)
			}
			return v, nil
		}
	}
	return 0, d.bad("%s: number too long", what)
}

// bytes reads n bytes, growing its buffer only as they arrive.
func (d *dumpReader) bytes(what string, n uint64, limit int) ([]byte, error) {
	if n > uint64(limit) {
		return nil, d.bad("%s of %d bytes, limit %d", what, n, limit)
	}
	var b bytes.Buffer
	m, err := io.CopyN(&b, d.r, int64(n))
	d.sum.Write(b.Bytes())
	d.off += m
	if err != nil {
		return nil, d.bad("%s: %v", what, io.ErrUnexpectedEOF)
	}
	return b.Bytes(), nil
}

func (d *dumpReader) records(yield func(store.KV, error) bool) {
	fail := func(err error) { yield(store.KV{}, err) }
	var count uint64
	var last []byte
	for {
		klen, err := d.uvarint("key length")
		if err != nil {
			fail(err)
			return
		}
		if klen == 0 {
			break
		}
		key, err := d.bytes("key", klen, MaxKeyBytes)
		if err != nil {
			fail(err)
			return
		}
		if last != nil && bytes.Compare(key, last) <= 0 {
			fail(d.bad("key %q is not after %q", key, last))
			return
		}
		vlen, err := d.uvarint("value length")
		if err != nil {
			fail(err)
			return
		}
		val, err := d.bytes("value", vlen, maxDumpValue)
		if err != nil {
			fail(err)
			return
		}
		modRev, err := d.uvarint("ModRev")
		if err != nil {
			fail(err)
			return
		}
		if modRev == 0 || modRev > 1<<62 {
			fail(d.bad("ModRev %d of key %q", modRev, key))
			return
		}
		count++
		last = key
		if !yield(store.KV{Key: key, Value: val, ModRev: int64(modRev)}, nil) {
			return
		}
	}
	n, err := d.uvarint("record count")
	if err != nil {
		fail(err)
		return
	}
	if n != count {
		fail(d.bad("the dump says %d records, it holds %d", n, count))
		return
	}
	want := d.sum.Sum(nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(d.r, got); err != nil {
		fail(d.bad("checksum: %v", io.ErrUnexpectedEOF))
		return
	}
	if !bytes.Equal(got, want) {
		fail(d.bad("checksum mismatch"))
		return
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		fail(d.bad("data after the checksum"))
	}
}
