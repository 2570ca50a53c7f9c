package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// ReadWAV reads a WAV file of 16-bit PCM at 8 kHz (a prompt, or the audio
// of a test call) and returns its samples, mixed down to mono.
func ReadWAV(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%s：不是 WAV 文件 / not a WAV file", path)
	}
	var channels, bits, format int
	var rate int
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(len(b), off+8+size)]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, fmt.Errorf("%s: bad fmt chunk", path)
			}
			format = int(binary.LittleEndian.Uint16(body[0:]))
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if format != 1 || bits != 16 || rate != SampleRate || channels < 1 {
				return nil, fmt.Errorf("%s：须为 8000 Hz 16 位 PCM / must be 16-bit PCM at 8000 Hz (is format %d, %d bits, %d Hz)", path, format, bits, rate)
			}
			n := len(body) / 2 / channels
			out := make([]int16, n)
			for i := range n {
				sum := 0
				for c := range channels {
					sum += int(int16(binary.LittleEndian.Uint16(body[2*(i*channels+c):])))
				}
				out[i] = int16(sum / channels)
			}
			return out, nil
		}
		off += 8 + size + size&1
	}
	return nil, fmt.Errorf("%s: WAV 文件没有音频数据 / the WAV file has no data", path)
}

// WriteWAV writes interleaved 16-bit PCM at 8 kHz.
func WriteWAV(w io.Writer, channels int, pcm []int16) error {
	data := 2 * len(pcm)
	h := make([]byte, 0, 44+data)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(36+data))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, uint16(channels))
	h = binary.LittleEndian.AppendUint32(h, SampleRate)
	h = binary.LittleEndian.AppendUint32(h, uint32(SampleRate*2*channels))
	h = binary.LittleEndian.AppendUint16(h, uint16(2*channels))
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(data))
	for _, s := range pcm {
		h = binary.LittleEndian.AppendUint16(h, uint16(s))
	}
	_, err := w.Write(h)
	return err
}

// Tone is a sine of freq Hz for the duration, at amplitude amp: the test
// signals of phones and carriers.
func Tone(freq float64, seconds float64, amp float64) []int16 {
	n := int(seconds * SampleRate)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * sin(2*pi*freq*float64(i)/SampleRate))
	}
	return out
}
