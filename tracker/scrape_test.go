package tracker

import "testing"

func scrapeFile(ih string, c, i int) string {
	return `"` + ih + `":{"complete":` + itoa(c) + `,"incomplete":` + itoa(i) + `,"downloaded":` + itoa(c) + `}`
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestScrape(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	a, b := h.client(), h.client()
	a.send(announce("x", "a", `,"event":"completed"`))
	b.send(announce("x", "b", ""))
	b.send(announce("\u00ff", "b", ""))
	b.send(announce("9", "b", ""))
	a.out.take()
	b.out.take()
	tests := []struct {
		name  string
		frame string
		want  string
	}{
		{"one", `{"action":"scrape","info_hash":"x"}`, scrapeFile("x", 1, 1)},
		{"unknown", `{"action":"scrape","info_hash":"nope"}`, scrapeFile("nope", 0, 0)},
		{"all in creation order, index keys first", `{"action":"scrape"}`, scrapeFile("9", 0, 1) + "," + scrapeFile("x", 1, 1) + "," + scrapeFile("\u00ff", 0, 1)},
		{"list with duplicates, non-strings and unknowns", `{"action":"scrape","info_hash":["\u00ff",1,"x","nope",null,"\u00ff","\u0100"]}`,
			scrapeFile("\u00ff", 0, 1) + "," + scrapeFile("x", 1, 1) + "," + scrapeFile("nope", 0, 0) + "," + scrapeFile("\u0100", 0, 0)},
		{"empty list", `{"action":"scrape","info_hash":[]}`, ``},
		{"number", `{"action":"scrape","info_hash":5}`, ``},
		{"null", `{"action":"scrape","info_hash":null}`, ``},
		{"escaped id", `{"action":"scrape","info_hash":"\u0078"}`, scrapeFile("x", 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.client() // scrape needs no announce
			c.send(tt.frame)
			c.expect(`{"action":"scrape","files":{` + tt.want + `}}`)
		})
	}
	if h.metric("swarmcast_tracker_messages_out_total", "scrape") != float64(len(tests)) {
		t.Fatal("scrapes not counted")
	}
}
