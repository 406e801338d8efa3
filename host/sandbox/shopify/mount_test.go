package shopify

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Mounted below a prefix (as hub sandbox mounts it at /shopify), the
// next-page Link keeps the prefix, so a client following it lands back
// on the simulator.
func TestLink_KeepsTheMountPrefix(t *testing.T) {
	sim := New(Options{})
	mux := http.NewServeMux()
	mux.Handle("/shopify/", http.StripPrefix("/shopify", sim.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/shopify/admin/api/"+DefaultAPIVersion+"/orders.json?status=any&limit=1", nil)
	req.Header.Set("X-Shopify-Access-Token", DefaultAccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	link := resp.Header.Get("Link")
	if !strings.Contains(link, srv.URL+"/shopify/admin/api/") {
		t.Fatalf("Link %q lost the /shopify prefix", link)
	}
	next := link[strings.Index(link, "<")+1 : strings.Index(link, ">")]
	req2, _ := http.NewRequest("GET", next, nil)
	req2.Header.Set("X-Shopify-Access-Token", DefaultAccessToken)
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("following the Link: %s", resp2.Status)
	}
}
