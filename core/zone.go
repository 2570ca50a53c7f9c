package core

import "time"

// Shanghai is the poll's time zone (Beijing time): calling hours,
// appointments, day parts and cron schedules are local times.
var Shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// No tzdata on the machine: China has kept UTC+8 without daylight
		// saving since 1991, so the fixed zone gives the same times.
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()
