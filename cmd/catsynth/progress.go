package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"catsynth/models"

	"github.com/schollz/progressbar/v3"
)

// progressBar is the progress display of every long command, on w
// (stderr, so that stdout stays clean for results): a redrawn bar (count,
// rate, time left) when w is a terminal, else a plain line every few
// seconds and at the end, so that logs stay readable.
type progressBar struct {
	bar  *progressbar.ProgressBar // terminal; nil for plain lines
	line *progressLine
	w    io.Writer
}

// plainEvery is how often a plain progress line is written.
var plainEvery = 5 * time.Second

func newProgressBar(w io.Writer, total int, what string) *progressBar {
	if !isTerminal(w) {
		return &progressBar{line: &progressLine{w: w, what: what, total: total, start: time.Now(), written: -1}, w: w}
	}
	return &progressBar{w: w, bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond))}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (b *progressBar) Set(n int) error {
	if b.bar != nil {
		return b.bar.Set(n)
	}
	b.line.set(n, false)
	return nil
}

func (b *progressBar) Add(n int) error { return b.Set(b.current() + n) }

func (b *progressBar) current() int {
	if b.bar != nil {
		return int(b.bar.State().CurrentNum)
	}
	return b.line.n
}

// Describe sets the text shown after the count (rates, losses).
func (b *progressBar) Describe(s string) {
	if b.bar != nil {
		b.bar.Describe(s)
		return
	}
	b.line.desc = s
}

// Finish completes the display.
func (b *progressBar) Finish() error {
	if b.bar != nil {
		return b.bar.Finish()
	}
	b.line.set(b.line.total, true)
	return nil
}

// Exit leaves the display where it stopped (an error, or Ctrl-C).
func (b *progressBar) Exit() error {
	if b.bar != nil {
		return b.bar.Exit()
	}
	b.line.set(b.line.n, true)
	return nil
}

// progressLine writes "what: n/total (pct), elapsed, ETA, desc" lines.
type progressLine struct {
	w           io.Writer
	what, desc  string
	total, n    int
	start, last time.Time
	written     int // n of the last line written (-1: none)
}

func (l *progressLine) set(n int, final bool) {
	l.n = n
	now := time.Now()
	if !final && now.Sub(l.last) < plainEvery || final && n == l.written {
		return
	}
	l.last, l.written = now, n
	el := now.Sub(l.start)
	msg := fmt.Sprintf("%s: %d/%d", l.what, n, l.total)
	if l.total > 0 {
		msg += fmt.Sprintf(" (%d%%)", 100*n/l.total)
	}
	msg += ", " + el.Round(time.Second).String()
	if n > 0 && n < l.total {
		eta := time.Duration(float64(el) / float64(n) * float64(l.total-n))
		msg += ", ETA " + eta.Round(time.Second).String()
	}
	if l.desc != "" {
		msg += ", " + l.desc
	}
	fmt.Fprintln(l.w, msg)
}

// finishBar fills the bar when the work completed, and leaves it where it
// stopped when it ended early (an error, or Ctrl-C).
func finishBar(bar *progressBar, err error) {
	if err != nil {
		_ = bar.Exit()
	} else {
		_ = bar.Finish()
	}
	if bar.bar != nil {
		_, _ = io.WriteString(bar.w, "\n") // end the redrawn line
	}
}

// countProgress adapts a (done, total) callback to a bar created on first
// use; small jobs (under minTotal items) show none.
func countProgress(w io.Writer, what string, minTotal int) func(done, total int) {
	var bar *progressBar
	return func(done, total int) {
		if total < minTotal {
			return
		}
		if bar == nil {
			bar = newProgressBar(w, total, what)
		}
		_ = bar.Set(done)
		if done == total {
			finishBar(bar, nil)
		}
	}
}

// loopProgress shows a training loop's speed, ETA and losses on bar.
func loopProgress(bar *progressBar) func(models.StepProgress) {
	return func(p models.StepProgress) {
		bar.Describe(fmt.Sprintf("%.2f img/s  %s", p.ImagesPerSec, p.Losses))
		_ = bar.Set(p.Step)
	}
}
