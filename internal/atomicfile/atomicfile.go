// Package atomicfile writes files through a temp file beside the target and
// a rename, so that a reader (or the next run after a kill) sees the old
// file or the new one, never half of one; and it removes the temp files
// that killed writers leave behind, which nothing else would.
//
// A temp file is named ".NAME.tmp-PID-RANDOM" next to NAME. Before a writer
// creates its own, it removes the temps in that directory whose writer
// process is no longer alive, and those of the same target older than
// StaleAge (which also covers a reused pid and temps of older versions that
// carry no pid).
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StaleAge is the age after which a temp file counts as abandoned whatever
// its pid says: no single file write takes that long.
const StaleAge = time.Hour

// TempPrefix is the name prefix of path's temp files (without directory).
func TempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// Create removes path's stale temp files (see RemoveStale), then creates a
// new temp file for path in its directory. The caller writes it, closes it
// and renames it over path (or removes it on failure); Write does all that.
func Create(path string) (*os.File, error) {
	RemoveStale(path)
	dir := filepath.Dir(path)
	return os.CreateTemp(dir, TempPrefix(path)+strconv.Itoa(os.Getpid())+"-*")
}

// RemoveStale removes, from path's directory, the temp files whose writer
// process is dead (whatever target they were for: a sample grid's name is
// never written twice, so its temp would otherwise stay) and the temps of
// path older than StaleAge. It returns the names it removed. Errors (an
// unreadable directory, a file removed meanwhile) are ignored: cleanup is
// best effort and must never stop a write.
func RemoveStale(path string) []string {
	dir := filepath.Dir(path)
	own := TempPrefix(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		i := strings.LastIndex(name, ".tmp-")
		if !strings.HasPrefix(name, ".") || i < 0 || !e.Type().IsRegular() {
			continue
		}
		if !stale(name[i+len(".tmp-"):], e, strings.HasPrefix(name, own)) {
			continue
		}
		if os.Remove(filepath.Join(dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

// stale reports whether a temp file (rest is its name after ".tmp-")
// belongs to no live writer. Age alone decides only for path's own temps:
// another program's ".x.tmp-..." files are left alone unless they carry a
// dead pid in this package's naming.
func stale(rest string, e fs.DirEntry, own bool) bool {
	if info, err := e.Info(); own && err == nil && time.Since(info.ModTime()) > StaleAge {
		return true
	}
	pidText, random, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if _, rerr := strconv.ParseUint(random, 10, 64); !ok || err != nil || rerr != nil || pid <= 0 {
		return false // not this package's naming
	}
	return pid != os.Getpid() && !alive(pid)
}

// Write writes path atomically: write fills a temp file beside path, which
// is given perm (or, when path exists, the permission bits of the file it
// replaces), synced, closed and renamed over path. On any error the old
// file is untouched and the temp file removed; the error names path.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	f, err := Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	SyncDir(filepath.Dir(path))
	return nil
}

// SyncDir makes a rename in dir durable. Some systems cannot sync a
// directory; the file itself is already safe, so that is not an error.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
