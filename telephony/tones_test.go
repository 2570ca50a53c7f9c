package telephony

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
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
