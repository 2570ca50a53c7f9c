package media

import "github.com/zaf/g711"

// G.711 payload types (RFC 3551): the codecs both legs of a call speak.
const (
	PCMU = 0
	PCMA = 8
)

var (
	ulawPCM, alawPCM [256]int16
	ulawToAlaw       [256]byte
	alawToUlaw       [256]byte
)

func init() {
	for i := range 256 {
		ulawPCM[i] = g711.DecodeUlawFrame(uint8(i))
		alawPCM[i] = g711.DecodeAlawFrame(uint8(i))
		ulawToAlaw[i] = g711.Ulaw2AlawFrame(uint8(i))
		alawToUlaw[i] = g711.Alaw2UlawFrame(uint8(i))
	}
}

// decodeG711 decodes a payload into pcm (which must be long enough) and
// returns the samples.
func decodeG711(pt uint8, payload []byte, pcm []int16) int {
	table := &ulawPCM
	if pt == PCMA {
		table = &alawPCM
	}
	n := min(len(payload), len(pcm))
	for i := range n {
		pcm[i] = table[payload[i]]
	}
	return n
}

// transcodeG711 turns a payload from one G.711 law into the other, in
// place: a sample-by-sample table, no filtering, no delay.
func transcodeG711(from, to uint8, payload []byte) {
	if from == to {
		return
	}
	table := &ulawToAlaw
	if from == PCMA {
		table = &alawToUlaw
	}
	for i, b := range payload {
		payload[i] = table[b]
	}
}

// encodeG711 encodes samples into out.
func encodeG711(pt uint8, pcm []int16, out []byte) int {
	n := min(len(pcm), len(out))
	for i := range n {
		if pt == PCMA {
			out[i] = g711.EncodeAlawFrame(pcm[i])
		} else {
			out[i] = g711.EncodeUlawFrame(pcm[i])
		}
	}
	return n
}
