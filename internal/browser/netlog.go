package browser

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
)

// NetRequest is one URL request of the browser's network stack, as its
// netlog (--log-net-log) records it. Unlike the DevTools protocol's request
// events, the netlog sees every request of the browser process too:
// component updates, sign-in checks, autofill lookups, preconnects.
type NetRequest struct {
	// Source is the netlog source id; the hops of a redirect share it.
	Source int
	// Method and URL of the request (one per hop of a redirect).
	Method, URL string
	// Initiator is the origin that started the request, or "" when the
	// browser did (the netlog writes "not an origin": a navigation typed in
	// the address bar or sent over DevTools, or a browser service).
	Initiator string
	// IsolationKey is the network isolation key (top frame site and frame
	// site), "null null" for browser services.
	IsolationKey string
	// Annotation is the Chromium network traffic annotation hash, which
	// names the feature that made the request.
	Annotation int
	// Upload is true when the request carried a body.
	Upload bool
	// Preconnect marks a connection opened ahead of a request (no URL
	// request of its own; Method is empty).
	Preconnect bool
}

// FromPage reports whether a page (a document or a worker of some origin)
// started the request, as opposed to the browser itself.
func (r NetRequest) FromPage() bool { return r.Initiator != "" }

// Origin is the scheme://host[:port] of the request's URL.
func (r NetRequest) Origin() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// NetLogFlags returns the command-line flags that make Chromium write its
// netlog to path (capture mode Default: URLs, methods and initiators, no
// cookies and no bytes, so a long session stays a few MB).
func NetLogFlags(path string) map[string]any {
	return map[string]any{"log-net-log": path, "net-log-capture-mode": "Default"}
}

// ReadNetLog reads the URL requests of a Chromium netlog file. A log cut
// short (a browser that was killed) is read up to its last whole event.
func ReadNetLog(path string) ([]NetRequest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reqs, err := ParseNetLog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reqs, nil
}

type netEvent struct {
	Source struct {
		ID   int `json:"id"`
		Type int `json:"type"`
	} `json:"source"`
	Type   int `json:"type"`
	Phase  int `json:"phase"`
	Params struct {
		URL          string `json:"url"`
		Method       string `json:"method"`
		Initiator    string `json:"initiator"`
		IsolationKey string `json:"network_isolation_key"`
		UploadID     string `json:"upload_id"`
		Annotation   int    `json:"traffic_annotation"`
		Preconnect   bool   `json:"is_preconnect"`
	} `json:"params"`
}

// ParseNetLog reads a netlog: one line of constants, then one event per
// line (the layout Chromium's file observer writes). Event and source types
// are numbers whose names the constants give.
func ParseNetLog(r io.Reader) ([]NetRequest, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	first = bytes.TrimSuffix(bytes.TrimSpace(first), []byte(","))
	if !bytes.HasPrefix(first, []byte(`{"constants":`)) {
		return nil, errors.New("not a netlog: the first line holds no constants")
	}
	var head struct {
		Constants struct {
			EventTypes  map[string]int `json:"logEventTypes"`
			SourceTypes map[string]int `json:"logSourceType"`
		} `json:"constants"`
	}
	if err := json.Unmarshal(append(first, '}'), &head); err != nil {
		return nil, fmt.Errorf("netlog constants: %w", err)
	}
	ev := head.Constants.EventTypes
	urlRequest, ok := head.Constants.SourceTypes["URL_REQUEST"]
	startJob, ok2 := ev["URL_REQUEST_START_JOB"]
	if !ok || !ok2 {
		return nil, errors.New("netlog constants name no URL_REQUEST source or URL_REQUEST_START_JOB event")
	}
	alive, uploadInit, streamJob := ev["REQUEST_ALIVE"], ev["UPLOAD_DATA_STREAM_INIT"], ev["HTTP_STREAM_JOB_CONTROLLER"]

	var reqs []NetRequest
	annotations := map[int]int{}
	uploads := map[int]bool{}
	var pending []byte // a line that did not parse: must be the last
	for lineNo := 2; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimSuffix(bytes.TrimSpace(line), []byte(","))
			if bytes.HasPrefix(line, []byte("{")) {
				if pending != nil {
					return nil, fmt.Errorf("netlog line %d: bad event %.80q", lineNo-1, pending)
				}
				var e netEvent
				if json.Unmarshal(line, &e) != nil {
					pending = line
					continue
				}
				p := e.Params
				switch {
				case e.Source.Type == urlRequest && e.Type == startJob && p.URL != "":
					in := p.Initiator
					if in == "not an origin" {
						in = ""
					}
					reqs = append(reqs, NetRequest{Source: e.Source.ID, Method: p.Method, URL: p.URL,
						Initiator: in, IsolationKey: p.IsolationKey, Upload: p.UploadID != ""})
				case e.Source.Type == urlRequest && e.Type == alive && p.Annotation != 0:
					annotations[e.Source.ID] = p.Annotation
				case e.Source.Type == urlRequest && e.Type == uploadInit:
					uploads[e.Source.ID] = true
				case e.Type == streamJob && p.Preconnect && p.URL != "":
					reqs = append(reqs, NetRequest{Source: e.Source.ID, URL: p.URL, Preconnect: true})
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	for i := range reqs {
		reqs[i].Annotation = annotations[reqs[i].Source]
		reqs[i].Upload = reqs[i].Upload || uploads[reqs[i].Source]
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Source < reqs[j].Source })
	return reqs, nil
}

// BrowserRequest is a kind of request Chromium sends on its own, in spite of
// DefaultFlags, that a privacy check lets through: it is not the page's
// (the browser initiates it, with no page origin) and carries no page data.
type BrowserRequest struct {
	Host, PathPrefix string
	// Why names the browser feature that sends it.
	Why string
}

// KnownBrowserRequests are the requests headless Chromium 156 still sent
// with DefaultFlags in a netlog of the page's whole test session (listed
// with their reasons in docs/RELIABILITY.md, Privacy). The host resolver
// rules of DefaultFlags keep them from leaving the machine: they end with
// ERR_NAME_NOT_RESOLVED.
var KnownBrowserRequests = []BrowserRequest{
	{"accounts.google.com", "/ListAccounts", "the account reconciler asks which Google accounts are signed in " +
		"(POST with an empty body, isolation key google.com; no switch or profile preference turned it off)"},
	{"update.googleapis.com", "/service/update2/json", "the component updater's on-demand check for the " +
		"Optimization Guide on-device model manifest at start-up (browser version and component ids; " +
		"--disable-component-update does not cover it)"},
}

// Audit checks a netlog's requests against a page served from origin
// (scheme://host:port): every request a page started must go to origin, use
// GET or HEAD and carry no body; every request the browser started must go
// to origin (navigations, service-worker update checks) or be one of known.
// It returns one line per violation, and the browser's own requests that
// known let through.
func Audit(reqs []NetRequest, origin string, known []BrowserRequest) (problems []string, browserOwn []NetRequest) {
	for _, r := range reqs {
		same := r.Origin() == origin || r.URL == origin
		switch {
		case r.Preconnect:
			if !same && !isKnown(r, known) {
				problems = append(problems, fmt.Sprintf("preconnect to %s", r.URL))
			}
		case r.FromPage():
			if !same {
				problems = append(problems, fmt.Sprintf("page request to another origin: %s %s (initiator %s)", r.Method, r.URL, r.Initiator))
			}
			if r.Upload || (r.Method != "GET" && r.Method != "HEAD") {
				problems = append(problems, fmt.Sprintf("page request with a body: %s %s (upload %v)", r.Method, r.URL, r.Upload))
			}
		case same:
			if r.Upload {
				problems = append(problems, fmt.Sprintf("browser request to the page's origin with a body: %s %s", r.Method, r.URL))
			}
		case isKnown(r, known):
			browserOwn = append(browserOwn, r)
		default:
			problems = append(problems, fmt.Sprintf("browser request not in the known list: %s %s (traffic annotation %d, isolation key %q): "+
				"silence it with a switch in DefaultFlags, or add it to KnownBrowserRequests and docs/RELIABILITY.md with the reason it is not the page's",
				r.Method, r.URL, r.Annotation, r.IsolationKey))
		}
	}
	return problems, browserOwn
}

func isKnown(r NetRequest, known []BrowserRequest) bool {
	u, err := url.Parse(r.URL)
	if err != nil {
		return false
	}
	for _, k := range known {
		if u.Hostname() == k.Host && (r.Preconnect || strings.HasPrefix(u.Path, k.PathPrefix)) {
			return true
		}
	}
	return false
}
