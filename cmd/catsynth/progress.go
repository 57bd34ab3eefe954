package main

import (
	"fmt"
	"io"
	"time"

	"catsynth/models"

	"github.com/schollz/progressbar/v3"
)

// newProgressBar is the progress bar of every long command: count, rate,
// time left, redrawn at most ten times a second on w (stderr, so that
// stdout stays clean for results).
func newProgressBar(w io.Writer, total int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond))
}

// finishBar fills the bar when the work completed, and leaves it where it
// stopped when it ended early (an error, or Ctrl-C).
func finishBar(bar *progressbar.ProgressBar, err error) {
	if err != nil {
		_ = bar.Exit()
		return
	}
	_ = bar.Finish()
}

// countProgress adapts a (done, total) callback to a bar created on first
// use; small jobs (under minTotal items) show none.
func countProgress(w io.Writer, what string, minTotal int) func(done, total int) {
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if total < minTotal {
			return
		}
		if bar == nil {
			bar = newProgressBar(w, total, what)
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
			_, _ = io.WriteString(w, "\n")
		}
	}
}

// loopProgress shows a training loop's speed, ETA and losses on bar.
func loopProgress(bar *progressbar.ProgressBar) func(models.StepProgress) {
	return func(p models.StepProgress) {
		bar.Describe(fmt.Sprintf("%.2f img/s ETA %s  %s", p.ImagesPerSec, p.ETA.Round(1e9), p.Losses))
		_ = bar.Set(p.Step)
	}
}
