package media

import "math"

const pi = math.Pi

func sin(x float64) float64 { return math.Sin(x) }

// Goertzel is the power of one frequency in 8 kHz samples, normalised by
// their length: comparing it across frequencies says which tone a channel
// carries.
func Goertzel(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return p / float64(len(pcm)) / float64(len(pcm))
}

// Channel is one channel of interleaved stereo samples.
func Channel(stereo []int16, ch int) []int16 {
	out := make([]int16, 0, len(stereo)/2)
	for i := ch; i < len(stereo); i += 2 {
		out = append(out, stereo[i])
	}
	return out
}
