package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
)

// runConnect authorizes an oauth2 connection of the running host: it
// prints the page to open (authorization code) or the code to enter
// (device), and waits until the host has the token.
func runConnect(e *env, args []string) error {
	var wait time.Duration
	a, c, pos, err := adminCommand(e, "connect", args, func(fs *flag.FlagSet) {
		fs.DurationVar(&wait, "wait", 10*time.Minute, "how long to wait for the login to complete (0: do not wait)")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("hub connect: want one connection name")
	}
	name := pos[0]
	var start runs.ConnectStart
	raw, err := c.call(http.MethodPost, "/v1/connections/"+url.PathEscape(name)+"/connect", nil, struct{}{}, &start)
	if err != nil {
		return err
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	switch {
	case start.Connected:
		fmt.Fprintf(e.stdout, "Connection %s is connected (%s).\n", name, start.Grant)
		return nil
	case start.AuthURL != "":
		fmt.Fprintf(e.stdout, "Open this page to authorize %s:\n\n    %s\n\n", name, terminalText(start.AuthURL))
	case start.UserCode != "":
		// The provider chose both; the host checks them, and an older
		// host may not.
		fmt.Fprintf(e.stdout, "On any device, open %s and enter the code:\n\n    %s\n\n", terminalText(start.VerificationURI), terminalText(start.UserCode))
	}
	if wait <= 0 {
		return nil
	}
	fmt.Fprintln(e.stdout, "Waiting for the authorization to complete…")
	return awaitConnect(e, c, name, wait)
}

// awaitConnect polls the connection's state until the login just started
// ends. The host reports login_pending from the moment it answered the
// connect request until that login ends, so "ok" afterwards is the new
// login's token, not one the connection already had: re-connecting a
// connected connection must not report success before the person has
// approved. A host too old to report login_pending says needs_login or
// needs_reauth meanwhile, so those end the wait only once the login was
// seen pending.
func awaitConnect(e *env, c *adminClient, name string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	pause := 250 * time.Millisecond // short at first, for a login that is quick to approve
	seenPending := false
	unknown := "" // why the host cannot tell whether there is a token
	for {
		var list server.ConnectionList
		if _, err := c.call(http.MethodGet, "/v1/connections", nil, nil, &list); err != nil {
			return err
		}
		i := slices.IndexFunc(list.Connections, func(rc runs.Connection) bool { return rc.Name == name })
		if i < 0 {
			return errReported{fmt.Sprintf("connection %s is no longer applied on the host; check hub apply", name)}
		}
		rc := list.Connections[i]
		switch {
		case rc.State == "failing" && rc.LastError == "" && rc.Reason != "":
			// Not a failed call: the host cannot read the stored token
			// (or has no client for the connection). That is no token
			// to report; the login may still store one.
			unknown = reasonOf(rc)
			if seenPending {
				return errReported{fmt.Sprintf("the authorization of %s ended without a token the host can read: %s; run hub connect %s again", name, unknown, name)}
			}
		case rc.State == "ok":
			fmt.Fprintf(e.stdout, "Connection %s is connected.\n", name)
			return nil
		case rc.State == "failing":
			// The host has the token ("failing" is made of "ok"); it is
			// the connector's last call that failed, perhaps for want of
			// this very login.
			fmt.Fprintf(e.stdout, "Connection %s is connected, but its last call failed (%s); check it with hub connections test %s.\n", name, oneLineText(rc.LastError), name)
			return nil
		case rc.State == "login_pending":
			seenPending = true
		case rc.State == "login_failed":
			return errReported{fmt.Sprintf("the authorization of %s failed: %s; run hub connect %s again", name, reasonOf(rc), name)}
		default:
			if seenPending {
				return errReported{fmt.Sprintf("the authorization of %s ended without a token (state %s): %s; run hub connect %s again", name, rc.State, reasonOf(rc), name)}
			}
		}
		if !time.Now().Add(pause).Before(deadline) {
			if unknown != "" {
				return errReported{fmt.Sprintf("connection %s was not authorized within %s (the host said: %s); run hub connect %s again", name, wait, unknown, name)}
			}
			return errReported{fmt.Sprintf("connection %s was not authorized within %s; run hub connect %s again", name, wait, name)}
		}
		time.Sleep(pause)
		pause = min(2*pause, time.Second)
	}
}

// reasonOf is why a connection's login did not end connected, as the
// host says, on one line and without control characters; a host too old
// to say points at its log.
func reasonOf(rc runs.Connection) string {
	if rc.Reason != "" {
		return oneLineText(rc.Reason)
	}
	return "the host's log says why (hub logs)"
}
