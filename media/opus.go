package media

/*
#cgo pkg-config: opus
#include <opus_multistream.h>

static int ms_set_int(OpusMSEncoder *st, int req, opus_int32 v) {
	switch (req) {
	case 0: return opus_multistream_encoder_ctl(st, OPUS_SET_BITRATE(v));
	case 1: return opus_multistream_encoder_ctl(st, OPUS_SET_COMPLEXITY(v));
	case 3: return opus_multistream_encoder_ctl(st, OPUS_SET_SIGNAL(v));
	}
	return OPUS_BAD_ARG;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Recordings are Opus (RFC 6716) at the telephone's own rate: G.711 carries
// 8 kHz narrowband speech, so nothing above 4 kHz is lost by encoding at
// 8 kHz, and Opus's speech mode keeps two channels of it in a small
// fraction of G.711's 64 kbit/s each.
const (
	SampleRate   = 8000
	FrameSamples = SampleRate / 50 // 20 ms, one RTP packet of G.711
	// RecordBitrate is the recording's bit rate, both channels together:
	// at most 180 KB a stereo minute (less: the rate is variable), under
	// the 240 KB target, 12 kbit/s for each channel's narrowband speech
	// (media's tests check the size and that the channels stay apart).
	RecordBitrate = 24000
)

// The recording is two mono Opus streams in one (RFC 7845 channel mapping
// family 1, no coupled stream): coupled stereo codes the two channels
// jointly, and at speech rates lets each channel's sound leak into the
// other; two streams keep the interviewer and the respondent apart
// entirely.
var recordingMapping = []byte{0, 1}

// DualMonoEncoder encodes 20 ms frames of two channels as two mono
// streams.
type DualMonoEncoder struct {
	st *C.OpusMSEncoder
}

// NewDualMonoEncoder makes an encoder of two separate channels at bitrate
// (both together).
func NewDualMonoEncoder(bitrate int) (*DualMonoEncoder, error) {
	var cerr C.int
	st := C.opus_multistream_encoder_create(C.opus_int32(SampleRate), 2, 2, 0,
		(*C.uchar)(unsafe.Pointer(&recordingMapping[0])), C.OPUS_APPLICATION_VOIP, &cerr)
	if cerr != C.OPUS_OK {
		return nil, fmt.Errorf("media: opus encoder: %s", C.GoString(C.opus_strerror(cerr)))
	}
	e := &DualMonoEncoder{st: st}
	for _, s := range [][2]int{{0, bitrate}, {1, 5}, {3, int(C.OPUS_SIGNAL_VOICE)}} {
		if rc := C.ms_set_int(st, C.int(s[0]), C.opus_int32(s[1])); rc != C.OPUS_OK {
			e.Close()
			return nil, fmt.Errorf("media: opus setting %d: %s", s[0], C.GoString(C.opus_strerror(rc)))
		}
	}
	return e, nil
}

// Encode encodes one frame of interleaved samples into out.
func (e *DualMonoEncoder) Encode(pcm []int16, out []byte) (int, error) {
	if len(pcm) != 2*FrameSamples {
		return 0, fmt.Errorf("media: opus frame of %d samples, want %d", len(pcm), 2*FrameSamples)
	}
	n := C.opus_multistream_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(FrameSamples),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(len(out)))
	if n < 0 {
		return 0, fmt.Errorf("media: opus encode: %s", C.GoString(C.opus_strerror(n)))
	}
	return int(n), nil
}

// Close frees the encoder.
func (e *DualMonoEncoder) Close() {
	if e.st != nil {
		C.opus_multistream_encoder_destroy(e.st)
		e.st = nil
	}
}

// msDecoder decodes a multistream recording back to interleaved PCM.
type msDecoder struct {
	st       *C.OpusMSDecoder
	channels int
}

func newMSDecoder(channels, streams, coupled int, mapping []byte) (*msDecoder, error) {
	var cerr C.int
	st := C.opus_multistream_decoder_create(C.opus_int32(SampleRate), C.int(channels), C.int(streams), C.int(coupled),
		(*C.uchar)(unsafe.Pointer(&mapping[0])), &cerr)
	if cerr != C.OPUS_OK {
		return nil, fmt.Errorf("media: opus decoder: %s", C.GoString(C.opus_strerror(cerr)))
	}
	return &msDecoder{st: st, channels: channels}, nil
}

func (d *msDecoder) Decode(packet []byte, pcm []int16) (int, error) {
	n := C.opus_multistream_decode(d.st, (*C.uchar)(unsafe.Pointer(&packet[0])), C.opus_int32(len(packet)),
		(*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/d.channels), 0)
	if n < 0 {
		return 0, fmt.Errorf("media: opus decode: %s", C.GoString(C.opus_strerror(n)))
	}
	return int(n), nil
}

func (d *msDecoder) Close() {
	if d.st != nil {
		C.opus_multistream_decoder_destroy(d.st)
		d.st = nil
	}
}
