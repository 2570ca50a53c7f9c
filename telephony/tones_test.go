package telephony

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"testing"

	"minyi/media"
)

func itoa(n int) string { return strconv.Itoa(n) }

// readStereoWAV reads the interleaved samples of a 16-bit stereo WAV.
func readStereoWAV(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 44 || binary.LittleEndian.Uint16(b[22:]) != 2 {
		return nil, fmt.Errorf("%s: not a stereo WAV", path)
	}
	data := b[44:]
	pcm := make([]int16, len(data)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return pcm, nil
}

// checkChannels checks by Goertzel that each channel of stereo samples
// carries its own tone, far above the other's.
func checkChannels(t *testing.T, pcm []int16, left, right float64) {
	t.Helper()
	for ch, want := range []float64{left, right} {
		other := left + right - want
		c := media.Channel(pcm, ch)
		pw, po := media.Goertzel(c, want), media.Goertzel(c, other)
		t.Logf("channel %d: %.0f Hz %.3g, %.0f Hz %.3g (%d samples)", ch, want, pw, other, po, len(c))
		if pw < 1e5 || pw < 100*po {
			t.Errorf("channel %d does not carry %.0f Hz: its power %.3g, %.0f Hz %.3g", ch, want, pw, other, po)
		}
	}
}
