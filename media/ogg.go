package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Ogg (RFC 3533) carries the Opus packets of a recording (RFC 7845), the
// form browsers play natively. Pages are written as they fill, so that a
// file cut short by a crash still holds everything up to its last page.

var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(crc uint32, b []byte) uint32 {
	for _, x := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^x]
	}
	return crc
}

const (
	pageContinued = 1
	pageFirst     = 2
	pageLast      = 4
	// packetsPerPage: a page a second of 20 ms packets; at most that much
	// is lost when the process dies.
	packetsPerPage  = 50
	granulePerFrame = 48000 / 50 // Ogg Opus counts 48 kHz samples
)

// oggWriter writes one logical stream of Opus packets.
type oggWriter struct {
	w       io.Writer
	serial  uint32
	seq     uint32
	granule int64
	// The page being filled: its segment table and body.
	segs  []byte
	body  []byte
	count int
	page  []byte
}

// newOggWriter starts a stream of channels: with a mapping (family 1),
// one mono stream per channel; without, one stream (family 0).
func newOggWriter(w io.Writer, serial uint32, channels, preSkip int, mapping []byte) (*oggWriter, error) {
	o := &oggWriter{w: w, serial: serial, segs: make([]byte, 0, 255), body: make([]byte, 0, 64*1024), page: make([]byte, 0, 70*1024)}
	head := make([]byte, 19, 21+len(mapping))
	copy(head, "OpusHead")
	head[8] = 1
	head[9] = byte(channels)
	binary.LittleEndian.PutUint16(head[10:], uint16(preSkip))
	binary.LittleEndian.PutUint32(head[12:], SampleRate)
	if mapping != nil {
		head[18] = 1
		head = append(head, byte(len(mapping)), 0)
		head = append(head, mapping...)
	}
	if err := o.writePage(pageFirst, 0, head); err != nil {
		return nil, err
	}
	vendor := "minyi"
	tags := make([]byte, 0, 8+4+len(vendor)+4)
	tags = append(tags, "OpusTags"...)
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor)))
	tags = append(tags, vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	if err := o.writePage(0, 0, tags); err != nil {
		return nil, err
	}
	return o, nil
}

// writePage writes a page holding exactly one packet (the headers).
func (o *oggWriter) writePage(flags byte, granule int64, packet []byte) error {
	o.segs = o.segs[:0]
	n := len(packet)
	for n >= 255 {
		o.segs = append(o.segs, 255)
		n -= 255
	}
	o.segs = append(o.segs, byte(n))
	o.body = append(o.body[:0], packet...)
	return o.flush(flags, granule)
}

// WritePacket adds an audio packet of one 20 ms frame.
func (o *oggWriter) WritePacket(p []byte) error {
	if len(o.segs)+len(p)/255+1 > 255 {
		if err := o.flush(0, o.granule); err != nil {
			return err
		}
	}
	n := len(p)
	for n >= 255 {
		o.segs = append(o.segs, 255)
		n -= 255
	}
	o.segs = append(o.segs, byte(n))
	o.body = append(o.body, p...)
	o.granule += granulePerFrame
	o.count++
	if o.count >= packetsPerPage {
		return o.flush(0, o.granule)
	}
	return nil
}

// Close writes the last page, marked as the end of the stream.
func (o *oggWriter) Close() error {
	return o.flush(pageLast, o.granule)
}

func (o *oggWriter) flush(flags byte, granule int64) error {
	if len(o.segs) == 0 && flags&pageLast == 0 {
		return nil
	}
	p := append(o.page[:0], "OggS"...)
	p = append(p, 0, flags)
	p = binary.LittleEndian.AppendUint64(p, uint64(granule))
	p = binary.LittleEndian.AppendUint32(p, o.serial)
	p = binary.LittleEndian.AppendUint32(p, o.seq)
	p = append(p, 0, 0, 0, 0) // CRC, filled below
	p = append(p, byte(len(o.segs)))
	p = append(p, o.segs...)
	p = append(p, o.body...)
	binary.LittleEndian.PutUint32(p[22:], oggCRC(0, p))
	o.page = p
	o.seq++
	o.segs, o.body, o.count = o.segs[:0], o.body[:0], 0
	_, err := o.w.Write(p)
	return err
}

// OpusStream is an Ogg Opus stream read back: its header and packets.
type OpusStream struct {
	Channels  int
	InputRate int
	PreSkip   int
	// Family is the channel mapping family; for family 1, Streams,
	// Coupled and Mapping say how channels are coded.
	Family           int
	Streams, Coupled int
	Mapping          []byte
	Packets          [][]byte
	Truncated        bool // the stream has no last page (its writer stopped early)
}

// ReadOggOpus reads an Ogg Opus stream whole, checking each page's CRC.
func ReadOggOpus(r io.Reader) (*OpusStream, error) {
	br := bufio.NewReader(r)
	s := &OpusStream{Truncated: true}
	var pending []byte
	var packets [][]byte
	hdr := make([]byte, 27)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break // a page cut short by a crash: keep what came before
			}
			return nil, err
		}
		if string(hdr[:4]) != "OggS" {
			return nil, fmt.Errorf("media: not an Ogg page")
		}
		nseg := int(hdr[26])
		segs := make([]byte, nseg)
		if _, err := io.ReadFull(br, segs); err != nil {
			break
		}
		size := 0
		for _, x := range segs {
			size += int(x)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(br, body); err != nil {
			break
		}
		want := binary.LittleEndian.Uint32(hdr[22:])
		binary.LittleEndian.PutUint32(hdr[22:], 0)
		crc := oggCRC(oggCRC(oggCRC(0, hdr), segs), body)
		if crc != want {
			return nil, fmt.Errorf("media: Ogg page %d: bad checksum", binary.LittleEndian.Uint32(hdr[18:]))
		}
		off := 0
		for _, x := range segs {
			pending = append(pending, body[off:off+int(x)]...)
			off += int(x)
			if x < 255 {
				packets = append(packets, pending)
				pending = nil
			}
		}
		if hdr[5]&pageLast != 0 {
			s.Truncated = false
		}
	}
	if len(packets) < 2 || len(packets[0]) < 19 || string(packets[0][:8]) != "OpusHead" || string(packets[1][:8]) != "OpusTags" {
		return nil, fmt.Errorf("media: not an Ogg Opus stream")
	}
	h := packets[0]
	s.Channels = int(h[9])
	s.PreSkip = int(binary.LittleEndian.Uint16(h[10:]))
	s.InputRate = int(binary.LittleEndian.Uint32(h[12:]))
	s.Family = int(h[18])
	s.Streams, s.Coupled, s.Mapping = 1, s.Channels-1, []byte{0, 1}[:s.Channels]
	if s.Family != 0 {
		if len(h) < 21+s.Channels {
			return nil, fmt.Errorf("media: bad OpusHead")
		}
		s.Streams, s.Coupled, s.Mapping = int(h[19]), int(h[20]), h[21:21+s.Channels]
	}
	s.Packets = packets[2:]
	return s, nil
}

// DecodePCM decodes the stream to interleaved 8 kHz samples.
func (s *OpusStream) DecodePCM() ([]int16, error) {
	d, err := newMSDecoder(s.Channels, s.Streams, s.Coupled, s.Mapping)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out := make([]int16, 0, len(s.Packets)*FrameSamples*s.Channels)
	buf := make([]int16, 120*SampleRate/1000*s.Channels) // the longest Opus frame, 120 ms
	for _, p := range s.Packets {
		if len(p) == 0 {
			continue
		}
		n, err := d.Decode(p, buf)
		if err != nil {
			return nil, err
		}
		out = append(out, buf[:n*s.Channels]...)
	}
	return out, nil
}
