package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
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
		fmt.Fprintf(e.stdout, "Open this page to authorize %s:\n\n    %s\n\n", name, start.AuthURL)
	case start.UserCode != "":
		fmt.Fprintf(e.stdout, "On any device, open %s and enter the code:\n\n    %s\n\n", start.VerificationURI, start.UserCode)
	}
	if wait <= 0 {
		return nil
	}
	fmt.Fprintln(e.stdout, "Waiting for the authorization to complete…")
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var list server.ConnectionList
		if _, err := c.call(http.MethodGet, "/v1/connections", nil, nil, &list); err != nil {
			return err
		}
		for _, conn := range list.Connections {
			if conn.Name == name && conn.State == "ok" {
				fmt.Fprintf(e.stdout, "Connection %s is connected.\n", name)
				return nil
			}
		}
		time.Sleep(time.Second)
	}
	return errReported{fmt.Sprintf("connection %s was not authorized within %s; run hub connect %s again", name, wait, name)}
}
