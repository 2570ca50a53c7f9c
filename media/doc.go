// Package media is the media plane of Minyi's calls: it relays the audio
// of two call legs to each other (G.711, one goroutine per direction, no
// allocation per packet), records both directions as one stereo Ogg Opus
// file (interviewer left, respondent right) and lets supervisors listen in
// on a receive-only copy. It knows packets and samples, never SIP: a leg
// is anything that reads and writes RTP, so that a browser's WebRTC leg
// can later stand where a SIP phone's leg stands now.
package media
