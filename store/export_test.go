package store

// DieBeforeFanOut makes s a writer that is killed right after each write's MULTI, before it
// applies the timeline job the MULTI recorded.
func DieBeforeFanOut(s *Store) { s.leaveTimelineJobs = true }

// TimelineJobGrace is how long a recorded timeline job is left to its writer.
const TimelineJobGrace = timelineJobGrace
